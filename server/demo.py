"""Demo cases for `make run`, read from ``data/cases.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from direkt.queue.model import Skill
from direkt.queue.urgency import MINUTE_MS, Urgency
from direkt.queue.waitroom import CaseRequest, Waitroom

DEMO_CASES = Path(__file__).parent / "data" / "cases.toml"


class DemoCase(msgspec.Struct, forbid_unknown_fields=True):
    ref: str
    home_unit: str
    skill: Skill
    urgency: str
    minutes_ago: int
    meta: dict[str, Any]
    new_problem: bool = True


class DemoFile(msgspec.Struct, forbid_unknown_fields=True):
    cases: list[DemoCase]


def demo_requests(now_ms: int, path: Path = DEMO_CASES) -> list[CaseRequest]:
    spec = msgspec.toml.decode(path.read_bytes(), type=DemoFile)
    return [
        CaseRequest(
            ref=c.ref, home_unit=c.home_unit, skill=c.skill, urgency=Urgency.parse(c.urgency),
            submitted_ms=now_ms - c.minutes_ago * MINUTE_MS, new_problem=c.new_problem, meta=c.meta,
        )
        for c in spec.cases
    ]  # fmt: skip


async def seed_demo_cases(waitroom: Waitroom) -> int:
    """Submit the demo cases when the waiting room is empty; returns how many."""
    if any((await waitroom.depths()).values()):
        return 0
    requests = demo_requests(waitroom.clock())
    for request in requests:
        await waitroom.submit(request)
    return len(requests)
