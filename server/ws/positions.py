"""The waiting citizens' position frames: where each waiting case stands, and how long it may wait.

Coalesced, never one frame per queue change (TARGETS: not on every dequeue):
a queue's changes re-read its waiting citizens' positions within about a
second, a pass every interval catches what moves without a change, and a
frame goes out only when what the citizen is shown changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterable
from typing import Any

import msgpack
import orjson
import structlog

from direkt.queue.keys import events_channel
from direkt.queue.model import Skill
from direkt.queue.records import Position
from direkt.queue.waitinfo import Smoothed, smooth, staffed_queues
from direkt.server.background import spawn
from direkt.server.care.presence import StaffPresence, online_ttl_ms
from direkt.server.care.queueviews import position_view
from direkt.server.care.steering import SteeringStore, Units
from direkt.server.errors import DirektError
from direkt.server.redis import keys
from direkt.server.wiring import Services
from direkt.server.ws.outlet import Outlet

log = structlog.get_logger("direkt.hub")

SWEEP_CHUNK = 250  # watched cases per read (one script call of the waiting room)
NUDGE_SETTLE_S = 0.05  # a queue's change is read this long after it: a burst of changes, one read
WATCH_SETTLE_S = 0.01  # a new watcher's first position is read with those of the same moment (``watch``)
NUDGE_GAP_S = 0.8  # a queue's positions are re-read on its changes at most this often: a lag under a second
# Queue events that move no waiting citizen: a held case's own steps, and warnings.
UNMOVING_EVENTS = frozenset({"contact", "closed", "stale_refused", "breach"})


class PositionFeed:
    """Coalesced waiting-room positions: a frame only on change, a queue's reads batched.

    Two triggers. A queue's own change (a case claimed, withdrawn, returned,
    enqueued ahead) re-reads the positions of the citizens waiting in that
    queue: after ``NUDGE_SETTLE_S``, so a burst of changes is one read, and at
    most once per ``NUDGE_GAP_S`` per queue, so a busy queue sends each citizen
    about one frame a second at most, never one per dequeue (TARGETS' sizing).
    Before, a citizen saw their place lag the queue by up to the whole interval.
    And a pass over every watched case every interval, for what moves without
    an event (the estimate counting down, staffing, opening hours).

    Both read with a few script calls per batch (``Waitroom.positions``), not
    one call per case: with six thousand citizens waiting, one call each took
    the hub's whole core and new citizens' handshakes timed out.
    """

    def __init__(self, services: Services, staff_here: Callable[[], set[str]]) -> None:
        """``staff_here``: the ids of the staff with a socket open in this process."""
        self.s = services
        self.staff_here = staff_here
        self.watchers: dict[str, set[Outlet]] = {}
        self.sent: dict[tuple[int, str], tuple[Any, ...]] = {}
        self.smoothed: dict[str, Smoothed] = {}  # per watched case: the estimate the citizen sees
        self.staffed: frozenset[tuple[str, Skill]] | None = None  # queues someone serves now (None: not read yet)
        self.presence = StaffPresence(services.client, online_ttl_ms(services.settings.position_interval_seconds))
        self.queue_of: dict[str, tuple[str, str]] = {}  # watched waiting case -> its (unit, skill)
        self.in_queue: dict[tuple[str, str], set[str]] = {}  # (unit, skill) -> its watched waiting cases
        self.nudged: dict[tuple[str, str], asyncio.Task[None]] = {}  # queues with a re-read pending
        self.refreshed: dict[tuple[str, str], float] = {}  # when each queue was last re-read (loop time)
        self.changes = QueueChanges(self)
        self.steering = Units()  # each unit's intake closure and notice, as last read (``steering.py``)
        self.steering_changes = SteeringChanges(self)
        self._task: asyncio.Task[None] | None = None
        self._first: set[str] = set()  # cases watched since the last first read (``watch``)
        self._first_read: asyncio.Task[None] | None = None  # the read the next watches join
        self._first_reads: set[asyncio.Task[None]] = set()  # every first read still running: ``stop`` ends them

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-positions")
        for region in self.s.config.directory.regions:
            with contextlib.suppress(DirektError):  # not confirmed in time: subscribed on the next reconnect
                await self.s.fanout.subscribe(events_channel(region), self.changes)
            with contextlib.suppress(DirektError):
                await self.s.fanout.subscribe(keys.unit_control_channel(region), self.steering_changes)

    async def stop(self) -> None:
        for task in [*self.nudged.values(), *([self._task] if self._task else []), *self._first_reads]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def nudge(self, queue: tuple[str, str]) -> None:
        """The queue changed: re-read its watched cases soon (see the class)."""
        if queue in self.nudged or not self.in_queue.get(queue):
            return
        loop = asyncio.get_running_loop()
        wait = max(NUDGE_SETTLE_S, self.refreshed.get(queue, -math.inf) + NUDGE_GAP_S - loop.time())
        self.nudged[queue] = loop.create_task(self._refresh(queue, wait))

    async def _refresh(self, queue: tuple[str, str], wait: float) -> None:
        await asyncio.sleep(wait)
        del self.nudged[queue]  # a change from now on asks for another read
        self.refreshed[queue] = asyncio.get_running_loop().time()
        cases = list(self.in_queue.get(queue, ()))
        for start in range(0, len(cases), SWEEP_CHUNK):
            try:
                found = await self.s.waitroom.positions(cases[start : start + SWEEP_CHUNK])
            except DirektError as exc:
                log.warning("positions_skipped", problem=exc.code)
                return
            for case_id, pos in found.items():
                self._tell(case_id, pos)

    def watch(self, out: Outlet, case_id: str) -> None:
        """Send ``out`` the case's position now, and whenever it changes until ``unwatch``.

        The first reads of the cases watched within ``WATCH_SETTLE_S`` are one
        script call per ``SWEEP_CHUNK`` cases: a reconnect storm made one task
        and one call per waiting citizen's join.
        """
        self.watchers.setdefault(case_id, set()).add(out)
        self._first.add(case_id)
        if self._first_read is None:
            read = self._first_read = asyncio.get_running_loop().create_task(self._read_first())
            self._first_reads.add(read)
            read.add_done_callback(self._first_reads.discard)

    async def _read_first(self) -> None:
        await asyncio.sleep(WATCH_SETTLE_S)
        cases, self._first, self._first_read = list(self._first), set(), None  # later watches: another read
        for start in range(0, len(cases), SWEEP_CHUNK):
            try:
                found = await self.s.waitroom.positions(cases[start : start + SWEEP_CHUNK])
            except DirektError:
                continue  # the next pass over every watched case tells them
            for case_id, pos in found.items():
                if case_id in self.watchers:  # not one unwatched meanwhile (its smoothed estimate stays gone)
                    self._tell(case_id, pos)

    def unwatch(self, out: Outlet, case_id: str) -> None:
        outs = self.watchers.get(case_id)
        if outs is not None:
            outs.discard(out)
            if not outs:
                del self.watchers[case_id]
                self.smoothed.pop(case_id, None)
                self._place(case_id, None)
        self.sent.pop((id(out), case_id), None)

    def forget(self, out: Outlet, followed: Iterable[str]) -> None:
        """A socket is gone: it watched only cases it ``followed``."""
        for case_id in list(followed):
            self.unwatch(out, case_id)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            interval = self.s.settings.position_interval_seconds
            started = loop.time()
            await self.sweep(interval)
            await asyncio.sleep(max(0.0, started + interval - loop.time()))

    async def sweep(self, interval: float = 0.0) -> None:
        """One pass over every watched case, its reads spread evenly over ``interval`` seconds.

        Spread, not in one burst: with ten thousand citizens waiting, a burst
        of ten thousand frames every interval held up the hub (and every
        client's phone) for seconds, and arrivals waited behind it.
        """
        await self._read_staffing()
        watched = list(self.watchers)
        chunks = [watched[i : i + SWEEP_CHUNK] for i in range(0, len(watched), SWEEP_CHUNK)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n, chunk in enumerate(chunks):
            await asyncio.sleep(max(0.0, started + interval * n / len(chunks) - loop.time()))
            try:
                found = await self.s.waitroom.positions(chunk)
            except DirektError as exc:
                log.warning("positions_skipped", problem=exc.code)
                continue
            for case_id, pos in found.items():
                self._tell(case_id, pos)

    async def _read_staffing(self) -> None:
        """Mark this process's staff as online, then read who answers now (online, not away) in every process."""
        now = self.s.clock()
        here = self.staff_here()
        try:
            await self.presence.seen(here, now)
            online = await self.presence.attending(now)
        except DirektError as exc:
            log.warning("staffing_not_read", problem=exc.code)
            return
        self.staffed = staffed_queues(self.s.config.directory, online)
        await self.read_steering()

    async def read_steering(self, unit: str = "") -> None:
        """Re-read the units' steering (one unit's, after its change: then its waiting citizens are told)."""
        store = SteeringStore(self.s.client, self.s.config.directory)
        try:
            if unit:
                self.steering.by_unit[unit] = await store.of_unit(unit)
            else:
                self.steering.by_unit = await store.of_units(self.s.config.directory.units)
        except DirektError as exc:
            log.warning("steering_not_read", problem=exc.code)
            return
        for queue in list(self.in_queue):
            if queue[0] == unit:
                self.nudge(queue)

    def _place(self, case_id: str, queue: tuple[str, str] | None) -> None:
        """Index a watched case under the queue it waits in (None: it waits nowhere, or is not watched)."""
        before = self.queue_of.pop(case_id, None)
        if before is not None and before != queue:
            cases = self.in_queue[before]
            cases.discard(case_id)
            if not cases:
                del self.in_queue[before]
        if queue is not None and case_id in self.watchers:
            self.queue_of[case_id] = queue
            self.in_queue.setdefault(queue, set()).add(case_id)

    def _tell(self, case_id: str, pos: Position) -> None:
        self._place(case_id, (pos.unit, str(pos.skill)) if pos.state == "waiting" else None)
        if pos.state != "waiting":
            self.smoothed.pop(case_id, None)
            return
        smoothed = smooth(self.smoothed.get(case_id), pos.estimated_wait_ms, self.s.clock())
        if smoothed is None:
            self.smoothed.pop(case_id, None)
        else:
            self.smoothed[case_id] = smoothed
        staffed = None if self.staffed is None else (pos.unit, pos.skill) in self.staffed
        view = position_view(pos, smoothed, staffed=staffed) | self.steering.of(pos.unit).view(self.s.clock())
        # a frame only when what the citizen is shown changes (the range, not the raw estimate)
        key = (
            view["position"],
            view["depth"],
            tuple(view["wait_range_ms"] or ()),
            view["open"],
            view["opens_ms"],
            view["staffed"],
            orjson.dumps([view["intake_closed"], view["notice"]]),
        )
        for out in list(self.watchers.get(case_id, ())):
            if self.sent.get((id(out), case_id)) != key:
                self.sent[(id(out), case_id)] = key
                out.push({"t": "position", "case": case_id, **view})


class QueueChanges:
    """A region's queue events, for the position feed: which queues changed."""

    def __init__(self, feed: PositionFeed) -> None:
        self.feed = feed

    def on_message(self, channel: str, data: bytes) -> None:
        event = msgpack.unpackb(data)
        if event.get("t") in UNMOVING_EVENTS:
            return
        for unit, skill in ((event.get("unit"), event.get("skill")), (event.get("from_unit"), event.get("from_skill"))):
            if unit and skill:
                self.feed.nudge((unit, skill))

    def on_resync(self) -> None:
        pass  # events missed while pub/sub was down: the next pass over every case catches up


class SteeringChanges:
    """A region's steering changes (``keys.unit_control_channel``): the unit is re-read, its citizens told."""

    def __init__(self, feed: PositionFeed) -> None:
        self.feed = feed

    def on_message(self, channel: str, data: bytes) -> None:
        unit = data.decode(errors="replace")
        if unit in self.feed.s.config.directory.units:
            spawn(self.feed.read_steering(unit))

    def on_resync(self) -> None:
        pass  # changes missed while pub/sub was down: the next pass reads every unit's steering
