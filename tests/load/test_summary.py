"""The summary of repeated load runs (``direkt.loadtests.summary``): median, spread, headlines, the record.

Pure functions, table-driven: what ``--runs N`` prints and ``--record`` writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from direkt.loadtests import summary


def test_median_and_spread_over_runs() -> None:
    stats = summary.summarise([{"msg/s": 100.0, "lost": 0.0}, {"msg/s": 130.0, "lost": 0.0}, {"msg/s": 90.0}])
    assert stats["msg/s"] == {"median": 100.0, "min": 90.0, "max": 130.0, "runs": 3}
    assert stats["lost"] == {"median": 0.0, "min": 0.0, "max": 0.0, "runs": 2}  # a run that did not measure it


def test_even_number_of_runs_takes_the_mean_of_the_middle_two() -> None:
    assert summary.summarise([{"x": 1.0}, {"x": 2.0}, {"x": 4.0}, {"x": 10.0}])["x"]["median"] == 3.0


def test_a_figure_no_run_measured_has_no_median() -> None:
    stats = summary.summarise([{"direkt / bare": None}, {"direkt / bare": float("nan")}])
    assert stats["direkt / bare"] == {"median": None, "min": None, "max": None, "runs": 0}
    assert summary.median_spread(stats["direkt / bare"]) == "n/a"


def test_figures_keep_the_order_they_were_first_seen_in() -> None:
    assert list(summary.summarise([{"b": 1.0, "a": 2.0}, {"c": 3.0, "a": 1.0}])) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("stat", "text"),
    [
        ({"median": 13637.0, "min": 12900.4, "max": 14100.0}, "13,637 (12,900–14,100)"),
        ({"median": 0.29, "min": 0.27, "max": 0.31}, "0.290 (0.270–0.310)"),
        ({"median": 6.3, "min": 6.3, "max": 6.3}, "6.30"),
        ({"median": 0.0, "min": 0.0, "max": 0.0}, "0"),
        ({"median": 2.5, "min": 1.0, "max": 3.0}, "2.50 (1–3)"),
    ],
)
def test_median_spread_text(stat: dict[str, float], text: str) -> None:
    assert summary.median_spread(stat) == text


def report(scenario: str, **extra: Any) -> dict[str, Any]:
    base = {"scenario": scenario, "throughput_msg_s": 200.0, "latency_ms": {"p50": 0.4, "p99": 2.2, "max": 6300.0},
            "errors": 0, "setup_errors": 1, "lost": 0, "duplicated": 0, "server_cpu_pct": 29.0,
            "per_socket_kib": 33.9}  # fmt: skip
    return base | extra


def test_storm_headline_is_the_time_until_every_socket_resumed() -> None:
    figures = summary.scenario_headline(report("reconnect-storm"))
    assert figures["resume s (drop → all synced)"] == pytest.approx(6.3)
    assert figures["errors"] == 1  # set-up errors count: a socket that never connected never resumed
    assert {"lost", "duplicated", "KiB per socket", "server CPU %"} <= figures.keys()


def test_chat_and_waiting_room_headlines() -> None:
    chat = summary.scenario_headline(report("chat"))
    assert (chat["msg/s"], chat["p50 ms"], chat["p99 ms"]) == (200.0, 0.4, 2.2)
    room = summary.scenario_headline(report("waiting-room", per_socket_kib=None))
    assert room["KiB per socket"] is None  # against --url without --server-pid: not measured
    assert room["first position p99 ms"] == 2.2


def test_compare_headline_has_every_target_and_ratio() -> None:
    rows = [
        {
            "target": "bare",
            "throughput_msg_s": 46331.0,
            "lost": 0,
            "lost_warmup": 0,
            "duplicated": 0,
            "other_cpu_pct": 12.5,
        },
        {"target": "direkt", "throughput_msg_s": 13637.0, "lost": 1, "lost_warmup": 2, "duplicated": 0},
    ]
    figures = summary.compare_headline(rows, {"direkt / bare": 0.29, "direkt / socketio-redis": None})
    assert figures == {"bare msg/s": 46331.0, "direkt msg/s": 13637.0, "direkt / bare": 0.29,
                       "direkt / socketio-redis": None, "lost": 3.0, "duplicated": 0.0,
                       "other processes CPU % (max)": 12.5}  # fmt: skip


def test_scale_ratios_against_the_first_set_up() -> None:
    rows = [
        {"target": "1 proc", "throughput_msg_s": 1000.0, "latency_ms": {"p99": 5.0}},
        {"target": "2 procs", "throughput_msg_s": 1500.0, "latency_ms": {"p99": 4.0}},
        {"target": "2 procs, cluster", "throughput_msg_s": 900.0, "latency_ms": {"p99": 9.0}},
    ]
    ratios = summary.scale_ratios(rows, "1 proc")
    assert ratios == {"2 procs / 1 proc": 1.5, "2 procs, cluster / 1 proc": 0.9}
    assert summary.scale_ratios([{**rows[0], "throughput_msg_s": 0.0}, rows[1]], "1 proc") == {"2 procs / 1 proc": None}
    figures = summary.scale_headline([{**r, "lost": 0, "lost_warmup": 0, "duplicated": 0} for r in rows], ratios)
    assert figures["2 procs, cluster p99 ms"] == 9.0 and figures["lost"] == 0.0
    assert figures["1 proc server CPU ms/msg"] is None  # a row without the CPU split
    with_cost = {
        **rows[0],
        "lost": 0,
        "lost_warmup": 0,
        "duplicated": 0,
        "cpu_ms_per_msg": {"server": 0.1, "redis": 0.04},
    }
    assert summary.scale_headline([with_cost], {})["1 proc Redis CPU ms/msg"] == 0.04


def test_record_and_its_readme_line() -> None:
    when = dt.datetime(2026, 12, 7, 3, 15, 0, tzinfo=dt.UTC)
    figures = [{"msg/s": 100.0, "lost": 0.0}, {"msg/s": 120.0, "lost": 0.0}]
    rec = summary.record(
        scenario="chat", command="direkt load chat --runs 2 | tee", when=when,
        git={"commit": "0123456789abcdef", "dirty": True}, machine={"cores": 2}, runs=[{}, {}], figures=figures,
    )  # fmt: skip
    assert rec["date"] == "2026-12-07T03:15:00+00:00"
    assert rec["summary"]["msg/s"]["median"] == 110.0
    assert summary.record_name(when, "reconnect-storm") == "20261207T031500Z-reconnect-storm.json"
    assert summary.record_name(when, "Scale / 2") == "20261207T031500Z-scale-2.json"
    line = summary.readme_row(rec, "f.json")
    assert line.startswith(
        "| 2026-12-07T03:15:00+00:00 | 0123456789 (dirty) | `direkt load chat --runs 2 \\| tee` | 2 |"
    )
    assert "msg/s 110 (100–120)" in line and line.endswith("| f.json |\n")
    assert summary.README_HEADER.splitlines()[-1].count("---") == 6  # the columns of every line


def test_summary_lines() -> None:
    lines = summary.summary_lines(summary.summarise([{"msg/s": 100.0}, {"msg/s": 300.0}, {"msg/s": 200.0}]))
    assert lines == ["summary of 3 runs: median (min–max)", "  msg/s  200 (100–300)"]
    assert summary.summary_lines({}) == []


def test_cpu_per_message_counts_servers_and_redis_apart() -> None:
    cpu = {"server 1": 60.0, "server 2": 40.0, "redis 1": 10.0, "redis 2": 5.0}
    cost = summary.cpu_ms_per_message(cpu, 2000.0)
    assert cost["server"] == pytest.approx(0.5) and cost["redis"] == pytest.approx(0.075)
    assert summary.cpu_ms_per_message(cpu, 0.0) == {"server": None, "redis": None}


def test_peak_estimate_by_proportion() -> None:
    # 0.06 ms per message at 50k msg/s is 3 cores of work, 5 at 60 % load: 3 nodes of 2 cores
    estimate = summary.peak_estimate(0.06, 0.012)
    assert estimate["server_cores"] == pytest.approx(5.0)
    assert (estimate["nodes"], estimate["redis_shards"]) == (3, 1)
    assert summary.peak_estimate(0.06, 0.03, busy=0.5)["redis_shards"] == 3


def test_readme_row_always_shows_the_safety_figures_after_the_first_ones() -> None:
    when = dt.datetime(2026, 12, 7, 3, 15, 0, tzinfo=dt.UTC)
    many = {f"t{i} msg/s": float(i) for i in range(8)}  # a scale run: more figures than the row shows
    figures = [{**many, "lost": 0.0, "duplicated": 1.0, "other processes CPU % (max)": 5.0}]
    rec = summary.record(
        scenario="scale", command="direkt load scale", when=when, git={}, machine={}, runs=[{}], figures=figures
    )
    line = summary.readme_row(rec, "f.json", limit=3)
    assert "t2 msg/s 2" in line and "t3 msg/s" not in line
    assert line.count("lost 0") == 1 and line.count("duplicated 1") == 1 and "errors" not in line
    chat = summary.record(
        scenario="chat", command="direkt load chat", when=when, git={}, machine={}, runs=[{}],
        figures=[{"msg/s": 1.0, "p50 ms": 2.0, "errors": 0.0, "lost": 0.0, "duplicated": 0.0}],
    )  # fmt: skip
    assert summary.readme_row(chat, "f.json", limit=2).count("errors 0; lost 0; duplicated 0 |") == 1
