"""Waiting-room benchmark: enqueue and claim against the embedded Redis,
beside raw ZADD / ZPOPMIN on the same server in the same run.

    direkt bench queue [--cases 20000] [--concurrency 32] [--json FILE]

Each phase runs ``--concurrency`` coroutines, each sending its next command as
soon as the previous one is answered (closed loop), over one connection pool.
Latency is measured per operation with ``perf_counter_ns``; percentiles are
exact (every sample is kept). The printed ratios compare the waiting room's
Lua scripts with the bare Redis commands they replace: the cost of atomicity,
leases, fencing, guarantees and live events.

Goals (issue 2): >= 2,000 claims/s, claim p99 <= 10 ms, claim/raw >= 0.3.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson

from direkt.queue.model import Directory, Skill, Staff
from direkt.queue.scripts import RedisClient
from direkt.queue.urgency import Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.region import DEMO_CONFIG, load_region_config

GOAL_CLAIMS_PER_S = 2000.0
GOAL_CLAIM_P99_MS = 10.0
GOAL_RATIO = 0.3


@dataclass(frozen=True)
class PhaseResult:
    name: str
    operations: int
    seconds: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds


def percentile(sorted_ns: Sequence[int], fraction: float) -> float:
    index = min(len(sorted_ns) - 1, max(0, round(fraction * len(sorted_ns)) - 1))
    return sorted_ns[index] / 1e6


async def run_phase(
    name: str, operations: int, concurrency: int, op: Callable[[int], Awaitable[object]]
) -> PhaseResult:
    samples: list[int] = []
    counter = iter(range(operations))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter_ns()
            await op(i)
            samples.append(time.perf_counter_ns() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    samples.sort()
    return PhaseResult(
        name, operations, elapsed,
        percentile(samples, 0.50), percentile(samples, 0.99), percentile(samples, 0.999), samples[-1] / 1e6,
    )  # fmt: skip


def bench_staff(directory: Directory) -> Staff:
    """A nurse serving three queues of one centre's region, with no chat cap."""
    base = directory.staff["cecilia.berg"]
    return replace(base, id="bench-nurse", units=("vc-viksang", "vc-sala", "vc-kungsor"), max_chats=10**9)


async def run(cases: int, concurrency: int, url: str) -> list[PhaseResult]:
    directory = load_region_config(DEMO_CONFIG).directory
    client: RedisClient = await connect(url)
    try:
        await client.flushall()
        room = Waitroom(client, directory)
        await room.load_scripts()
        staff = bench_staff(directory)
        units = ["vc-viksang", "vc-sala", "vc-kungsor"]
        urgencies = list(Urgency)
        now = room.clock()
        raw_key = "bench:{raw}:zset"
        results = [
            await run_phase("raw ZADD", cases, concurrency, lambda i: client.zadd(raw_key, {f"m{i}": now + i})),
            await run_phase("raw ZPOPMIN", cases, concurrency, lambda i: client.zpopmin(raw_key)),
            await run_phase(
                "enqueue (Lua)",
                cases,
                concurrency,
                lambda i: room.enqueue(f"vm.B{i:08d}", units[i % 3], Skill.NURSE, urgencies[i % 5], now - i),
            ),
            await run_phase("claim_next (Lua)", cases, concurrency, lambda i: room.claim_next(staff)),
        ]
        await client.flushall()
        return results
    finally:
        await client.aclose()


def report(results: list[PhaseResult]) -> str:
    by_name = {r.name: r for r in results}
    lines = [f"{'phase':<18} {'ops':>7} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}"]
    for r in results:
        lines.append(
            f"{r.name:<18} {r.operations:>7} {r.per_second:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
            f" {r.p999_ms:>9.2f} {r.max_ms:>8.2f}"
        )
    claim, enqueue = by_name["claim_next (Lua)"], by_name["enqueue (Lua)"]
    claim_ratio = claim.per_second / by_name["raw ZPOPMIN"].per_second
    enqueue_ratio = enqueue.per_second / by_name["raw ZADD"].per_second
    lines += [
        "",
        f"claim/raw ZPOPMIN   = {claim_ratio:.2f}  (goal >= {GOAL_RATIO})",
        f"enqueue/raw ZADD    = {enqueue_ratio:.2f}",
        f"claims/s            = {claim.per_second:.0f}  (goal >= {GOAL_CLAIMS_PER_S:.0f})",
        f"claim p99           = {claim.p99_ms:.2f} ms  (goal <= {GOAL_CLAIM_P99_MS} ms)",
        "goals: "
        + (
            "met"
            if claim_ratio >= GOAL_RATIO and claim.per_second >= GOAL_CLAIMS_PER_S and claim.p99_ms <= GOAL_CLAIM_P99_MS
            else "NOT met"
        ),
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="direkt bench queue", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fsync", choices=("everysec", "always"), default="everysec")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dk-bench-", dir="/tmp") as tmp:
        server = EmbeddedRedis(tmp, fsync=args.fsync).start()
        try:
            results = asyncio.run(run(args.cases, args.concurrency, server.url))
        finally:
            server.stop()
    print(f"direkt waiting-room benchmark: {args.cases} ops per phase, {args.concurrency} concurrent, "
          f"embedded Redis (unix socket, appendfsync {args.fsync}), {os.cpu_count()} CPUs")  # fmt: skip
    print(report(results))
    if args.json:
        rows = [{**asdict(r), "per_second": r.per_second} for r in results]
        args.json.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
