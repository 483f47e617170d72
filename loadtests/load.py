"""``direkt load``: scripted citizens and nurses against a server, and a report you can trust.

    direkt load SCENARIO [--url URL] [--citizens N] [--nurses M] [--chats K] [--rate R]
                         [--duration S] [--procs P] [--json FILE] [--plot FILE.png]
    direkt load compare [...]       the chat relay against a bare WebSocket relay and python-socketio+Redis
    direkt load scale [...]         the chat relay on 1 and 2 server processes and on a 3-master Redis Cluster
    direkt load region --nurses M   the region file to run an external server with

Without ``--url`` it starts ``direkt serve`` with the embedded Redis and a
generated load region, and samples that server's CPU and memory. Client
processes (``--procs``) each run a share of the users; they set up, then
start the measured phase together. Exit status 1 when a message was lost or
duplicated or an error occurred; 2 when a client process died (the others and
the server are stopped at once).

``--runs N`` makes N whole runs one after another and prints the median and
spread of the headline figures; ``--record`` writes every run's report, the
command, the commit and the machine to ``loadtests/results/`` (``--results``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import orjson

from direkt.loadtests import record, summary
from direkt.loadtests.fleet import LocalServer, region_toml, unit_id
from direkt.loadtests.report import merge, plot, print_report
from direkt.loadtests.sampler import Sampler
from direkt.loadtests.scenarios import SCENARIOS, Spec

T = TypeVar("T")
SOCKETS_PER_PROCESS = 6000  # well under the usual 20k descriptor limit, and one core's worth of clients
DEFAULTS: dict[str, dict[str, float]] = {
    "waiting-room": {
        "citizens": 200,
        "nurses": 4,
        "chats": 1,
        "rate": 0,
        "arrival_rate": 50,
        "claim_rate": 1,
        "duration": 10,
    },
    "chat": {"citizens": 0, "nurses": 20, "chats": 5, "rate": 200, "arrival_rate": 0, "claim_rate": 0, "duration": 10},
    "reconnect-storm": {
        "citizens": 200,
        "nurses": 20,
        "chats": 5,
        "rate": 100,
        "arrival_rate": 0,
        "claim_rate": 0,
        "duration": 8,
    },
    "calls": {"citizens": 0, "nurses": 10, "chats": 1, "rate": 5, "arrival_rate": 0, "claim_rate": 0, "duration": 10},
    "flood": {"citizens": 0, "nurses": 10, "chats": 5, "rate": 100, "arrival_rate": 0, "claim_rate": 0, "duration": 15},
}


def positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text!r}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="direkt load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument("--url", help="a running server (default: start one with the embedded Redis)")
    p.add_argument("--citizens", type=positive(int), help="waiting-room, reconnect-storm: citizens")
    p.add_argument("--nurses", type=positive(int))
    p.add_argument("--chats", type=positive(int), help="parallel chats per nurse (1-12)")
    p.add_argument("--rate", type=positive(float), help="chat, storm: messages/s in all; calls: call set-ups/s")
    p.add_argument("--arrival-rate", type=positive(float), help="citizens arriving per second (0: as fast as possible)")
    p.add_argument("--claim-rate", type=positive(float), help="waiting-room: cases taken per second")
    p.add_argument("--duration", type=positive(float), help="seconds of the measured phase")
    p.add_argument("--size", type=positive(int), default=60, help="chat message length in characters")
    p.add_argument("--procs", type=positive(int), help="client processes (default: one per 6,000 sockets)")
    p.add_argument("--concurrency", type=positive(int), default=200, help="set-up steps in flight per process")
    p.add_argument("--server-workers", type=positive(int), default=1, help="self-started server: uvicorn workers")
    p.add_argument(
        "--redis", choices=("embedded", "cluster"), default="embedded",
        help="self-started server: its embedded Redis, or a 3-master Redis Cluster from the same binary "
        "(its CPU is not sampled)",
    )  # fmt: skip
    p.add_argument("--server-pid", type=int, help="with --url: the server's pid, to sample its CPU and memory")
    p.add_argument("--json", type=Path, help="write the report here")
    p.add_argument("--plot", type=Path, help="write a PNG of latency, throughput, CPU and memory over time")
    add_record_options(p)
    return p


def add_record_options(p: argparse.ArgumentParser) -> None:
    """``--runs``, ``--record``, ``--results``: shared by every ``direkt load`` command that measures."""
    p.add_argument("--runs", type=at_least_one, default=1, help="whole runs one after another; prints median, spread")
    p.add_argument("--record", action="store_true", help="write the figures and the exact command to --results")
    p.add_argument("--results", type=Path, default=record.DEFAULT_DIR, help="where --record writes (%(default)s)")


def at_least_one(text: str) -> int:
    value = positive(int)(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return int(value)


def options(args: argparse.Namespace) -> dict[str, Any]:
    chosen = dict(DEFAULTS[args.scenario])
    for name in chosen:
        value = getattr(args, name)
        if value is not None:
            chosen[name] = value
    chosen["nurses"], chosen["chats"] = int(chosen["nurses"]), int(chosen["chats"])
    if not 1 <= chosen["chats"] <= 12:
        raise SystemExit("direkt load: --chats must be between 1 and 12 (a nurse's parallel chats)")
    if args.scenario in ("chat", "calls", "flood"):
        chosen["citizens"] = chosen["nurses"] * chosen["chats"]
    chosen["citizens"] = int(
        max(chosen["citizens"], chosen["nurses"] * chosen["chats"] if args.scenario == "reconnect-storm" else 0)
    )
    if (chosen["citizens"] == 0 and args.scenario != "waiting-room") or (
        chosen["nurses"] == 0 and args.scenario != "waiting-room"
    ):
        raise SystemExit("direkt load: this scenario needs at least one nurse")
    return chosen


def split(args: argparse.Namespace, o: dict[str, Any], url: str, procs: int) -> list[Spec]:
    """Each process gets every ``procs``-th nurse, their chats, a share of the citizens and of the rates."""
    specs, offset = [], 0
    for s in range(procs):
        nurses = list(range(s, o["nurses"], procs))
        citizens = o["citizens"] // procs + (s < o["citizens"] % procs)
        citizens = max(citizens, len(nurses) * o["chats"] if args.scenario != "waiting-room" else 0)
        share = (len(nurses) / o["nurses"]) if o["nurses"] and args.scenario != "waiting-room" else 1 / procs
        specs.append(Spec(
            scenario=args.scenario, url=url, citizens=citizens, nurses=nurses, unit=unit_id(s), chats=o["chats"],
            rate=o["rate"] * share, duration=o["duration"], size=args.size, arrival_rate=o["arrival_rate"] / procs,
            claim_rate=o["claim_rate"] / procs, concurrency=args.concurrency, pnr_offset=offset,
        ))  # fmt: skip
        offset += citizens
    return specs


class ShardDied(RuntimeError):
    """A client process ended before it said what the coordinator waited for."""


class Shard:
    """A client process and its protocol lines."""

    def __init__(self, spec: Spec) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "direkt.loadtests.shard"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdin is not None
        self.process.stdin.write(orjson.dumps(asdict(spec)) + b"\n")
        self.process.stdin.flush()

    def read(self, tag: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode()
            if line.startswith(tag + " "):
                data: dict[str, Any] = orjson.loads(line[len(tag) + 1 :])
                return data
        code = self.process.wait()
        raise ShardDied(f"client process {self.process.pid} ended before {tag} (exit status {code}; see its stderr)")

    def kill(self) -> None:
        """Stop it at once (a run that failed has nothing to wait for); idempotent."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError, ValueError):
                    pipe.close()

    def go(self, t0: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"GO {t0}\n".encode())
        self.process.stdin.flush()


