"""direkt's chat relay against its baselines, in one run, one after another.

    direkt load compare [--pairs 100] [--window 4] [--seconds 10] [--payload 64] [--json FILE] [--url URL]
                        [--runs N] [--record] [--results DIR]

``bare`` is a Starlette relay with no Redis (the ceiling of the Python stack);
``socketio-redis`` is python-socketio relaying through its Redis manager (what
a Python team would otherwise pick); ``direkt`` is our chat relay (its own
server, or ``--url``). All run under uvicorn with direkt's options and are
driven by the same closed-loop client (``direkt.loadtests.relay``). Ratios are
of msg/s; the goals are direkt ≥ 0.5 × bare and ≥ 3 × socketio-redis (issue 25). Exit
status 1 if any target lost or duplicated a message. ``--runs N``: N whole
runs (every target each time), then the median and spread of msg/s and ratios.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvloop

from direkt.loadtests.relay import RelayTarget, measure_relay

NOISE_CPU_PCT = 20  # other processes' CPU during a measurement worth a warning
GOALS = {"direkt / bare": 0.5, "direkt / socketio-redis": 3.0}


def _direkt_target(url: str | None, pairs: int) -> RelayTarget | None:
    """Imported lazily: the direkt target is written separately and may be missing."""
    try:
        from direkt.loadtests.relay_direkt import DirektTarget  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        print("direkt target not available yet")
        return None
    target: RelayTarget = DirektTarget(url, pairs)
    return target


def _targets(args: argparse.Namespace) -> list[RelayTarget]:
    from direkt.loadtests.relay_bare import BareTarget
    from direkt.loadtests.relay_socketio import SocketIOTarget

    direkt = _direkt_target(args.url, args.pairs)
    return [BareTarget(), SocketIOTarget(), *([direkt] if direkt is not None else [])]


async def _measure_all(targets: list[RelayTarget], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One target at a time, each stopped before the next starts, so they never share the CPU."""
    rows = []
    for target in targets:
        try:
            rows.append(
                await measure_relay(
                    target, pairs=args.pairs, window=args.window, seconds=args.seconds, payload_bytes=args.payload
                )
            )
        finally:
            await target.close()
    return rows


def ratios(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """msg/s of direkt over each baseline; None where a target is missing or delivered nothing."""
    rate = {row["target"]: float(row["throughput_msg_s"]) for row in rows}
    result: dict[str, float | None] = {}
    for name in GOALS:
        top, bottom = name.split(" / ")
        result[name] = rate[top] / rate[bottom] if rate.get(top) is not None and rate.get(bottom) else None
    return result


def _print_report(rows: list[dict[str, Any]], result: dict[str, float | None], args: argparse.Namespace) -> None:
    print(
        f"relay A→B: {args.pairs} pairs, window {args.window}, {args.payload} B payload, {args.seconds:g} s per target"
    )
    print(
        f"{'target':<16} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>6} {'dup':>5}"
        f" {'client CPU':>11} {'server CPU':>11} {'server RSS':>11}"
    )
    for r in rows:
        latency = r["latency_ms"]
        print(
            f"{r['target']:<16} {r['throughput_msg_s']:>9.0f} {latency['p50']:>8.2f} {latency['p99']:>8.2f}"
            f" {latency['max']:>8.2f} {r['lost'] + r['lost_warmup']:>6} {r['duplicated']:>5}"
            f" {r['client_cpu_pct']:>10.0f}% {r['server_cpu_pct']:>10.0f}% {r['server_rss_mb']:>8.0f} MB"
        )
    for r in rows:
        if r["other_cpu_pct"] > NOISE_CPU_PCT:
            print(f"note: other processes used {r['other_cpu_pct']:.0f}% CPU while {r['target']} was measured")
    for name, value in result.items():
        goal = GOALS[name]
        verdict = "n/a" if value is None else f"{value:.3f}  ({'met' if value >= goal else 'NOT met'})"
        print(f"{name:<24} {verdict}   goal ≥ {goal:g}")


def main(argv: Sequence[str] | None = None) -> int:
    from direkt.loadtests import record, summary
    from direkt.loadtests.load import add_record_options, repeat

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="direkt load compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--window", type=int, default=4, help="messages in flight per pair")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--payload", type=int, default=64, help="payload bytes per message")
    parser.add_argument("--json", type=Path, help="write the rows and ratios here")
    parser.add_argument("--url", help="a running direkt server (default: start one)")
    add_record_options(parser)
    args = parser.parse_args(argv)

    def once() -> dict[str, Any]:
        rows = uvloop.run(_measure_all(_targets(args), args))
        return {"rows": rows, "ratios": ratios(rows), "goals": GOALS}

    reports = repeat(args.runs, once, lambda r: _print_report(r["rows"], r["ratios"], args))
    figures = [summary.compare_headline(r["rows"], r["ratios"]) for r in reports]
    return record.finish_relay(args, reports, figures, "compare", argv, extra={"goals": GOALS})


if __name__ == "__main__":
    raise SystemExit(main())
