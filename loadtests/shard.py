"""One client process of a load run: ``python -m direkt.loadtests.shard``.

Reads its ``Spec`` (JSON) on standard input, sets up its users, prints
``READY {…}``, waits for ``GO <t0>`` (a ``time.monotonic()`` instant, which
every process on the machine shares), runs the measured phase, tears down,
and prints ``RESULT {…}``. The coordinator (``direkt.loadtests.load``) adds
the processes' results up.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from typing import Any

import orjson
import uvloop

from direkt.loadtests.actors import Probe
from direkt.loadtests.scenarios import Spec, World, measure, set_up, tear_down
from direkt.loadtests.wire import Http


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def emit(tag: str, data: dict[str, Any]) -> None:
    sys.stdout.write(f"{tag} {orjson.dumps(data).decode()}\n")
    sys.stdout.flush()


async def run(spec: Spec) -> None:
    loop = asyncio.get_running_loop()
    probe = Probe(time.monotonic())
    http = Http(spec.url, connections=min(256, spec.concurrency))
    world = World(spec, probe, http)
    try:
        started = time.monotonic()
        await set_up(world)
        world.setup["setup_s"] = round(time.monotonic() - started, 2)
        emit(
            "READY",
            {
                "sockets": world.open_sockets(),
                "setup": world.setup,
                "errors": dict(probe.errors),
                "examples": probe.examples,
            },
        )
        line = await loop.run_in_executor(None, sys.stdin.readline)
        t0 = float(line.split()[1])
        probe.timeline.t0 = t0
        await measure(world, t0)
        phase_end = time.monotonic()
        await tear_down(world)
        emit("RESULT", result(world, phase_end - t0))
    finally:
        await http.aclose()


def result(world: World, phase_s: float) -> dict[str, Any]:
    probe = world.probe
    return {
        "phase_s": phase_s,
        "latency": probe.latency.encode(),
        "extra": {name: lat.encode() for name, lat in probe.extra.items()},
        "timeline": probe.timeline.encode(),
        "ledger": probe.ledger.totals().as_dict(),
        "errors": dict(probe.errors),
        "examples": probe.examples,
        "counters": dict(probe.counters),
        "setup": world.setup,
    }


def main() -> int:
    raise_fd_limit()
    spec = Spec(**orjson.loads(sys.stdin.readline()))
    uvloop.run(run(spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