def run(args: argparse.Namespace) -> dict[str, Any]:
    o = options(args)
    sockets = o["citizens"] + o["nurses"]
    procs = args.procs or max(1, math.ceil(sockets / SOCKETS_PER_PROCESS))
    server = None
    fleet = cluster(args)
    shards: list[Shard] = []
    try:
        if args.url is None:
            where = "a 3-master Redis Cluster" if fleet else "embedded Redis"
            print(f"starting direkt serve ({where}, {o['nurses']} load nurses, {procs} units)", file=sys.stderr)
            env = {"REDIS_URL": fleet.url} if fleet else {}
            server = LocalServer.start(
                nurses=o["nurses"], max_chats=o["chats"], citizens=o["citizens"], units=procs,
                workers=args.server_workers, **env,
            )  # fmt: skip
        url = args.url or server.url  # type: ignore[union-attr]
        sampler = Sampler(server.process.pid if server else args.server_pid)
        idle = sampler.snapshot()
        for spec in split(args, o, url, procs):
            shards.append(Shard(spec))
        sampler.client_pids = [s.process.pid for s in shards]
        started = time.monotonic()
        ready = parallel([lambda s=s: s.read("READY") for s in shards])
        print(
            f"set up in {time.monotonic() - started:.1f} s: {sum(r['sockets'] for r in ready)} sockets", file=sys.stderr
        )
        settled = settle(sampler)
        connected = sampler.snapshot()
        t0 = time.monotonic() + 0.5
        for s in shards:
            s.go(t0)
        time.sleep(max(0.0, t0 - time.monotonic()))
        sampler.start()
        cluster_before = (time.monotonic(), fleet.usage()) if fleet else None
        results = parallel([lambda s=s: s.read("RESULT") for s in shards])
        samples = sampler.stop()
        cluster_cpu = cluster_figures(cluster_before, fleet.usage()) if fleet and cluster_before else None
        for s in shards:
            s.process.wait(30)
    except BaseException:
        for s in shards:  # a shard that died, or Ctrl-C: the others would set up (minutes) for nothing
            s.kill()
        raise
    finally:
        if server is not None:
            server.stop()
        if fleet is not None:
            fleet.stop()
    open_sockets = sum(r["sockets"] for r in ready)
    memory = {
        "sockets": open_sockets,
        "server_rss_idle_mb": round(idle.hub_rss_mb, 1),
        "server_rss_connected_mb": round(connected.hub_rss_mb, 1),
        "per_socket_kib": round((connected.hub_rss_mb - idle.hub_rss_mb) * 1024 / open_sockets, 1)
        if open_sockets and sampler.root_pid
        else None,
    }
    report = merge(args.scenario, results, samples, memory)
    report["setup_errors"] = sum(sum(r["errors"].values()) for r in ready)
    if cluster_cpu is not None:
        report |= cluster_cpu
    report["setup"]["settle_s"] = settled
    report["config"] = {**o, "procs": procs, "size": args.size, "url": args.url or "self-started",
                        "server_workers": args.server_workers, "redis": args.redis}  # fmt: skip
    return report


