"""What every waiting-room operation looks up first, and the state they share.

``WaitroomLookup`` holds the Redis client, the care directory and the clock,
and finds things: a unit or queue in the directory (an unknown one is
``UnknownQueue``), a case's region (case ids carry their home region; cases
that moved region are followed and remembered), and a case's record. The
operations themselves (``admission``, ``leases``, ``moves``, ``readings``)
build on it and are put together in ``waitroom.Waitroom``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from direkt.server.errors import UnknownCase, UnknownQueue

from .estimate import SERVICE_WINDOW_MS
from .keys import CASE_ID_PATTERN, RegionKeys, case_region
from .model import Directory, Skill, Staff, Unit
from .records import CaseRecord
from .scripts import Moved, RedisClient, Scripts, redis_errors

Clock = Callable[[], int]
DEFAULT_LEASE_MS = 60_000
REMEMBERED_MOVES = 10_000  # cases whose new region this process remembers (oldest forgotten first)
_MAX_HOPS = 4


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class WaitroomLookup:
    """Shared state of the waiting-room operations and the lookups they start with."""

    def __init__(
        self,
        client: RedisClient,
        directory: Directory,
        *,
        clock: Clock = wall_clock_ms,
        lease_ms: int = DEFAULT_LEASE_MS,
        window_ms: int = SERVICE_WINDOW_MS,
    ) -> None:
        self.client = client
        self.directory = directory
        self.clock = clock
        self.lease_ms = lease_ms
        self.window_ms = window_ms
        self.scripts = Scripts(client)
        self._moved: OrderedDict[str, str] = OrderedDict()

    async def get(self, case_id: str) -> CaseRecord:
        """The queue record of a case, following moves between regions."""
        case_id = self._case_id(case_id)
        region = self._region_of(case_id)
        in_transit: CaseRecord | None = None
        for _ in range(_MAX_HOPS):
            raw = await self._hgetall(RegionKeys(region).case(case_id))
            if not raw:
                break
            record = CaseRecord.from_hash(raw)
            if record.state not in ("moved", "moving"):
                return record
            if record.state == "moving":  # not adopted yet? then this is the truth for now
                in_transit = record
            region = self._remember_move(case_id, record.moved_to)
        if in_transit is not None:
            return in_transit
        raise UnknownCase(f"no case {case_id}")

    async def _on_case(self, name: str, case_id: str, *args: Any) -> Any:
        """Run a per-case script in the case's current region, following moves."""
        case_id = self._case_id(case_id)
        region = self._region_of(case_id)
        for _ in range(_MAX_HOPS):
            keys = RegionKeys(region)
            try:
                return await self.scripts.call(name, keys, keys.case(case_id), self.clock(), case_id, *args)
            except Moved as moved:
                region = self._remember_move(case_id, moved.region)
        raise UnknownCase(f"case {case_id} moved too many times to follow")

    async def _hgetall(self, key: str) -> dict[bytes, bytes]:
        with redis_errors():
            raw: Any = await self.client.hgetall(key)
        return dict(raw)

    def _queues_by_region(self, staff: Staff) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for unit, skill in self.directory.queues_of(staff):
            groups.setdefault(unit.region, []).append(f"{unit.id}:{skill}")
        if not groups:
            raise UnknownQueue(f"staff member {staff.id} serves no queue")
        return groups

    def _unit(self, unit_id: str) -> Unit:
        unit = self.directory.units.get(unit_id)
        if unit is None:
            raise UnknownQueue(f"no unit {unit_id!r}")
        return unit

    def _queue(self, unit_id: str, skill: Skill | str) -> Unit:
        unit = self._unit(unit_id)
        if skill not in unit.skills:
            raise UnknownQueue(f"unit {unit_id} has no {skill!s} queue")
        return unit

    def _case_id(self, case_id: str) -> str:
        if not isinstance(case_id, str) or not CASE_ID_PATTERN.fullmatch(case_id):
            raise UnknownCase(f"{case_id!r} is not a case id")
        return case_id

    def _region_of(self, case_id: str) -> str:
        return self._moved.get(case_id) or case_region(case_id)

    def _remember_move(self, case_id: str, region: str) -> str:
        self._moved[case_id] = region
        self._moved.move_to_end(case_id)
        while len(self._moved) > REMEMBERED_MOVES:
            self._moved.popitem(last=False)
        return region
