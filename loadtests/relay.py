"""The relay benchmark: one message from side A of a pair to side B, through a
server, measured the same way for every server (``direkt load compare``).

A *target* is a server under test (bare Starlette, python-socketio with Redis,
direkt) behind the two protocols below; the driver knows nothing else about
it. The load is closed-loop per pair: ``window`` messages in flight, the next
one sent when one arrives, so throughput is what the server sustains rather
than what the client offers, and latency is not inflated by queueing in the
client. Server processes run on the same machine, so their CPU is reported next
to the client's: a saturated client caps every target alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psutil

from direkt.loadtests.fleet import free_port
from direkt.loadtests.hist import Latency
from direkt.server.redis.embedded import die_with_parent

OnReceive = Callable[[int], None]  # called with the seq carried by a message when side B receives it


class RelayPair(Protocol):
    async def send(self, seq: int) -> None: ...  # side A sends one message carrying seq (and the payload) to side B
    async def close(self) -> None: ...


class RelayTarget(Protocol):
    name: str

    async def start(self) -> None: ...  # start its server process(es); idempotent
    async def open_pair(self, index: int, on_receive: OnReceive, payload_bytes: int) -> RelayPair: ...
    async def close(self) -> None: ...  # close pairs' sockets and stop its servers
    def server_pids(self) -> list[int]: ...  # for CPU/RSS sampling (include redis-server where the target runs one)


DRAIN_S = 2.0
SAMPLE_INTERVAL_S = 0.5
OPEN_CONCURRENCY = 32  # connection handshakes at once: enough to be quick, few enough not to hit accept backlogs
_NEVER = 2**63


@dataclass
class _Run:
    """Shared state of one measurement; times are ``time.monotonic_ns``."""

    latency: Latency = field(default_factory=Latency)
    measured_from: int = _NEVER  # messages sent from here on are measured
    measuring: bool = False  # receipts now count towards throughput
    stopping: bool = False
    in_flight: int = 0
    drained: asyncio.Event = field(default_factory=asyncio.Event)  # set when stopping and nothing is in flight
    delivered: int = 0
    duplicated: int = 0


@dataclass
class _PairState:
    """The pair's in-flight messages: seq → send time. A seq not in it on
    receipt was either received already or never sent: a duplicate."""

    credits: asyncio.Semaphore
    in_flight: dict[int, int] = field(default_factory=dict)
    next_seq: int = 0


def _receiver(run: _Run, state: _PairState) -> OnReceive:
    def on_receive(seq: int) -> None:
        now = time.monotonic_ns()
        sent = state.in_flight.pop(seq, None)
        if sent is None:
            run.duplicated += 1
            return
        state.credits.release()
        run.in_flight -= 1
        if run.stopping and not run.in_flight:
            run.drained.set()
        if run.measuring:
            run.delivered += 1
        if sent >= run.measured_from:
            run.latency.record_us((now - sent) // 1000)

    return on_receive


async def _pump(run: _Run, state: _PairState, pair: RelayPair) -> None:
    """Send whenever a credit is free; the receiver gives credits back."""
    while True:
        await state.credits.acquire()
        if run.stopping:
            return
        seq = state.next_seq
        state.next_seq += 1
        state.in_flight[seq] = time.monotonic_ns()
        run.in_flight += 1
        await pair.send(seq)


async def _open_pairs(
    target: RelayTarget, run: _Run, pairs: int, window: int, payload_bytes: int
) -> list[tuple[_PairState, RelayPair]]:
    limit = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def open_one(index: int) -> tuple[_PairState, RelayPair]:
        state = _PairState(asyncio.Semaphore(window))
        async with limit:
            return state, await target.open_pair(index, _receiver(run, state), payload_bytes)

    return list(await asyncio.gather(*(open_one(i) for i in range(pairs))))


async def _drain(run: _Run) -> None:
    """Wait for the messages still in flight, at most 2 s: later ones count as lost."""
    if not run.in_flight:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.drained.wait(), DRAIN_S)


async def measure_relay(
    target: RelayTarget,
    *,
    pairs: int,
    window: int,
    seconds: float,
    payload_bytes: int = 64,
    warmup: float = 1.0,
) -> dict[str, Any]:
    """Relay for ``warmup + seconds`` through ``target`` and report the measured part.

    ``delivered`` counts receipts inside the measured interval; latency and
    ``lost`` cover messages sent inside it (``lost``: not received by the end
    plus a 2 s drain). ``lost_warmup`` is the same for the warm-up, so that a
    loss is never hidden. The target's pairs are closed; the target is not.
    """
    await target.start()
    run = _Run()
    opened = await _open_pairs(target, run, pairs, window, payload_bytes)
    states = [state for state, _ in opened]
    pumps = [asyncio.create_task(_pump(run, state, pair)) for state, pair in opened]
    try:
        await asyncio.sleep(warmup)
        sampler = ResourceSampler(target.server_pids())
        run.measured_from, run.measuring = time.monotonic_ns(), True
        async with sampler.sampling():
            await asyncio.sleep(seconds)
            run.stopping = True
            run.measuring = False
            elapsed = (time.monotonic_ns() - run.measured_from) / 1e9  # the sleep may overshoot on a busy machine
        for state in states:
            for _ in range(window):
                state.credits.release()  # wake the pumps so that they see `stopping`
        await asyncio.gather(*pumps)
        await _drain(run)
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*(pair.close() for _, pair in opened), return_exceptions=True)
    lost = sum(1 for s in states for sent in s.in_flight.values() if sent >= run.measured_from)
    return {
        "target": target.name,
        "pairs": pairs,
        "window": window,
        "seconds": seconds,
        "payload_bytes": payload_bytes,
        "delivered": run.delivered,
        "throughput_msg_s": run.delivered / elapsed,
        "latency_ms": run.latency.summary(),
        "lost": lost,
        "lost_warmup": sum(len(s.in_flight) for s in states) - lost,
        "duplicated": run.duplicated,
        **sampler.result(),
    }


class ResourceSampler:
    """CPU of this process and of the server processes over an interval (from
    CPU-time deltas, so a busy event loop cannot skew it), and the servers'
    peak RSS, sampled every 0.5 s. Percent of one core. The CPU of every other
    process too: the figures mean little if something else was running."""

    def __init__(self, server_pids: list[int]) -> None:
        self.client = psutil.Process()
        self.servers = [psutil.Process(pid) for pid in server_pids]
        self.rss_peak = 0
        self.cpu: dict[str, float] = {}
        self.cpu_each: list[float] = []

    @contextlib.asynccontextmanager
    async def sampling(self) -> AsyncIterator[ResourceSampler]:
        started = time.monotonic()
        client0 = _cpu_seconds(self.client)
        machine0 = _machine_cpu_seconds()
        servers0 = [_cpu_seconds(p) for p in self.servers]
        task = asyncio.create_task(self._sample_rss())
        try:
            yield self
        finally:
            task.cancel()
            wall = time.monotonic() - started
            self.cpu["client"] = 100 * (_cpu_seconds(self.client) - client0) / wall
            each = [100 * (_cpu_seconds(p) - c0) / wall for p, c0 in zip(self.servers, servers0, strict=True)]
            self.cpu["server"] = sum(each)
            self.cpu["others"] = 100 * (_machine_cpu_seconds() - machine0) / wall - self.cpu["client"] - sum(each)
            self.cpu_each = [round(c, 1) for c in each]

    async def _sample_rss(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.rss_peak = max(self.rss_peak, sum(p.memory_info().rss for p in self.servers))
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    def result(self) -> dict[str, Any]:
        return {
            "client_cpu_pct": round(self.cpu["client"], 1),
            "server_cpu_pct": round(self.cpu["server"], 1),
            "server_cpu_pct_each": self.cpu_each,  # in the order of target.server_pids()
            "server_rss_mb": round(self.rss_peak / 2**20, 1),
            "other_cpu_pct": round(max(self.cpu["others"], 0.0), 1),  # anything else on the machine: noise
        }


def _machine_cpu_seconds() -> float:
    times = psutil.cpu_times()
    return float(times.user + times.system + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0))


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


# Serving an ASGI app the way `direkt serve` does, for the baselines.

SERVE_APP = """
import sys, uvicorn
from direkt.server.serve import uvicorn_options
from direkt.server.settings import Settings
options = uvicorn_options(Settings(port=int(sys.argv[1])))
options.update(log_level="warning", factory=sys.argv[3] == "factory")
uvicorn.run(sys.argv[2], **options)
"""


def uvicorn_command(port: int, app: str, *, factory: bool = False) -> list[str]:
    """A uvicorn process serving ``app`` (``module:attribute``) on ``port`` as ``direkt serve`` would."""
    return [sys.executable, "-c", SERVE_APP, str(port), app, "factory" if factory else "app"]


class UvicornProcess:
    """One uvicorn worker serving ``app`` (``module:attribute``) with the options
    of ``direkt serve``: same WebSocket implementation, uvloop, httptools, so
    that the baselines differ from direkt only in the application."""

    def __init__(self, app: str, *, factory: bool = False, env: dict[str, str] | None = None) -> None:
        self.app = app
        self.factory = factory
        self.env = env or {}
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 20.0) -> None:
        """Start and wait until the port accepts: uvicorn binds after the app's startup."""
        if self.process is not None:
            return
        self.process = await asyncio.create_subprocess_exec(
            *uvicorn_command(self.port, self.app, factory=self.factory),
            env=os.environ | {"PYTHONSAFEPATH": "1"} | self.env,
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # never outlive the benchmark
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"uvicorn serving {self.app} exited with status {self.process.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError(f"uvicorn serving {self.app} did not start within {timeout:.0f} s")

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (uvicorn closes its sockets gracefully), SIGKILL if it hangs; idempotent."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []
