"""What the waiting room takes in and gives back: plain frozen values.

A ``CaseRequest`` comes in; ``Queued``, ``Planned``, ``Lease``, ``Position``,
``WaitingCase`` and ``ReapReport`` go out; ``CaseRecord`` is a case's hash in
Redis as read. No I/O here: ``CaseRecord.from_hash`` and ``lease_from_reply``
only read values a script returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import astuple, dataclass, field
from typing import Any

import msgpack

from .model import Skill
from .routing import RouteReason
from .urgency import Urgency


@dataclass(frozen=True)
class CaseRequest:
    """A triaged case asking for a place in the waiting room.

    Args:
        ref: a ULID chosen by the caller and kept across retries; the case id
            is ``<region>.<ref>``.
        new_problem: a new or much worsened problem, owed a medical assessment
            within three days (vårdgaranti).
        meta: what consoles show in the queue (contact reason, age); never a
            personal identity number or free text.
    """

    ref: str
    home_unit: str
    skill: Skill
    urgency: Urgency
    submitted_ms: int
    new_problem: bool = True
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Queued:
    case_id: str
    unit: str
    skill: Skill
    deadline_ms: int
    created: bool
    reason: RouteReason | None = None


@dataclass(frozen=True)
class Planned:
    case_id: str
    unit: str
    reason: RouteReason | None


@dataclass(frozen=True)
class Lease:
    case_id: str
    token: int
    lease_until_ms: int
    deadline_ms: int
    unit: str
    skill: Skill


@dataclass(frozen=True)
class Position:
    """Where a case stands. ``served`` (claims from its queue in the service-rate
    window) and ``opens_ms`` (when its unit is next open: the reading instant
    when open now; None when not within the planning horizon) are what the
    estimate was made from; the waiting room shows them too (``waitinfo``)."""

    state: str
    position: int
    depth: int
    deadline_ms: int
    estimated_wait_ms: int | None
    unit: str = ""
    skill: str = ""
    served: int = 0
    opens_ms: int | None = None
    open: bool = True


@dataclass(frozen=True)
class WaitingCase:
    case_id: str
    unit: str
    skill: Skill
    deadline_ms: int
    urgency: Urgency
    submitted_ms: int
    meta: Mapping[str, Any]


@dataclass(frozen=True)
class QueueCensus:
    """One queue's waiting cases: its size, and per urgency the count and the oldest submission (0: none).

    The per-urgency figures cover the queue's first ``Readings.CENSUS_LIMIT``
    cases by deadline; ``size`` is exact.
    """

    size: int
    waiting: Mapping[Urgency, int]
    oldest_submitted_ms: Mapping[Urgency, int]


@dataclass(frozen=True)
class ReapReport:
    expired: int = 0
    sameday_breaches: int = 0
    assessment_breaches: int = 0
    moves_finished: int = 0

    def __add__(self, other: ReapReport) -> ReapReport:
        return ReapReport(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


@dataclass(frozen=True)
class CaseRecord:
    case_id: str
    region: str
    unit: str
    skill: Skill
    urgency: Urgency
    state: str
    submitted_ms: int
    deadline_ms: int
    sameday_deadline_ms: int
    assessment_deadline_ms: int
    holder: str
    token: int
    lease_until_ms: int
    first_contact_ms: int | None
    closed_ms: int | None
    outcome: str
    claims: int
    sameday_breached: bool
    assessment_breached: bool
    moved_to: str
    meta: Mapping[str, Any]

    @classmethod
    def from_hash(cls, raw: Mapping[bytes, bytes]) -> CaseRecord:
        text = {k.decode(): v for k, v in raw.items()}

        def s(name: str) -> str:
            return text[name].decode() if name in text else ""

        def n(name: str) -> int:
            return int(text.get(name) or 0)

        return cls(
            case_id=s("id"), region=s("region"), unit=s("unit"), skill=Skill(s("skill")),
            urgency=Urgency(n("urgency")), state=s("state"), submitted_ms=n("submitted"),
            deadline_ms=n("deadline"), sameday_deadline_ms=n("sameday_deadline"),
            assessment_deadline_ms=n("assess_deadline"), holder=s("holder"), token=n("token"),
            lease_until_ms=n("lease_until"), first_contact_ms=n("first_contact") or None,
            closed_ms=n("closed_at") or None, outcome=s("outcome"), claims=n("claims"),
            sameday_breached="sameday_breached" in text, assessment_breached="assess_breached" in text,
            moved_to=s("moved_to"), meta=msgpack.unpackb(text["meta"]) if text.get("meta") else {},
        )  # fmt: skip


def lease_from_reply(reply: list[Any]) -> Lease:
    """The lease a claim script returned: (case id, token, lease until, deadline, unit, skill)."""
    case_id, token, lease_until, deadline, unit, skill = reply
    return Lease(case_id.decode(), int(token), int(lease_until), int(deadline), unit.decode(), Skill(skill.decode()))
