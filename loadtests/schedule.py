"""Open-loop pacing: work is scheduled at fixed times whatever the server does.

A closed-loop client waits for each reply before sending the next message, so
when the server stalls it simply sends less and the stall never shows in the
latencies (coordinated omission). Here every message has a scheduled send
time; latency is measured from that time, so a stall makes every message
scheduled during it late, as a real citizen would experience it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator


def ticks(rate: float, start: float, duration: float) -> Iterator[float]:
    """Evenly spaced scheduled times: ``rate`` per second from ``start`` for ``duration`` seconds."""
    if rate <= 0:
        return
    count = int(rate * duration)
    for i in range(count):
        yield start + i / rate


async def paced(
    times: Iterator[float], clock: Callable[[], float] = time.monotonic, *, batch_s: float = 0.001
) -> AsyncIterator[float]:
    """Yield each scheduled time once it is due (late ones at once, never skipped).

    Sleeps only when the next time is more than ``batch_s`` away, so a high
    rate does not cost one event-loop wake-up per message.
    """
    for at in times:
        wait = at - clock()
        if wait > batch_s:
            await asyncio.sleep(wait)
        yield at


def spread(count: int, rate: float, start: float) -> list[float]:
    """Arrival times of ``count`` clients at ``rate`` per second (all at ``start`` when rate ≤ 0)."""
    if rate <= 0:
        return [start] * count
    return [start + i / rate for i in range(count)]
