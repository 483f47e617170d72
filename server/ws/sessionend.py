"""Every open socket closes when its session's absolute lifetime ends: one timer per process.

A timer per socket (``loop.call_later``) cost about 0.75 KiB of every open
socket (tracemalloc: the handle, its context copy, the bound method, the
loop's heap slot). Here the sockets wait in buckets of one second of the
services clock, a set per second, and one timer waits for the earliest
bucket. A socket closes within a second after its session's end, never
before it: a bucket holds the sockets whose end falls in the second before
its key.

``Deadlines`` is the pure core (buckets, which are due); ``SessionEnds`` the
thin timer around it.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import structlog

log = structlog.get_logger("direkt.hub")

GRAIN_MS = 1000
M = TypeVar("M")


class Member(Protocol):
    def session_ended(self) -> None: ...


def bucket_of(at_ms: int) -> int:
    """The bucket of a deadline: the first whole second at or after it."""
    return -(-at_ms // GRAIN_MS)


class Deadlines(Generic[M]):
    """Members by deadline, in one-second buckets. Pure: the time is always a parameter.

    ``remove`` takes the deadline again, so no per-member index is kept. An
    emptied bucket is dropped at once; its key stays in the order (a heap of
    keys, each at most once) until it is due, so the order holds at most one
    int per second of a session's lifetime.
    """

    def __init__(self) -> None:
        self._buckets: dict[int, set[M]] = {}
        self._order: list[int] = []
        self._ordered: set[int] = set()

    def add(self, member: M, at_ms: int) -> None:
        key = bucket_of(at_ms)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = set()
            if key not in self._ordered:
                self._ordered.add(key)
                heapq.heappush(self._order, key)
        bucket.add(member)

    def remove(self, member: M, at_ms: int) -> None:
        key = bucket_of(at_ms)
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.discard(member)
            if not bucket:
                del self._buckets[key]

    def due(self, now_ms: int) -> list[M]:
        """Take out every member whose deadline is at or before ``now_ms``."""
        due: list[M] = []
        while self._order and self._order[0] * GRAIN_MS <= now_ms:
            key = heapq.heappop(self._order)
            self._ordered.discard(key)
            due.extend(self._buckets.pop(key, ()))
        return due

    def next_ms(self) -> int | None:
        """When the earliest bucket is due, if there is one."""
        while self._order and self._order[0] not in self._buckets:  # emptied: nothing to wait for
            self._ordered.discard(heapq.heappop(self._order))
        return self._order[0] * GRAIN_MS if self._order else None

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self._buckets.values())


class SessionEnds:
    """Calls ``session_ended`` of each member once its deadline (services-clock ms) has passed.

    One timer, set for the earliest bucket, and only while a member waits.
    """

    def __init__(self, clock_ms: Callable[[], int]) -> None:
        self.clock_ms = clock_ms
        self._deadlines: Deadlines[Member] = Deadlines()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_ms = 0  # when the timer is set for (services clock)

    def add(self, member: Member, at_ms: int) -> None:
        self._deadlines.add(member, at_ms)
        if self._timer is None or bucket_of(at_ms) * GRAIN_MS < self._timer_ms:
            self._schedule()

    def remove(self, member: Member, at_ms: int) -> None:
        self._deadlines.remove(member, at_ms)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __len__(self) -> int:
        return len(self._deadlines)

    def _schedule(self) -> None:
        self.stop()
        at_ms = self._deadlines.next_ms()
        if at_ms is not None:
            delay_s = max(0.0, (at_ms - self.clock_ms()) / 1000)
            self._timer, self._timer_ms = asyncio.get_running_loop().call_later(delay_s, self._tick), at_ms

    def _tick(self) -> None:
        self._timer = None
        try:
            for member in self._deadlines.due(self.clock_ms()):
                try:
                    member.session_ended()
                except Exception as exc:  # noqa: BLE001 - one socket's failure must not keep the others open
                    log.error("session_end_failed", problem=type(exc).__name__)
        finally:
            self._schedule()
