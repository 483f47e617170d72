"""A token bucket: pure, the clock is a parameter."""

from __future__ import annotations

from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; ``take`` spends one if there is one.

    Slotted: every socket holds two (memory per socket, issue 25).
    """

    __slots__ = ("burst", "clock_ms", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, clock_ms: Callable[[], int]) -> None:
        self.rate = rate
        self.burst = burst
        self.clock_ms = clock_ms
        self.tokens = burst
        self.stamp = clock_ms()

    def take(self) -> bool:
        now = self.clock_ms()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate / 1000)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
