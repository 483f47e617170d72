"""Periodic upkeep of every open socket, by one task per process.

Each connection refreshes its socket-limit slot, checks that its session is
still alive, and heartbeats the leases its nurse holds, once per interval.
One task per socket did that at about a kilobyte of memory each (a task, its
coroutine, a sleep); here a wheel of ``SLOTS`` sets turns once per interval,
and the members of one slot have their round together. Members land in a
random slot, so sockets opened together (a shift starting, a reconnect storm)
do not all refresh in the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

import structlog

log = structlog.get_logger("direkt.keepalive")
SLOTS = 30


class Member(Protocol):
    async def keepalive_round(self) -> None: ...


class Wheel:
    """Calls ``keepalive_round`` of every member once per ``interval()`` seconds.

    ``interval`` is read at every turn of a slot, so that settings (and tests)
    may change it.
    """

    def __init__(self, interval: Callable[[], float]) -> None:
        self.interval = interval
        self._slots: list[set[Member]] = [set() for _ in range(SLOTS)]
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-keepalive")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def add(self, member: Member) -> None:
        self._slots[random.randrange(SLOTS)].add(member)  # noqa: S311 - spreading, not secrecy

    def remove(self, member: Member) -> None:
        """Tries each slot: an index of member to slot cost every socket a dict entry (memory per socket)."""
        for slot in self._slots:
            slot.discard(member)

    def __len__(self) -> int:
        return sum(len(slot) for slot in self._slots)

    async def _run(self) -> None:
        slot = 0
        while True:
            await asyncio.sleep(self.interval() / SLOTS)
            members = list(self._slots[slot])
            slot = (slot + 1) % SLOTS
            if members:
                await _all(member.keepalive_round() for member in members)


async def _all(rounds: Iterable[Awaitable[None]]) -> None:
    """Run rounds side by side; one failing never stops the others."""
    results = await asyncio.gather(*rounds, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            log.warning("keepalive_round_failed", problem=type(result).__name__)
