"""Adding up the client processes' results into the report, and its plot."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from direkt.loadtests.hist import Latency, Timeline
from direkt.loadtests.ledger import Totals
from direkt.loadtests.sampler import Sample

HEADLINE = {
    "waiting-room": "arrival → first position",
    "chat": "citizen → nurse, from the scheduled send time",
    "reconnect-storm": "drop → resumed (synced)",
    "calls": "scheduled call start → connected on both sides",
    "flood": "citizen → nurse, from the scheduled send time (every chat, the flooders' too)",
}


def merge(
    scenario: str, results: list[dict[str, Any]], samples: list[Sample], memory: dict[str, Any]
) -> dict[str, Any]:
    latency, timeline = Latency(), Timeline(0.0)
    extra: dict[str, Latency] = {}
    totals, errors, counters, setup = Totals(), Counter[str](), Counter[str](), Counter[str]()
    for r in results:
        latency.add(Latency.decode(r["latency"]))
        for name, data in r["extra"].items():
            extra.setdefault(name, Latency()).add(Latency.decode(data))
        timeline.merge(r["timeline"])
        totals.add(Totals(**r["ledger"]))
        errors.update(r["errors"])
        counters.update(r["counters"])
        for k, v in r["setup"].items():
            setup[k] = max(setup[k], v) if k.endswith("_s") else setup[k] + v
    duration = max((r["phase_s"] for r in results), default=0.0)
    messages = messages_of(scenario, totals, counters, latency)
    return {
        "scenario": scenario,
        "duration_s": round(duration, 2),
        "messages": messages,
        "throughput_msg_s": round(messages / duration, 1) if duration else 0.0,
        "latency_ms": latency.summary(),
        "latency_what": HEADLINE[scenario],
        "latency_clamped": latency.clamped,
        "errors": sum(errors.values()),
        "errors_by_code": dict(errors),
        "error_examples": {k: v for r in results for k, v in r.get("examples", {}).items()},
        "lost": totals.lost,
        "duplicated": totals.duplicated,
        "unacked": totals.unacked,
        "out_of_order": totals.out_of_order,
        "ledger": totals.as_dict(),
        "other_latency_ms": {name: lat.summary() | {"count": lat.count} for name, lat in sorted(extra.items())},
        "counters": dict(counters),
        "setup": dict(setup),
        **server_figures(samples, memory),
        "timeline": timeline.rows(),
    }


def messages_of(scenario: str, totals: Totals, counters: Counter[str], latency: Latency) -> int:
    if scenario == "waiting-room":
        return int(counters["positions_in_phase"])
    if scenario == "calls":
        return latency.count
    return totals.delivered


def server_figures(samples: list[Sample], memory: dict[str, Any]) -> dict[str, Any]:
    if not samples:
        return {"server_rss_mb": None, "server_cpu_pct": None, **memory, "server_samples": []}
    return {
        "server_rss_mb": round(max(s.hub_rss_mb for s in samples), 1),
        "server_cpu_pct": round(sum(s.hub_cpu_pct for s in samples) / len(samples), 1),
        "server_cpu_pct_max": round(max(s.hub_cpu_pct for s in samples), 1),
        "redis_rss_mb": round(max(s.redis_rss_mb for s in samples), 1),
        "redis_cpu_pct": round(sum(s.redis_cpu_pct for s in samples) / len(samples), 1),
        "clients_cpu_pct": round(sum(s.clients_cpu_pct for s in samples) / len(samples), 1),
        **memory,
        "server_samples": [
            {
                "t": round(s.t - samples[0].t, 2),
                "cpu": s.hub_cpu_pct,
                "rss_mb": round(s.hub_rss_mb, 1),
                "redis_cpu": s.redis_cpu_pct,
                "clients_cpu": s.clients_cpu_pct,
            }
            for s in samples
        ],
    }


def print_report(r: dict[str, Any]) -> None:
    lat = r["latency_ms"]
    print(f"{r['scenario']}: {r['duration_s']} s, {r['messages']} messages, {r['throughput_msg_s']} msg/s")
    print(f"  latency ({r['latency_what']}):")
    print("    " + "  ".join(f"{name} {lat[name]:.2f}" for name in ("p50", "p90", "p99", "p999", "max")) + " ms")
    for name, other in r["other_latency_ms"].items():
        print(f"  {name}: p50 {other['p50']:.2f}  p99 {other['p99']:.2f}  max {other['max']:.2f} ms ({other['count']})")
    quiet, flooded = r["other_latency_ms"].get("quiet"), r["other_latency_ms"].get("flood")
    if quiet and flooded and quiet["p50"] and quiet["p99"]:
        p50, p99 = flooded["p50"] / quiet["p50"], flooded["p99"] / quiet["p99"]
        print(f"  the other chats during the flood against before it: p50 × {p50:.2f}, p99 × {p99:.2f}")
    print(f"  errors {r['errors']} {r['errors_by_code'] or ''}  lost {r['lost']}  duplicated {r['duplicated']}")
    print(f"  unacked {r['unacked']}  out of order {r['out_of_order']}  set-up errors {r.get('setup_errors', 0)}")
    if r.get("server_rss_mb") is not None:
        cpu = f"CPU mean {r['server_cpu_pct']} %, max {r['server_cpu_pct_max']} %"
        print(f"  server: RSS max {r['server_rss_mb']} MB, {cpu}")
        print(f"  redis: RSS {r['redis_rss_mb']} MB, CPU mean {r['redis_cpu_pct']} %")
        print(f"  load clients: CPU mean {r.get('clients_cpu_pct', 0.0)} % (same machine)")
    if r.get("sockets"):
        per = r.get("per_socket_kib")
        print(f"  sockets {r['sockets']}" + (f", server memory per socket {per} KiB" if per is not None else ""))
    print(f"  set-up: {r['setup']}  counters: {r['counters']}")


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, samples = report["timeline"], report.get("server_samples") or []
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    title = f"direkt load {report['scenario']}: {report['throughput_msg_s']} msg/s"
    fig.suptitle(f"{title}, p99 {report['latency_ms']['p99']:.1f} ms, lost {report['lost']}, errors {report['errors']}")
    ax1.plot([r["t"] for r in rows], [r["p50"] for r in rows], label="p50")
    ax1.plot([r["t"] for r in rows], [r["p99"] for r in rows], label="p99")
    ax1.set_ylabel(f"latency ms\n({report['latency_what']})")
    ax1.legend()
    ax2.bar([r["t"] for r in rows], [r["messages"] for r in rows], width=0.9)
    ax2.set_ylabel("per second")
    if samples:
        ax3.plot([s["t"] for s in samples], [s["cpu"] for s in samples], label="hub CPU %")
        ax3.plot([s["t"] for s in samples], [s["redis_cpu"] for s in samples], label="redis CPU %")
        ax3.plot([s["t"] for s in samples], [s.get("clients_cpu", 0) for s in samples], label="load clients CPU %")
        twin = ax3.twinx()
        twin.plot([s["t"] for s in samples], [s["rss_mb"] for s in samples], color="grey", label="hub RSS MB")
        twin.set_ylabel("RSS MB")
        ax3.legend(loc="upper left")
    ax3.set_xlabel("seconds into the measured phase")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
