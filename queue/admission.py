"""Entering the waiting room: route a triaged case to a queue, then enqueue it.

Routing (the pure ``routing.route``) happens at the submission instant, from
the queue waits read here; the decision is remembered under the request's
ref so a retry lands in the same queue under the same case id. Deadlines come
from the pure core (``urgency``, ``guarantees``); the enqueue is one script.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import msgpack

from direkt.server.errors import UnknownQueue

from .estimate import ServiceRate, queue_wait_ms
from .guarantees import assessment_deadline_ms, same_day_deadline_ms
from .keys import RegionKeys, case_region
from .lookup import WaitroomLookup
from .model import Skill, Unit
from .records import CaseRequest, Planned, Queued
from .routing import NoRoute, RouteRequest, reachable_units, route
from .scripts import redis_errors
from .urgency import Urgency, deadline_ms

ROUTE_MEMORY_MS = 24 * 3600_000
PROFILE_CODE = re.compile(r"^[a-z0-9_.:-]{1,64}$")


def log_profile(meta: Mapping[str, Any]) -> tuple[str, str, str]:
    """The entry, contact reason and care level the event log groups a case by: short codes
    from ``meta`` (``entry``, ``reason``, ``care``), '' for anything else (never free text)."""
    values = (meta.get("entry"), meta.get("reason"), meta.get("care"))
    return tuple(v if isinstance(v, str) and PROFILE_CODE.fullmatch(v) else "" for v in values)  # type: ignore[return-value]


class Admission(WaitroomLookup):
    """``submit``, ``plan`` and ``enqueue``: how a case gets a place in a queue."""

    async def submit(self, request: CaseRequest) -> Queued:
        """Route a triaged case to a queue and enqueue it (``plan`` then ``enqueue``).

        Raises:
            UnknownQueue: unknown home unit, or no unit serves the skill.
        """
        planned = await self.plan(request)
        queued = await self.enqueue(
            planned.case_id,
            planned.unit,
            request.skill,
            request.urgency,
            request.submitted_ms,
            new_problem=request.new_problem,
            meta=request.meta,
        )
        return replace(queued, reason=planned.reason)

    async def plan(self, request: CaseRequest) -> Planned:
        """Choose the queue of a submission and fix its case id, without enqueueing.

        Routing happens at the submission instant. The decision is remembered
        under the request's ref in the home region, so a retry lands in the
        same queue under the same case id even if queue waits changed since.
        Callers that must write something under the case id before the case
        can be claimed (the hub's case file) plan first, then enqueue.

        Raises:
            UnknownQueue: unknown home unit, or no unit serves the skill.
        """
        home = self._unit(request.home_unit)
        waits = await self._waits(reachable_units(home, self.directory), request.skill)
        try:
            chosen = route(
                RouteRequest(home.id, request.skill, request.urgency, request.submitted_ms),
                self.directory,
                request.submitted_ms,
                waits,
            )
        except NoRoute as exc:
            raise UnknownQueue(str(exc)) from None
        case_id, unit_id = await self._remember_route(
            home.region, request.ref, f"{chosen.unit.region}.{request.ref}", chosen.unit.id
        )
        return Planned(case_id, unit_id, chosen.reason)

    async def _remember_route(self, region: str, ref: str, case_id: str, unit_id: str) -> tuple[str, str]:
        """The first routing decision for ``ref`` wins; returns (case id, unit)."""
        key = RegionKeys(region).route(ref)
        with redis_errors():
            if await self.client.set(key, f"{case_id}|{unit_id}", nx=True, px=ROUTE_MEMORY_MS):
                return case_id, unit_id
            stored: Any = await self.client.get(key)
        remembered_case, _, remembered_unit = stored.decode().partition("|")
        return remembered_case, remembered_unit

    async def enqueue(
        self,
        case_id: str,
        unit_id: str,
        skill: Skill,
        urgency: Urgency,
        submitted_ms: int,
        *,
        new_problem: bool = True,
        meta: Mapping[str, Any] | None = None,
    ) -> Queued:
        """Put a case in a given (unit, skill) queue. Idempotent by case id."""
        unit = self._queue(unit_id, skill)
        if case_region(self._case_id(case_id)) != unit.region:
            raise UnknownQueue(f"case {case_id} belongs to another region than {unit_id}")
        deadline = deadline_ms(submitted_ms, urgency)
        sameday = same_day_deadline_ms(unit.hours, self.directory.calendar, submitted_ms)
        assess = assessment_deadline_ms(submitted_ms) if new_problem else 0
        keys = RegionKeys(unit.region)
        reply = await self.scripts.call(
            "enqueue", keys, keys.case(case_id), self.clock(),
            case_id, unit.region, unit.id, skill.value, int(urgency), submitted_ms,
            deadline, sameday, assess, msgpack.packb(dict(meta or {})), *log_profile(meta or {}),
        )  # fmt: skip
        created = reply[0] == 1
        return Queued(case_id, unit.id, skill, int(reply[-1]), created)

    async def _waits(self, units: list[Unit], skill: Skill) -> dict[tuple[str, Skill], int]:
        """The expected wait of each unit's queue for ``skill``, from its depth and service rate."""
        serving = [u for u in units if skill in u.skills]
        since = self.clock() - self.window_ms
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for unit in serving:
                keys = RegionKeys(unit.region)
                pipe.zcard(keys.queue(unit.id, skill))
                pipe.zcount(keys.served(unit.id, skill), since, "+inf")
            replies = await pipe.execute()
        return {
            (unit.id, skill): queue_wait_ms(int(replies[2 * i]), ServiceRate(int(replies[2 * i + 1]), self.window_ms))
            for i, unit in enumerate(serving)
        }
