"""Repeated load runs summed up: each run's headline figures, their median and spread, and the record of them.

Pure: no clock, no files, no processes. ``direkt load … --runs N`` prints the
summary of N whole runs one after another; ``--record`` writes the record
(``loadtests/record.py`` adds the machine, the commit and the file). One
run's figures on a shared two-core machine differ by about 10 % from the next
(see README, "Load tests"), so a single figure proves little: the median of
three says what is typical and the min–max spread says how far to trust it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

Figures = dict[str, float | None]  # one run's headline figures, in print order; None: not measured in that run


def _latency(report: Mapping[str, Any], name: str) -> float | None:
    value = (report.get("latency_ms") or {}).get(name)
    return None if value is None else float(value)


def _number(report: Mapping[str, Any], name: str) -> float | None:
    value = report.get(name)
    return None if value is None else float(value)


def _safety(report: Mapping[str, Any]) -> Figures:
    """Counts that must be zero in every run: shown in every summary, so that a median never hides a loss."""
    return {
        "errors": float(report.get("errors", 0) + report.get("setup_errors", 0)),
        "lost": _number(report, "lost"),
        "duplicated": _number(report, "duplicated"),
    }


def scenario_headline(report: Mapping[str, Any]) -> Figures:
    """The figures of one ``direkt load SCENARIO`` report that the README quotes for that scenario."""
    scenario = report.get("scenario")
    if scenario == "reconnect-storm":
        slowest = _latency(report, "max")
        return {
            "resume s (drop → all synced)": None if slowest is None else slowest / 1000,
            "resume p50 s": None if _latency(report, "p50") is None else float(report["latency_ms"]["p50"]) / 1000,
            **_safety(report),
            "KiB per socket": _number(report, "per_socket_kib"),
            "server CPU %": _number(report, "server_cpu_pct"),
        }
    if scenario == "waiting-room":
        return {
            "KiB per socket": _number(report, "per_socket_kib"),
            "first position p50 ms": _latency(report, "p50"),
            "first position p99 ms": _latency(report, "p99"),
            "first position max ms": _latency(report, "max"),
            **_safety(report),
            "server CPU %": _number(report, "server_cpu_pct"),
        }
    return {  # chat, calls, flood: the headline latency and the throughput
        "msg/s": _number(report, "throughput_msg_s"),
        "p50 ms": _latency(report, "p50"),
        "p99 ms": _latency(report, "p99"),
        **_safety(report),
        "server CPU %": _number(report, "server_cpu_pct"),
    }


def compare_headline(rows: Sequence[Mapping[str, Any]], ratios: Mapping[str, float | None]) -> Figures:
    """msg/s of every target of ``direkt load compare`` and the ratios between them."""
    figures: Figures = {f"{row['target']} msg/s": float(row["throughput_msg_s"]) for row in rows}
    figures |= {name: value for name, value in ratios.items()}
    return figures | _relay_checks(rows)


def _relay_checks(rows: Sequence[Mapping[str, Any]]) -> Figures:
    """What must be zero, and how busy the rest of the machine was (a run beside other work proves little)."""
    return {
        "lost": float(sum(row["lost"] + row["lost_warmup"] for row in rows)),
        "duplicated": float(sum(row["duplicated"] for row in rows)),
        "other processes CPU % (max)": max((float(row.get("other_cpu_pct", 0.0)) for row in rows), default=0.0),
    }


def scale_ratios(rows: Sequence[Mapping[str, Any]], baseline: str) -> dict[str, float | None]:
    """msg/s of every set-up of ``direkt load scale`` over the baseline's; None where the baseline delivered nothing."""
    rate = {str(row["target"]): float(row["throughput_msg_s"]) for row in rows}
    base = rate.get(baseline)
    return {
        f"{name} / {baseline}": (value / base if base else None) for name, value in rate.items() if name != baseline
    }


def scale_headline(rows: Sequence[Mapping[str, Any]], ratios: Mapping[str, float | None]) -> Figures:
    """msg/s, p99 and CPU per message of every set-up, the ratios against the first, and what must stay zero."""
    figures: Figures = {}
    for row in rows:
        figures[f"{row['target']} msg/s"] = float(row["throughput_msg_s"])
        figures[f"{row['target']} p99 ms"] = float(row["latency_ms"]["p99"])
        cost = row.get("cpu_ms_per_msg") or {}  # steadier than msg/s on a shared machine: the estimate's input
        figures[f"{row['target']} server CPU ms/msg"] = cost.get("server")
        figures[f"{row['target']} Redis CPU ms/msg"] = cost.get("redis")
    figures |= dict(ratios)
    return figures | _relay_checks(rows)


def cpu_ms_per_message(cpu_pct: Mapping[str, float], msg_s: float) -> dict[str, float | None]:
    """CPU milliseconds per relayed message, servers and Redis apart, from CPU % of one core by process name.

    The unit a capacity estimate scales by: it does not depend on how much
    of the machine the load clients took, only on what a message cost.
    """
    if msg_s <= 0:
        return {"server": None, "redis": None}
    server = sum(v for k, v in cpu_pct.items() if not k.startswith("redis"))
    redis = sum(v for k, v in cpu_pct.items() if k.startswith("redis"))
    return {"server": 10 * server / msg_s, "redis": 10 * redis / msg_s}  # (pct / 100) / msg_s * 1000


