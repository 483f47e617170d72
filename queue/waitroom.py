"""The digital waiting room on Redis: the thin I/O shell around the pure core.

Every state change is one Lua script (``scripts.py``); this module validates
input against the care directory, computes deadlines with the pure core,
follows cases that moved region, and turns replies into values.

Retry safety (what a caller may repeat after a lost reply): ``submit`` and
``enqueue`` (by case id), ``claim_next`` (by request id), ``claim``,
``heartbeat``, ``record_contact``, ``close`` and ``abandon``.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import astuple, dataclass, field, replace
from typing import Any

import msgpack

from direkt.server.errors import AtCapacity, DirektError, UnknownCase, UnknownQueue

from .estimate import SERVICE_WINDOW_MS, ServiceRate, estimate_wait_ms, queue_wait_ms
from .guarantees import assessment_deadline_ms, same_day_deadline_ms
from .hours import next_open_ms
from .keys import CASE_ID_PATTERN, RegionKeys, case_region, events_channel
from .model import Directory, Skill, Staff, Unit
from .routing import NoRoute, RouteReason, RouteRequest, reachable_units, route
from .scripts import Moved, RedisClient, Scripts, redis_errors
from .urgency import Urgency, deadline_ms

Clock = Callable[[], int]
DEFAULT_LEASE_MS = 60_000
CLAIM_REPLY_TTL_MS = 120_000
OUTBOX_REDRIVE_MS = 10_000
ROUTE_MEMORY_MS = 24 * 3600_000
REAP_BATCH = 500
_URGENCY = {int(u): u for u in Urgency}  # by value without Enum's lookup machinery (500 rows per console snapshot)
POSITIONS_CHUNK = 250  # cases per positions call: a few ms of Redis time, so other clients are not held up
_MAX_HOPS = 4


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


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
class ReapReport:
    expired: int = 0
    sameday_breaches: int = 0
    assessment_breaches: int = 0
    moves_finished: int = 0

    def __add__(self, other: ReapReport) -> ReapReport:
        return ReapReport(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


class Waitroom:
    """Waiting-room operations for every region of a directory."""

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

    # -- entering the waiting room -------------------------------------------------

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
            deadline, sameday, assess, msgpack.packb(dict(meta or {})),
        )  # fmt: skip
        created = reply[0] == 1
        return Queued(case_id, unit.id, skill, int(reply[-1]), created)

    # -- staff taking cases ----------------------------------------------------------

    async def claim_next(self, staff: Staff, request_id: str = "") -> Lease | None:
        """Lease the most urgent case (earliest deadline) this staff member serves.

        Args:
            staff: the claimer; queues are the (unit, skill) pairs they serve.
            request_id: repeat it on retry to get the same lease back.

        Returns:
            The lease, or None when every queue is empty.

        Raises:
            AtCapacity: the staff member holds ``max_chats`` cases already.
        """
        groups = self._queues_by_region(staff)
        if len(groups) == 1:
            ((region, queues),) = groups.items()
            return await self._claim_next_in(region, staff, queues, staff.max_chats, request_id)
        if request_id and (earlier := await self._earlier_reply(groups, request_id)) is not None:
            return earlier
        held = await self._held_counts(staff, groups)
        if sum(held.values()) >= staff.max_chats:
            raise AtCapacity(f"{staff.id} already holds as many chats as allowed")
        for region in await self._regions_by_head(groups):
            cap = staff.max_chats - sum(n for r, n in held.items() if r != region)
            request = f"{request_id}@{region}" if request_id else ""
            lease = await self._claim_next_in(region, staff, groups[region], cap, request)
            if lease is not None:
                return lease
        return None

    async def claim(self, case_id: str, staff: Staff) -> Lease:
        """Lease one specific waiting case from a queue the staff member serves."""
        allowed = [f"{u.id}:{s}" for u, s in self.directory.queues_of(staff)]
        groups = self._queues_by_region(staff)
        cap = staff.max_chats
        if len(groups) > 1:  # the script counts this region's cases; subtract the others'
            held = await self._held_counts(staff, groups)
            cap -= sum(n for region, n in held.items() if region != self._region_of(case_id))
        reply = await self._on_case("claim", case_id, staff.id, self.lease_ms, cap, self.window_ms, *allowed)
        return _lease(reply)

    async def heartbeat(self, case_id: str, staff_id: str, token: int) -> int:
        """Extend a lease; returns the new expiry (epoch ms)."""
        return int(await self._on_case("heartbeat", case_id, staff_id, token, self.lease_ms))

    async def release(self, case_id: str, staff_id: str, token: int) -> None:
        """Return a held case to its queue at its original deadline."""
        await self._on_case("release", case_id, staff_id, token)

    async def record_contact(self, case_id: str, staff_id: str, token: int) -> int:
        """Record first contact (settles the same-day guarantee); returns its time."""
        return int(await self._on_case("record_contact", case_id, staff_id, token))

    async def close(self, case_id: str, staff_id: str, token: int, outcome: str, *, assessed: bool) -> bool:
        """Close a held case; True when closed now, False when already closed by this holder."""
        return bool(await self._on_case("close", case_id, staff_id, token, outcome, int(assessed)))

    async def abandon(self, case_id: str) -> bool:
        """The citizen leaves; True when abandoned now, False when already."""
        return bool(await self._on_case("abandon", case_id))

    # -- moving cases ------------------------------------------------------------------

    async def transfer(
        self,
        case_id: str,
        staff_id: str,
        token: int,
        unit_id: str,
        skill: Skill,
        urgency: Urgency | None = None,
    ) -> Queued:
        """Move a held case to another unit or skill; it waits there.

        The deadline is kept unless ``urgency`` is given (re-triage), in which
        case it is recomputed from the original submission time.
        """
        target = self._queue(unit_id, skill)
        record = await self.get(case_id)
        new_urgency = urgency or record.urgency
        deadline = deadline_ms(record.submitted_ms, urgency) if urgency else record.deadline_ms
        if target.region == record.region:
            await self._on_case(
                "transfer", record.case_id, staff_id, token, target.id, skill.value, int(new_urgency), deadline
            )
        else:
            packed = await self._on_case(
                "transfer_out", record.case_id, staff_id, token, target.region,
                target.id, skill.value, int(new_urgency), deadline,
            )  # fmt: skip
            await self._finish_move(record.case_id, record.region, target.region, packed)
        return Queued(record.case_id, target.id, skill, deadline, created=False)

    async def reprioritise(self, case_id: str, urgency: Urgency, staff_id: str = "", token: int = 0) -> int:
        """Re-triage: new urgency, deadline recomputed from submission. Returns it."""
        record = await self.get(case_id)
        deadline = deadline_ms(record.submitted_ms, urgency)
        await self._on_case("reprioritise", case_id, int(urgency), deadline, staff_id, token)
        return deadline

    # -- reading ---------------------------------------------------------------------

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

    # -- housekeeping ----------------------------------------------------------------

    async def load_scripts(self) -> None:
        await self.scripts.load()

    async def reap(self) -> ReapReport:
        """Return expired leases, count guarantee breaches, finish stuck moves.

        Safe to run from every server process at once: each step is atomic.
        A region that fails does not stop the others; the first failure is
        raised after all regions were tried.
        """
        total, failure = ReapReport(), None
        for region in self.directory.regions:
            try:
                total = total + await self._reap_region(region, self.clock())
            except DirektError as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return total

    async def _reap_region(self, region: str, now: int) -> ReapReport:
        keys = RegionKeys(region)
        expired = int(await self.scripts.call("reap", keys, keys.leases, now, REAP_BATCH))
        sameday, assess = await self.scripts.call("sweep", keys, keys.sameday, now, REAP_BATCH)
        return ReapReport(expired, int(sameday), int(assess), await self._redrive_moves(region, now))

    # -- internals ---------------------------------------------------------------------

    async def _claim_next_in(
        self, region: str, staff: Staff, queues: list[str], cap: int, request_id: str
    ) -> Lease | None:
        keys = RegionKeys(region)
        reply = await self.scripts.call(
            "claim_next", keys, keys.leases, self.clock(),
            staff.id, self.lease_ms, cap, request_id, self.window_ms, CLAIM_REPLY_TTL_MS, *queues,
        )  # fmt: skip
        return _lease(reply) if reply else None

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

    async def _finish_move(self, case_id: str, source: str, target: str, packed: bytes) -> None:
        target_keys = RegionKeys(target)
        await self.scripts.call("adopt", target_keys, target_keys.case(case_id), self.clock(), case_id, packed)
        source_keys = RegionKeys(source)
        await self.scripts.call("transfer_done", source_keys, source_keys.case(case_id), self.clock(), case_id)
        self._remember_move(case_id, target)

    async def _redrive_moves(self, region: str, now: int) -> int:
        keys = RegionKeys(region)
        with redis_errors():
            stuck: Any = await self.client.zrangebyscore(keys.outbox, "-inf", now - OUTBOX_REDRIVE_MS, start=0, num=100)
        for member in stuck:
            case_id = member.decode()
            raw = await self._hgetall(keys.case(case_id))
            if raw.get(b"state") == b"moving":
                await self._finish_move(case_id, region, raw[b"moved_to"].decode(), raw[b"move_record"])
            else:  # finished by someone else meanwhile
                with redis_errors():
                    await self.client.zrem(keys.outbox, case_id)
        return len(stuck)

    async def _hgetall(self, key: str) -> dict[bytes, bytes]:
        with redis_errors():
            raw: Any = await self.client.hgetall(key)
        return dict(raw)

    async def _waits(self, units: list[Unit], skill: Skill) -> dict[tuple[str, Skill], int]:
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

    async def _earlier_reply(self, groups: Mapping[str, list[str]], request_id: str) -> Lease | None:
        """A retried cross-region claim: the lease an earlier attempt got, in any region."""
        with redis_errors():
            for region in groups:
                keys = RegionKeys(region)
                packed: Any = await self.client.get(f"{keys.prefix}req:{request_id}@{region}")
                if packed and (reply := msgpack.unpackb(packed, raw=True)):
                    return _lease(reply)
        return None

    async def _held_counts(self, staff: Staff, groups: Mapping[str, list[str]]) -> dict[str, int]:
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for region in groups:
                pipe.scard(RegionKeys(region).held(staff.id))
            counts = await pipe.execute()
        return dict(zip(groups, (int(n) for n in counts), strict=True))

    async def _regions_by_head(self, groups: Mapping[str, list[str]]) -> list[str]:
        """Regions ordered by their most urgent waiting case (peek, no claim)."""
        order: list[tuple[float, str]] = []
        with redis_errors():
            for region, queues in groups.items():
                keys = RegionKeys(region)
                pipe = self.client.pipeline(transaction=False)
                for queue in queues:
                    pipe.zrange(keys.prefix + "q:" + queue, 0, 0, withscores=True)
                heads = [top[0][1] for top in await pipe.execute() if top]
                if heads:
                    order.append((min(heads), region))
        return [region for _, region in sorted(order)]

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
        while len(self._moved) > 10_000:
            self._moved.popitem(last=False)
        return region


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


def _lease(reply: list[Any]) -> Lease:
    case_id, token, lease_until, deadline, unit, skill = reply
    return Lease(case_id.decode(), int(token), int(lease_until), int(deadline), unit.decode(), Skill(skill.decode()))