def cluster_figures(
    before: tuple[float, list[tuple[float, float]]], after: list[tuple[float, float]]
) -> dict[str, Any]:
    """The cluster's CPU over the measured phase and RSS at its end, per node and in all (the sampler's
    ``redis_*`` figures cover only a Redis that is the server's child)."""
    wall = max(time.monotonic() - before[0], 1e-9)
    each = [round(100 * (cpu1 - cpu0) / wall, 1) for (cpu0, _), (cpu1, _) in zip(before[1], after, strict=False)]
    rss = round(sum(r for _, r in after), 1)
    return {"redis_cpu_pct": round(sum(each), 1), "redis_cpu_pct_each": each, "redis_rss_mb": rss}


def cluster(args: argparse.Namespace) -> Any:
    """The started 3-master cluster for ``--redis cluster`` (a self-started server only), else None."""
    if args.redis != "cluster":
        return None
    if args.url is not None:
        raise SystemExit("direkt load: --redis cluster is for the server it starts itself, not with --url")
    from direkt.loadtests.scale import RedisFleet

    fleet = RedisFleet(3)
    fleet.start()
    return fleet


def settle(sampler: Sampler, quiet_pct: float = 40.0, longest_s: float = 120.0) -> float:
    """Wait until the server has worked off the set-up (claims, notices, queue events); returns the wait.

    Without this the first seconds of the measured phase carry the set-up's
    backlog (seen: 10 s at 100 % CPU after a thousand claims) and the figures
    mix two loads.
    """
    if sampler.root_pid is None:
        return 0.0
    started = time.monotonic()
    sampler.snapshot()
    quiet = 0
    while quiet < 2 and time.monotonic() - started < longest_s:
        time.sleep(0.5)
        quiet = quiet + 1 if sampler.snapshot().hub_cpu_pct < quiet_pct else 0
    return round(time.monotonic() - started, 1)