PEAK_MSG_S = 50_000  # the national peak the issue asks about: 50k msg/s over 100k sockets
PEAK_SOCKETS = 100_000


def peak_estimate(
    server_ms: float, redis_ms: float, *, msg_s: float = PEAK_MSG_S, busy: float = 0.6, cores_per_node: int = 2
) -> dict[str, float]:
    """Cores, nodes and Redis shards for ``msg_s`` at ``busy`` load, by proportion (a paper estimate).

    A Redis shard is one core (Redis runs commands on one thread); a node has
    ``cores_per_node`` server processes. Assumes the cost per message stays
    as measured, which the scale run's ratios check as far as one machine can.
    """
    server_cores = msg_s * server_ms / 1000 / busy
    redis_cores = msg_s * redis_ms / 1000 / busy
    return {
        "server_cores": server_cores,
        "nodes": math.ceil(server_cores / cores_per_node),
        "redis_shards": max(1, math.ceil(redis_cores)),
    }


def summarise(runs: Sequence[Figures]) -> dict[str, dict[str, float | int | None]]:
    """Per figure: median, min, max over the runs that measured it, and how many did.

    A figure missing from some runs (a target that was not available) is
    summarised over the others; one measured by none has median None.
    """
    names: list[str] = []
    for run in runs:
        names += [name for name in run if name not in names]
    summary: dict[str, dict[str, float | int | None]] = {}
    for name in names:
        values = [v for run in runs if (v := run.get(name)) is not None and math.isfinite(v)]
        summary[name] = {
            "median": statistics.median(values) if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "runs": len(values),
        }
    return summary


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.2f}" if magnitude >= 1 else f"{value:.3f}"


def median_spread(stat: Mapping[str, float | int | None]) -> str:
    """``12,345 (11,900–12,700)``; the spread is left out when every run gave the same figure."""
    median, low, high = stat.get("median"), stat.get("min"), stat.get("max")
    if median is None:
        return "n/a"
    if low == high:
        return _fmt(median)
    return f"{_fmt(median)} ({_fmt(low)}–{_fmt(high)})"


def summary_lines(summary: Mapping[str, Mapping[str, float | int | None]]) -> list[str]:
    """The printed summary: one figure a line, median and (min–max)."""
    if not summary:
        return []
    runs = max((int(s["runs"] or 0) for s in summary.values()), default=0)
    width = max(len(name) for name in summary)
    lines = [f"summary of {runs} runs: median (min–max)"]
    lines += [f"  {name:<{width}}  {median_spread(stat)}" for name, stat in summary.items()]
    return lines


def record_name(when: dt.datetime, scenario: str) -> str:
    """``20261207T031500Z-chat.json``: sorts by time, says what ran; the scenario cleaned for a file name."""
    stamp = when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{re.sub(r'[^a-z0-9-]+', '-', scenario.lower()).strip('-')}.json"


def record(
    *,
    scenario: str,
    command: str,
    when: dt.datetime,
    git: Mapping[str, Any],
    machine: Mapping[str, Any],
    runs: Sequence[Any],
    figures: Sequence[Figures],
) -> dict[str, Any]:
    """One invocation's record: enough to run it again and to see whether the figures held."""
    return {
        "scenario": scenario,
        "command": command,
        "date": when.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "git": dict(git),
        "machine": dict(machine),
        "runs": list(runs),
        "headline": list(figures),
        "summary": summarise(figures),
    }


README_HEADER = (
    "# Recorded load runs\n\n"
    "One line per `direkt load … --record` invocation; the JSON file beside it holds every run's full report,\n"
    "the machine and the exact command. Figures: median (min–max) over the invocation's runs.\n\n"
    "| date (UTC) | commit | command | runs | median (spread) | file |\n"
    "|---|---|---|---|---|---|\n"
)


SAFETY_FIGURES = ("errors", "lost", "duplicated")


def readme_row(rec: Mapping[str, Any], file_name: str, limit: int = 6) -> str:
    """One table line for ``loadtests/results/README.md``: the first ``limit`` headline figures.

    Errors, lost and duplicated (where measured) always follow them, wherever
    they stand in the headline: a row must never hide a loss.
    """
    summary: Mapping[str, Mapping[str, float | int | None]] = rec["summary"]
    shown = [name for name in summary if name not in SAFETY_FIGURES][:limit]
    shown += [name for name in SAFETY_FIGURES if name in summary]
    figures = "; ".join(f"{name} {median_spread(summary[name])}" for name in shown)
    commit = str(rec["git"].get("commit", "?"))[:10] + (" (dirty)" if rec["git"].get("dirty") else "")
    command = str(rec["command"]).replace("|", "\\|")
    return f"| {rec['date']} | {commit} | `{command}` | {len(rec['runs'])} | {figures} | {file_name} |\n"
