"""How the chat relay scales: one server process, two on one Redis, two on a 3-master Redis Cluster.

    direkt load scale [--pairs 100] [--window 4] [--seconds 10] [--payload 64] [--json FILE]
                      [--runs N] [--record] [--results DIR]

Three set-ups in one invocation, one after another (never sharing the CPU),
each on a fresh Redis started from the embedded ``redis-server`` binary and
reached over TCP as a deployment would reach it:

* ``1 proc``: one ``direkt serve`` on one Redis;
* ``2 procs``: two ``direkt serve`` on two ports on that one Redis, as two
  nodes behind a load balancer. Citizen ``i`` uses server ``i % 2``, nurse
  ``k`` server ``(k + 1) % 2``; nurses claim cases in arrival order, so about
  half the pairs talk across the two processes, through Redis, as in the
  product;
* ``2 procs, cluster``: the same two servers on a 3-master Redis Cluster.

Each set-up is driven by the closed-loop relay (``direkt.loadtests.relay``,
the driver of ``direkt load compare``): ``--window`` messages in flight per
pair, citizen ``send`` → stored in the case's stream → nurse ``msg``. Prints
msg/s, latency, CPU per server process and per Redis shard, and the ratios
against ``1 proc``. On one machine the load clients share the cores with the
servers: the ratios say what a second process or more shards buy on *this*
machine, an upper bound on the cost per message for a paper estimate, not a
cluster's capacity. Exit status 1 if a message was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import uvloop

from direkt.loadtests import summary
from direkt.loadtests.fleet import LocalServer, adult_numbers, enter_citizen, free_port, unit_id
from direkt.loadtests.relay import measure_relay
from direkt.loadtests.relay_direkt import CHATS_PER_NURSE, DirektTarget
from direkt.loadtests.wire import Http, Wire
from direkt.server.redis.embedded import EmbeddedRedis, cluster_port, redis_server_binary


@dataclass(frozen=True)
class Setup:
    name: str
    processes: int
    shards: int  # 1: one plain Redis; 3: a 3-master Redis Cluster


SETUPS = (Setup("1 proc", 1, 1), Setup("2 procs", 2, 1), Setup("2 procs, cluster", 2, 3))
BASELINE = SETUPS[0].name


class RedisFleet:
    """One Redis, or three cluster masters without replicas (``redis-cli --cluster create``), on TCP loopback."""

    def __init__(self, shards: int) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="dk-scale-", dir="/tmp")
        base = Path(self.folder.name)
        cluster = {"cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": "2000"}
        self.nodes = [
            EmbeddedRedis(base / f"n{i}", port=cluster_port() if shards > 1 else free_port(),
                          extra=cluster if shards > 1 else None)
            for i in range(shards)
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return self.nodes[0].url  # any node of a cluster: direkt asks it whether cluster mode is on

    def start(self) -> None:
        try:
            for node in self.nodes:
                node.start()
            if len(self.nodes) > 1:
                self._create_cluster()
        except BaseException:
            self.stop()
            raise

    def _create_cluster(self) -> None:
        cli = str(redis_server_binary().with_name("redis-cli"))
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(  # noqa: S603 - the bundled binary, our own arguments
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = [
                subprocess.run(  # noqa: S603
                    [cli, "-p", str(n.port), "cluster", "info"], capture_output=True, text=True, check=False
                ).stdout
                for n in self.nodes
            ]
            if all("cluster_state:ok" in s for s in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok within 30 s")

    def pids(self) -> list[int]:
        return [n.process.pid for n in self.nodes if n.process is not None]

    def usage(self) -> list[tuple[float, float]]:
        """Per node: CPU seconds so far and RSS in MB (for a run whose sampler sees only the server's processes)."""
        out = []
        for pid in self.pids():
            try:
                process = psutil.Process(pid)
                with process.oneshot():
                    times, rss = process.cpu_times(), process.memory_info().rss
            except psutil.Error:
                continue
            out.append((times.user + times.system, rss / 2**20))
        return out

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.folder.cleanup()


@dataclass
class SpreadTarget(DirektTarget):
    """``DirektTarget`` over several ``direkt serve`` processes on one Redis (or cluster) that it starts.

    A subclass, so that ``relay_direkt.py`` stays as it is: the pairs, the
    nurse's claims and the receiving are its own; only where each socket
    connects differs.
    """

    setup: Setup = SETUPS[0]
    fleet: RedisFleet | None = None
    servers: list[LocalServer] = field(default_factory=list)
    https: list[Http] = field(default_factory=list)

    async def start(self) -> None:
        if self.https:
            return
        self.name = self.setup.name
        nurses = math.ceil(self.pairs / CHATS_PER_NURSE)
        self.fleet = RedisFleet(self.setup.shards)
        await asyncio.to_thread(self.fleet.start)
        # side by side: the first to reach Redis seeds the live configuration, the other loads it
        start = functools.partial(
            LocalServer.start, nurses=nurses, max_chats=CHATS_PER_NURSE, citizens=self.pairs,
            DIREKT_MESSAGE_RATE="1000000", REDIS_URL=self.fleet.url,
        )  # fmt: skip
        started = await asyncio.gather(
            *(asyncio.to_thread(start) for _ in range(self.setup.processes)), return_exceptions=True
        )
        self.servers = [s for s in started if isinstance(s, LocalServer)]
        for failure in started:
            if isinstance(failure, BaseException):
                raise failure  # close() stops the servers that did start
        self.https = [Http(server.url) for server in self.servers]
        numbers = adult_numbers()
        self.cases = list(
            await asyncio.gather(*(self._citizen_on(i, numbers[i % len(numbers)]) for i in range(self.pairs)))
        )
        for n in range(nurses):  # one nurse at a time, so switching the inherited `http` is safe
            self.http = self.https[(n + 1) % len(self.https)]
            await self._nurse(n, self.http.base_url)

    async def _citizen_on(self, index: int, pnr: str) -> str:
        http = self.https[index % len(self.https)]
        session, case = await enter_citizen(http, pnr, unit_id(0))
        wire = await Wire.open(await http.ticket_url(session), http.base_url, lambda frame: None)
        await wire.send({"t": "join", "case": case})
        self.citizens[case] = wire
        return case

    async def close(self) -> None:
        for wire in [*self.citizens.values(), *self.nurses]:
            await wire.close()
        for http in self.https:
            await http.aclose()
        for server in self.servers:
            await asyncio.to_thread(server.stop)
        if self.fleet is not None:
            await asyncio.to_thread(self.fleet.stop)

    def labelled_pids(self) -> list[tuple[str, int]]:
        """Every process to sample, named: ``server 1`` (with its workers, if any), ``redis 1``…"""
        out = []
        for i, server in enumerate(self.servers, 1):
            root = psutil.Process(server.process.pid)
            out += [(f"server {i}", p.pid) for p in [root, *root.children(recursive=True)]]
        fleet_pids = self.fleet.pids() if self.fleet is not None else []
        return out + [(f"redis {i}", pid) for i, pid in enumerate(fleet_pids, 1)]

    def server_pids(self) -> list[int]:
        return [pid for _, pid in self.labelled_pids()]


def cpu_by_process(labels: Sequence[str], each: Sequence[float]) -> dict[str, float]:
    """CPU % of one core per named process (a server's workers added to it), from ``server_cpu_pct_each``."""
    out: dict[str, float] = {}
    for label, cpu in zip(labels, each, strict=True):
        out[label] = round(out.get(label, 0.0) + cpu, 1)
    return out


async def measure_setup(setup: Setup, args: argparse.Namespace) -> dict[str, Any]:
    target = SpreadTarget(None, args.pairs, setup=setup)
    try:
        await target.start()
        labels = [label for label, _ in target.labelled_pids()]
        row = await measure_relay(
            target, pairs=args.pairs, window=args.window, seconds=args.seconds, payload_bytes=args.payload
        )
    finally:
        await target.close()
    row["setup"] = {"processes": setup.processes, "redis_shards": setup.shards}
    row["cpu_pct"] = cpu_by_process(labels, row["server_cpu_pct_each"])
    row["cpu_ms_per_msg"] = summary.cpu_ms_per_message(row["cpu_pct"], row["throughput_msg_s"])
    return row


async def measure_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    return [await measure_setup(setup, args) for setup in SETUPS]


def _print(report: dict[str, Any], args: argparse.Namespace) -> None:
    rows = report["rows"]
    print(f"relay citizen → nurse: {args.pairs} pairs, window {args.window}, {args.payload} B, {args.seconds:g} s each")
    head = f"{'set-up':<18} {'msg/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'lost':>5} {'dup':>4} {'client':>7}"
    print(head + "  CPU ms/msg server, redis  CPU % by process")
    for r in rows:
        cpu = "  ".join(f"{name} {pct:.0f}" for name, pct in r["cpu_pct"].items())
        latency = r["latency_ms"]
        print(
            f"{r['target']:<18} {r['throughput_msg_s']:>8.0f} {latency['p50']:>7.2f} {latency['p99']:>7.2f}"
            f" {r['lost'] + r['lost_warmup']:>5} {r['duplicated']:>4} {r['client_cpu_pct']:>6.0f}%"
            f"  {_ms(r['cpu_ms_per_msg']['server']):>6} {_ms(r['cpu_ms_per_msg']['redis']):>6}  {cpu}"
        )
    for name, value in report["ratios"].items():
        print(f"{name:<28} {'n/a' if value is None else f'{value:.2f}'}")
    print(
        f"paper estimate for {summary.PEAK_MSG_S:,} msg/s with every core at 60 %, from each set-up's cost per message:"
    )
    for r in rows:
        cost = r["cpu_ms_per_msg"]
        if cost["server"] is None or cost["redis"] is None:
            continue
        e = summary.peak_estimate(cost["server"], cost["redis"])
        print(f"  {r['target']:<18} {e['server_cores']:.0f} server cores ({e['nodes']} nodes of 2), "
              f"{e['redis_shards']} Redis shards")  # fmt: skip


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    from direkt.loadtests import record
    from direkt.loadtests.load import add_record_options, repeat

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="direkt load scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--window", type=int, default=4, help="messages in flight per pair")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per set-up")
    parser.add_argument("--payload", type=int, default=64, help="payload bytes per message")
    parser.add_argument("--json", type=Path, help="write the rows and ratios here")
    add_record_options(parser)
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.window < 1 or args.seconds <= 0 or args.payload < 0:
        parser.error("--pairs and --window must be ≥ 1, --seconds > 0, --payload ≥ 0")

    def once() -> dict[str, Any]:
        rows = uvloop.run(measure_all(args))
        return {"rows": rows, "ratios": summary.scale_ratios(rows, BASELINE)}

    reports = repeat(args.runs, once, lambda r: _print(r, args))
    figures = [summary.scale_headline(r["rows"], r["ratios"]) for r in reports]
    return record.finish_relay(args, reports, figures, "scale", argv)


if __name__ == "__main__":
    raise SystemExit(main())