def parallel(jobs: list[Any]) -> list[Any]:
    """Run blocking reads side by side (one per client process); the first failure is raised at once.

    Not after the other jobs end: those are the other shards' set-ups, which
    take minutes at 10,000 sockets (a dead shard once left the run hanging
    9 minutes). The caller stops the processes, which ends the blocked reads;
    the threads are daemons, so none of them can keep the program alive.
    """
    out: list[Any] = [None] * len(jobs)
    done: queue.Queue[BaseException | None] = queue.Queue()

    def one(i: int) -> None:
        try:
            out[i] = jobs[i]()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            done.put(exc)
        else:
            done.put(None)

    for i in range(len(jobs)):
        threading.Thread(target=one, args=(i,), daemon=True).start()
    for _ in jobs:
        error = done.get()
        if error is not None:
            raise error
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:
        from direkt.loadtests import compare

        return compare.main(argv[1:])
    if argv[:1] == ["scale"]:
        from direkt.loadtests import scale

        return scale.main(argv[1:])
    if argv[:1] == ["region"]:
        return region_main(argv[1:])
    args = parser().parse_args(argv)
    try:
        reports = repeat(args.runs, lambda: run(args), print_report)
    except ShardDied as exc:
        print(f"direkt load: stopped: {exc}", file=sys.stderr)
        return 2
    figures = [summary.scenario_headline(r) for r in reports]
    stats = summary.summarise(figures)
    if args.runs > 1:
        print("\n".join(summary.summary_lines(stats)))
    if args.json:
        written: Any = reports[0] if args.runs == 1 else {"runs": reports, "summary": stats}
        args.json.write_bytes(orjson.dumps(written, option=orjson.OPT_INDENT_2))
    if args.plot:
        plot(reports[-1], args.plot)
    if args.record:
        record.write(args.results, scenario=args.scenario, argv=argv, runs=reports, figures=figures)
    bad = any(r["lost"] or r["duplicated"] or r["errors"] or r["setup_errors"] for r in reports)
    return 1 if bad else 0


def repeat(runs: int, once: Callable[[], T], show: Callable[[T], object]) -> list[T]:
    """``runs`` whole runs one after another, each shown as it ends."""
    reports = []
    for i in range(runs):
        if runs > 1:
            print(f"--- run {i + 1} of {runs}", flush=True)
        reports.append(once())
        show(reports[-1])
        sys.stdout.flush()
    return reports


def region_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="direkt load region", description="print a load region file (TOML)")
    p.add_argument("--nurses", type=positive(int), default=20)
    p.add_argument("--chats", type=positive(int), default=5)
    p.add_argument("--procs", type=positive(int), default=1, help="the --procs the load runs will use (one unit each)")
    args = p.parse_args(argv)
    sys.stdout.write(region_toml(max(args.nurses, 1), min(max(args.chats, 1), 12), max(args.procs, 1)))
    return 0
