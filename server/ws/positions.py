"""The waiting citizens' position frames: where each waiting case stands, and how long it may wait.

Coalesced, not one frame per queue change (TARGETS: position updates every
5–10 s per citizen, not on every dequeue): one pass every interval, a frame
only when what the citizen is shown changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import structlog

from direkt.queue.model import Skill
from direkt.queue.waitinfo import Smoothed, smooth, staffed_queues
from direkt.queue.waitroom import Position
from direkt.server.care.presence import StaffPresence, online_ttl_ms
from direkt.server.care.workflow import position_view
from direkt.server.errors import DirektError
from direkt.server.wiring import Services
from direkt.server.ws.outlet import Outlet

log = structlog.get_logger("direkt.hub")

SWEEP_CHUNK = 250  # watched cases per read (one script call of the waiting room)


class PositionFeed:
    """Coalesced waiting-room positions: one pass every interval, a frame only on change.

    A pass reads the positions of every watched case with a few script calls
    (``Waitroom.positions``), not one call per case: with six thousand
    citizens waiting, one call each took the hub's whole core and new
    citizens' handshakes timed out.
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
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-positions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def watch(self, out: Outlet, case_id: str) -> None:
        self.watchers.setdefault(case_id, set()).add(out)
        asyncio.get_running_loop().create_task(self._update(case_id))

    def unwatch(self, out: Outlet, case_id: str) -> None:
        outs = self.watchers.get(case_id)
        if outs is not None:
            outs.discard(out)
            if not outs:
                del self.watchers[case_id]
                self.smoothed.pop(case_id, None)
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

    async def _update(self, case_id: str) -> None:
        try:
            pos = await self.s.waitroom.position(case_id)
        except DirektError:
            return
        self._tell(case_id, pos)

    async def _read_staffing(self) -> None:
        """Mark this process's staff as online, then read who is online in every process."""
        now = self.s.clock()
        here = self.staff_here()
        try:
            await self.presence.seen(here, now)
            online = await self.presence.online(now)
        except DirektError as exc:
            log.warning("staffing_not_read", problem=exc.code)
            return
        self.staffed = staffed_queues(self.s.config.directory, online)

    def _tell(self, case_id: str, pos: Position) -> None:
        if pos.state != "waiting":
            self.smoothed.pop(case_id, None)
            return
        smoothed = smooth(self.smoothed.get(case_id), pos.estimated_wait_ms, self.s.clock())
        if smoothed is None:
            self.smoothed.pop(case_id, None)
        else:
            self.smoothed[case_id] = smoothed
        staffed = None if self.staffed is None else (pos.unit, pos.skill) in self.staffed
        view = position_view(pos, smoothed, staffed=staffed)
        # a frame only when what the citizen is shown changes (the estimate moves by the minute)
        key = (
            view["position"],
            view["depth"],
            (view["estimated_wait_ms"] or 0) // 60_000,
            tuple(view["wait_range_ms"] or ()),
            view["open"],
            view["opens_ms"],
            view["staffed"],
        )
        for out in list(self.watchers.get(case_id, ())):
            if self.sent.get((id(out), case_id)) != key:
                self.sent[(id(out), case_id)] = key
                out.push({"t": "position", "case": case_id, **view})
