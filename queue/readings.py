"""Reading the waiting room: positions and wait estimates, queue contents, counters, live events.

Nothing here changes a case. Estimates come from the pure core
(``estimate``, ``hours``) with the reading instant passed in.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any

import msgpack

from direkt.server.errors import UnknownCase

from .estimate import ServiceRate, estimate_wait_ms
from .hours import next_open_ms
from .keys import RegionKeys, events_channel
from .lookup import WaitroomLookup
from .model import Skill, Staff
from .records import CaseRecord, Position, QueueCensus, WaitingCase
from .scripts import redis_errors
from .urgency import Urgency

_URGENCY = {int(u): u for u in Urgency}  # by value without Enum's lookup machinery (500 rows per console snapshot)
CENSUS_LIMIT = 2000  # cases read per queue by a census (/metrics): a bounded cost however long a queue gets
POSITIONS_CHUNK = 250  # cases per positions call: a few ms of Redis time, so other clients are not held up


class Readings(WaitroomLookup):
    """``position(s)``, ``waiting``, ``held_by``, ``stats``, ``depths``, ``census`` and ``events``."""

    async def position(self, case_id: str) -> Position:
        """Place in queue and estimated wait of a case."""
        now = self.clock()
        reply = await self._on_case("position", case_id, self.window_ms)
        return self._position(reply[:7], now, {})

    async def positions(self, case_ids: Iterable[str]) -> dict[str, Position]:
        """Positions of many cases at once: one script call per region and ``POSITIONS_CHUNK`` cases.

        Cases that moved region are followed one by one; unknown cases are left out.
        """
        now = self.clock()
        by_region: dict[str, list[str]] = {}
        for given in case_ids:
            case_id = self._case_id(given)
            by_region.setdefault(self._region_of(case_id), []).append(case_id)
        found: dict[str, Position] = {}
        opens: dict[str, int | None] = {}  # unit -> next opening, once per call
        for region, ids in by_region.items():
            keys = RegionKeys(region)
            for start in range(0, len(ids), POSITIONS_CHUNK):
                chunk = ids[start : start + POSITIONS_CHUNK]
                replies = await self.scripts.call("positions", keys, keys.case(chunk[0]), now, self.window_ms, *chunk)
                for case_id, reply in zip(chunk, replies, strict=True):
                    if reply[0] == b"moved":
                        self._remember_move(case_id, reply[1].decode())
                        with contextlib.suppress(UnknownCase):
                            found[case_id] = await self.position(case_id)
                    elif reply[0] != b"unknown":
                        found[case_id] = self._position(reply, now, opens)
        return found

    def _position(self, reply: list[Any], now: int, opens: dict[str, int | None]) -> Position:
        state, place, depth, served, deadline, unit_id, skill = reply
        state, unit_id = state.decode(), unit_id.decode()
        estimate, opens_ms = None, None
        if state == "waiting":
            if unit_id not in opens:
                unit = self.directory.units.get(unit_id)
                opens[unit_id] = next_open_ms(unit.hours, self.directory.calendar, now) if unit else None
            opens_ms = opens[unit_id]
            estimate = estimate_wait_ms(place, ServiceRate(served, self.window_ms), now, opens_ms)
        return Position(
            state,
            int(place),
            int(depth),
            int(deadline),
            estimate,
            unit_id,
            skill.decode(),
            int(served),
            opens_ms,
            opens_ms is not None and opens_ms <= now,
        )

    async def waiting(self, unit_id: str, skill: Skill, limit: int = 500) -> list[WaitingCase]:
        """The waiting cases of one queue, earliest deadline first (one script call)."""
        unit = self._queue(unit_id, skill)
        keys = RegionKeys(unit.region)
        queue = keys.queue(unit.id, skill)
        flat = await self.scripts.call("waiting", keys, queue, self.clock(), unit.id, skill.value, limit)
        return [
            WaitingCase(
                flat[i].decode(), unit.id, skill, int(flat[i + 1]), _URGENCY[int(flat[i + 2] or 5)],
                int(flat[i + 3] or 0), msgpack.unpackb(flat[i + 4]) if flat[i + 4] else {},
            )
            for i in range(0, len(flat), 5)
        ]  # fmt: skip

    async def held_by(self, staff: Staff) -> list[CaseRecord]:
        """The cases a staff member holds now (to resume heartbeats after a reconnect)."""
        records = []
        for region in self._queues_by_region(staff):
            with redis_errors():
                members: Any = await self.client.smembers(RegionKeys(region).held(staff.id))
            for member in sorted(members):
                try:
                    record = await self.get(member.decode())
                except UnknownCase:
                    continue
                if record.state == "claimed" and record.holder == staff.id:
                    records.append(record)
        return records

    async def stats(self, region: str) -> dict[str, int]:
        """Counters of a region: enqueued, claimed, breaches, …"""
        with redis_errors():
            raw: Any = await self.client.hgetall(RegionKeys(region).stats)
        return {k.decode(): int(v) for k, v in raw.items()}

    async def depths(self) -> dict[tuple[str, Skill], int]:
        """Number of waiting cases per (unit, skill) queue."""
        queues = [(u, s) for u in self.directory.units.values() for s in sorted(u.skills)]
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for unit, skill in queues:
                pipe.zcard(RegionKeys(unit.region).queue(unit.id, skill))
            counts = await pipe.execute()
        return {(u.id, s): int(n) for (u, s), n in zip(queues, counts, strict=True)}

    async def census(self, limit: int = CENSUS_LIMIT) -> dict[tuple[str, Skill], QueueCensus]:
        """Every queue's waiting cases by urgency (one read-only script call per region; ``census.lua``).

        Args:
            limit: cases read per queue, earliest deadline first; ``size`` counts them all.
        """
        now, found = self.clock(), {}
        by_region: dict[str, list[tuple[str, Skill]]] = {}
        for unit in self.directory.units.values():
            by_region.setdefault(unit.region, []).extend((unit.id, s) for s in sorted(unit.skills))
        for region, queues in sorted(by_region.items()):
            keys = RegionKeys(region)
            names = [f"{unit}:{skill.value}" for unit, skill in queues]
            with redis_errors():
                flat = await self.scripts.call("census", keys, keys.stats, now, limit, *names)
            for i, queue in enumerate(queues):
                row = [int(n) for n in flat[11 * i : 11 * (i + 1)]]
                waiting = {u: row[2 * u - 1] for u in Urgency}
                oldest = {u: row[2 * u] for u in Urgency}
                found[queue] = QueueCensus(row[0], waiting, oldest)
        return found

    async def events(self, regions: Iterable[str] | None = None) -> AsyncIterator[dict[str, Any]]:
        """Live queue events (msgpack maps with ``t``, ``case``, ``seq``, …)."""
        channels = [events_channel(r) for r in (regions or self.directory.regions)]
        pubsub: Any = self.client.pubsub()  # its type hints differ between redis-py releases
        try:
            with redis_errors():
                await pubsub.subscribe(*channels)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        event = msgpack.unpackb(message["data"])
                        event["region"] = message["channel"].decode().rsplit(":", 1)[1]
                        yield event
        finally:
            await pubsub.aclose()
