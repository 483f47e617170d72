"""Latency histograms for the load tests: HDR histograms that merge across client processes.

``hdrhistogram`` (HdrHistogram_py) keeps three significant digits over the
whole range in fixed memory, so p99.9 and max are exact to 0.1 % however many
samples arrive, and its compressed encoding lets each client process send its
histogram to the coordinator to be added up.
"""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 600_000_000  # ten minutes: anything slower is clamped, and counted as such
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


class Latency:
    """Latencies in microseconds; ``summary()`` in milliseconds."""

    def __init__(self, significant_figures: int = 3) -> None:
        self.h = HdrHistogram(LOWEST_US, HIGHEST_US, significant_figures)
        self.clamped = 0

    def record_s(self, seconds: float) -> None:
        self.record_us(round(seconds * 1e6))

    def record_us(self, us: int) -> None:
        if us > HIGHEST_US:
            self.clamped += 1
        self.h.record_value(min(max(us, LOWEST_US), HIGHEST_US))

    @property
    def count(self) -> int:
        return int(self.h.get_total_count())

    def add(self, other: Latency) -> None:
        self.h.add(other.h)
        self.clamped += other.clamped

    def encode(self) -> dict[str, Any]:
        return {"hdr": self.h.encode().decode("ascii"), "clamped": self.clamped}

    @classmethod
    def decode(cls, data: dict[str, Any]) -> Latency:
        latency = cls()
        latency.h = HdrHistogram.decode(data["hdr"].encode("ascii"))
        latency.clamped = int(data["clamped"])
        return latency

    def summary(self) -> dict[str, float]:
        """p50/p90/p99/p99.9/max/mean in ms (zeros when empty)."""
        if self.count == 0:
            return dict.fromkeys([*PERCENTILES, "max", "mean"], 0.0)
        out = {name: self.h.get_value_at_percentile(p) / 1000 for name, p in PERCENTILES.items()}
        out["max"] = self.h.get_max_value() / 1000
        out["mean"] = round(self.h.get_mean_value() / 1000, 3)
        return out


class Timeline:
    """Per-second latency histograms and counts, for the report's plot."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.seconds: dict[int, Latency] = {}

    def record(self, at: float, latency_s: float) -> None:
        second = int(at - self.t0)
        bucket = self.seconds.get(second)
        if bucket is None:
            bucket = self.seconds[second] = Latency(2)
        bucket.record_s(latency_s)

    def encode(self) -> dict[str, Any]:
        return {str(s): b.encode() for s, b in self.seconds.items()}

    def merge(self, data: dict[str, Any]) -> None:
        for second, encoded in data.items():
            other = Latency.decode(encoded)
            mine = self.seconds.setdefault(int(second), Latency(2))
            mine.add(other)

    def rows(self) -> list[dict[str, float]]:
        """One row per second: messages, p50 and p99 in ms."""
        rows = []
        for second in sorted(self.seconds):
            s = self.seconds[second].summary()
            rows.append({"t": second, "messages": self.seconds[second].count, "p50": s["p50"], "p99": s["p99"]})
        return rows
