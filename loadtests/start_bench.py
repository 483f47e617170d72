"""How much a server start costs: ``direkt serve`` against the bare stack, in the same run.

    direkt bench start [--rounds 5] [--json FILE]

Each round starts, one after the other in alternating order, (a) uvicorn
serving the bare Starlette echo app (``direkt.loadtests.echo_app``) with
``direkt serve``'s options, the floor of the Python stack, and (b) ``direkt
serve --no-demo`` with a small generated region, on one embedded Redis
started once for the run (its start is not counted). A warm-up start of each
comes first: direkt's first start on a data folder walks every triage path
(about 18 s, then cached per knowledge-base version), so the rounds measure
a restart, as a deployed node has. Each is timed from
launch to its first answer (the echo app's 404 on ``/``, direkt's 200 on
``/readyz``); the server process's CPU (user + system) and memory are read
at that moment, then it is stopped. Prints the medians, their spread and
direkt/bare ratios.

A start matters where many happen: a rolling restart of a region's nodes,
an autoscaler's new process under a storm, and ``make test``, which starts
about 150 servers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
import psutil

from direkt.loadtests.fleet import DIRECT, free_port, region_toml
from direkt.loadtests.relay import uvicorn_command
from direkt.server.redis.embedded import EmbeddedRedis

READY_WITHIN_S = 60.0
POLL_S = 0.01  # the poller's own CPU is not the server's: psutil reads the server process alone


@dataclass(frozen=True)
class Start:
    target: str
    ready_s: float  # launch to first answer, wall clock
    cpu_s: float  # the server process's user + system CPU then
    rss_mb: float


def bare_command(port: int) -> list[str]:
    return uvicorn_command(port, "direkt.loadtests.echo_app:app")


def direkt_command(port: int) -> list[str]:
    return [sys.executable, "-m", "direkt.server.cli", "serve", "--port", str(port), "--no-demo", "--workers", "1"]


def start_once(target: str, base: Path, redis_url: str, *, triage_check: bool = True) -> Start:
    """Launch one server, wait for its first answer, measure it, stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
    env |= {
        "REDIS_URL": redis_url, "DIREKT_REGION_CONFIG": str(base / "region.toml"),
        "DIREKT_DATA_DIR": str(base / "data"), "PYTHONSAFEPATH": "1",
        "DIREKT_TRIAGE_VALIDATE": "1" if triage_check else "0",
    }  # fmt: skip
    command = direkt_command(port) if target == "direkt" else bare_command(port)
    url = f"http://127.0.0.1:{port}" + ("/readyz" if target == "direkt" else "/")
    log = base / f"{target}.log"  # a file, not a pipe: a pipe nobody reads can fill and stall the server
    began = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own command
            command, env=env, stdout=subprocess.DEVNULL, stderr=output, start_new_session=True
        )
    try:
        proc = psutil.Process(process.pid)
        wait_for_answer(process, url, began + READY_WITHIN_S, log)
        ready = time.monotonic() - began
        times, rss = proc.cpu_times(), proc.memory_info().rss
        return Start(target, ready, times.user + times.system, rss / 2**20)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_answer(process: subprocess.Popen[bytes], url: str, deadline: float, log: Path) -> None:
    """Until ``url`` answers (any HTTP status but 503); raises if the server died or took too long."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited ({process.returncode}) before answering:\n{error}")
        try:
            with DIRECT.open(url, timeout=2):
                return
        except urllib.error.HTTPError as exc:
            if exc.code != 503:  # 503: direkt is up but not ready yet
                return
        except OSError:
            pass
        time.sleep(POLL_S)
    raise RuntimeError(f"no answer from {url} within {READY_WITHIN_S:.0f} s")


def run(rounds: int, *, triage_check: bool = True) -> list[Start]:
    starts: list[Start] = []
    with tempfile.TemporaryDirectory(prefix="dk-bench-start-", dir="/tmp") as tmp:
        base = Path(tmp)
        (base / "region.toml").write_text(region_toml(10, 5, 2), encoding="utf-8")
        redis = EmbeddedRedis(str(base / "redis")).start()
        try:
            for target in ("bare", "direkt"):  # warm the page cache: the first start of each reads every file
                start_once(target, base, redis.url, triage_check=triage_check)
            for i in range(rounds):
                for target in ("bare", "direkt") if i % 2 == 0 else ("direkt", "bare"):
                    starts.append(start_once(target, base, redis.url, triage_check=triage_check))
        finally:
            redis.stop()
    return starts


def summary(starts: Sequence[Start]) -> dict[str, dict[str, float]]:
    """Median, min and max of each measure per target, and direkt/bare ratios of the medians."""
    out: dict[str, dict[str, float]] = {}
    for target in ("bare", "direkt"):
        mine = [s for s in starts if s.target == target]
        out[target] = {}
        for measure in ("ready_s", "cpu_s", "rss_mb"):
            values = [getattr(s, measure) for s in mine]
            out[target] |= {measure: statistics.median(values), f"{measure}_min": min(values),
                            f"{measure}_max": max(values)}  # fmt: skip
    out["direkt / bare"] = {m: out["direkt"][m] / out["bare"][m] for m in ("ready_s", "cpu_s", "rss_mb")}
    return out


def report(table: dict[str, dict[str, float]], rounds: int) -> str:
    lines = [
        f"server start, launch to first answer: {rounds} rounds, alternating; {os.cpu_count()} CPUs",
        f"{'target':<14} {'ready s':>16} {'CPU s':>16} {'RSS MB':>16}",
    ]
    for target in ("bare", "direkt"):
        row = table[target]
        cells = [f"{row[m]:.2f} ({row[m + '_min']:.2f}-{row[m + '_max']:.2f})" for m in ("ready_s", "cpu_s", "rss_mb")]
        lines.append(f"{target:<14} " + " ".join(f"{c:>16}" for c in cells))
    ratio = table["direkt / bare"]
    lines.append(f"{'direkt / bare':<14} " + " ".join(f"{ratio[m]:>16.2f}" for m in ("ready_s", "cpu_s", "rss_mb")))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="direkt bench start", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write every start and the summary as JSON")
    parser.add_argument(
        "--no-triage-check", action="store_true", help="skip direkt's check of the triage paths even on its first start"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    starts = run(args.rounds, triage_check=not args.no_triage_check)
    table = summary(starts)
    print(report(table, args.rounds))
    if args.json:
        data = {"starts": [asdict(s) for s in starts], "summary": table}
        args.json.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
