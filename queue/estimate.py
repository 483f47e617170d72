"""Estimated wait for a waiting citizen, from position and recent service rate.

Honest by construction: with no service observed in the window there is no
estimate (None), and a closed unit's wait starts when it opens.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_WINDOW_MS = 30 * 60_000  # the recent past that defines the service rate


@dataclass(frozen=True)
class ServiceRate:
    """``served`` cases claimed from a queue during the last ``window_ms``."""

    served: int
    window_ms: int = SERVICE_WINDOW_MS

    @property
    def ms_per_case(self) -> float | None:
        return self.window_ms / self.served if self.served > 0 else None


def estimate_wait_ms(position: int, rate: ServiceRate, now_ms: int, opens_ms: int | None) -> int | None:
    """How long a case at ``position`` (1 = next) will probably wait.

    Args:
        position: 1-based place in its queue.
        rate: recent service rate of that queue.
        now_ms: the current instant.
        opens_ms: when the unit is next open (``now_ms`` when open now); None
            when it does not open within the planning horizon.

    Returns:
        Milliseconds, or None when there is no basis for an estimate.
    """
    per_case = rate.ms_per_case
    if per_case is None or opens_ms is None or position < 1:
        return None
    return max(0, opens_ms - now_ms) + round(position * per_case)


def queue_wait_ms(depth: int, rate: ServiceRate) -> int:
    """Expected wait of a case joining the back of a queue, for routing.

    With no recent service the wait is unknown; routing then treats it as
    zero, so that an unmeasured queue is not mistaken for a long one.
    """
    per_case = rate.ms_per_case
    return 0 if per_case is None else round((depth + 1) * per_case)
