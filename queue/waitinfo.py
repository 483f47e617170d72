"""What the waiting room tells a waiting citizen, beyond the place in the queue:
a stable estimate shown as a range, whether the unit is open, and whether
anyone is there to answer. Pure: values in, values out (time is a parameter).

Why smoothing: the raw estimate is "place × the recent time per case", and
the recent time per case comes from a handful of claims in the last half
hour. One claim more or less halves or doubles it, so the raw figure jumped
from about 1 h 30 min to about 10 min in twelve seconds. A citizen needs a
figure that moves only as fast as the queue really does: the smoothed wait
counts down with the clock and follows the raw figure with a time constant
of minutes, and it is shown as a range whose width says how little we know.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .model import Directory, Skill

SMOOTHING_MS = 3 * 60_000  # the smoothed wait covers ~63 % of a change in the raw figure in this time
MAX_SPREAD = 0.6  # the range is at most ±60 % of the estimate
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Smoothed:
    """A case's smoothed wait (ms) as it stood at ``at_ms``."""

    wait_ms: float
    at_ms: int


@dataclass(frozen=True)
class WaitRange:
    """The wait shown to the citizen, in whole minutes rounded outwards (``low_ms`` may be 0)."""

    low_ms: int
    high_ms: int


def smooth(previous: Smoothed | None, fresh_ms: int | None, now_ms: int) -> Smoothed | None:
    """Blend a fresh raw estimate into the running one.

    The running wait first counts down by the time passed (waiting is
    progress), then moves towards the fresh figure by ``1 - exp(-Δt/τ)``. In
    other words the expected moment of the chat is smoothed: a raw figure that
    counts down with the clock is matched exactly, and the result is the same
    whether the feed looks every second or every minute. A queue that stands
    still (the raw figure does not count down) is shown at most ``τ`` too
    short, inside the range's spread for any wait worth a range.

    Args:
        previous: the running estimate, or None for the first one.
        fresh_ms: the raw estimate now; None when there is no basis for one
            (then there is no estimate either: we do not keep counting down a
            figure nobody can stand behind).
        now_ms: the current instant.

    Returns:
        The new running estimate, or None.
    """
    if fresh_ms is None:
        return None
    if previous is None or now_ms < previous.at_ms:
        return Smoothed(float(fresh_ms), now_ms)
    elapsed = now_ms - previous.at_ms
    predicted = max(0.0, previous.wait_ms - elapsed)
    weight = 1.0 - math.exp(-elapsed / SMOOTHING_MS)
    return Smoothed(predicted + weight * (fresh_ms - predicted), now_ms)


def spread(position: int, served: int) -> float:
    """How far off the estimate may be, as a fraction: wide with few claims seen or few cases ahead."""
    if position < 1 or served < 1:
        return MAX_SPREAD
    return min(MAX_SPREAD, 0.5 * math.sqrt(1 / served + 1 / position))


def wait_range(wait_ms: float, position: int, served: int) -> WaitRange:
    """The estimate as a range, rounded outwards to 5 minutes (15 above an hour).

    Args:
        wait_ms: the (smoothed) estimate.
        position: the case's place (1 = next).
        served: claims from the queue in the service-rate window.
    """
    width = spread(position, served)
    low, high = max(0.0, wait_ms * (1 - width)), wait_ms * (1 + width)
    step = (15 if high > 60 * MINUTE_MS else 5) * MINUTE_MS
    low_ms = int(low // step) * step
    high_ms = max(math.ceil(high / step) * step, low_ms + step)
    return WaitRange(low_ms, high_ms)


def shown_range(
    wait_ms: float | None, position: int, served: int, *, open_now: bool, staffed: bool | None
) -> WaitRange | None:
    """The range the waiting room shows, or None when a figure would mislead.

    No range while the unit is closed (the waiting room says when it opens
    instead) or while no one serving the queue is logged in (``staffed`` False;
    None means not known, which is no reason to hide it): the recent pace
    says nothing about when someone will come.
    """
    if wait_ms is None or not open_now or staffed is False:
        return None
    return wait_range(wait_ms, position, served)


def staffed_queues(directory: Directory, online: Iterable[str]) -> frozenset[tuple[str, Skill]]:
    """The (unit, skill) queues that someone logged in now serves."""
    return frozenset(
        (unit.id, skill)
        for staff_id in online
        if (staff := directory.staff.get(staff_id)) is not None
        for unit, skill in directory.queues_of(staff)
    )
