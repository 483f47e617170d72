"""`direkt bench start` times real server starts against the bare stack, and its arithmetic is right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from direkt.loadtests.start_bench import Start, report, start_once, summary

pytestmark = pytest.mark.slow


def test_a_round_starts_both_servers_and_direkt_costs_more_than_the_bare_stack(tmp_path: Path) -> None:
    out = tmp_path / "start.json"
    command = [sys.executable, "-m", "direkt.server.cli", "bench", "start", "--rounds", "1", "--json", str(out)]
    command.append("--no-triage-check")  # its first start would walk every triage path (about 18 s)
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    data = orjson.loads(out.read_bytes())
    assert sorted(s["target"] for s in data["starts"]) == ["bare", "direkt"], data
    for start in data["starts"]:
        assert start["ready_s"] > 0 and start["cpu_s"] > 0 and start["rss_mb"] > 10, start
    bare, direkt = data["summary"]["bare"], data["summary"]["direkt"]
    # direkt is measured at /readyz, after its knowledge base, Redis scripts and region are loaded:
    # a measure taken before that (the wrong process, or the first 503) would not cost more than uvicorn alone.
    assert direkt["cpu_s"] > bare["cpu_s"], data
    assert direkt["rss_mb"] > bare["rss_mb"], data
    assert "direkt / bare" in done.stdout


def test_the_summary_takes_medians_and_spreads_and_divides_the_medians() -> None:
    starts = [
        Start("bare", 1.0, 0.5, 40.0), Start("bare", 3.0, 0.7, 42.0), Start("bare", 2.0, 0.6, 41.0),
        Start("direkt", 4.0, 2.0, 100.0), Start("direkt", 6.0, 1.0, 90.0), Start("direkt", 5.0, 1.5, 95.0),
    ]  # fmt: skip
    table = summary(starts)
    assert table["bare"] == {
        "ready_s": 2.0, "ready_s_min": 1.0, "ready_s_max": 3.0, "cpu_s": 0.6, "cpu_s_min": 0.5, "cpu_s_max": 0.7,
        "rss_mb": 41.0, "rss_mb_min": 40.0, "rss_mb_max": 42.0,
    }  # fmt: skip
    assert table["direkt / bare"]["ready_s"] == pytest.approx(2.5)
    assert table["direkt / bare"]["cpu_s"] == pytest.approx(2.5)
    text = report(table, 3)
    assert "direkt / bare" in text and "2.50" in text and "5.00 (4.00-6.00)" in text


def test_a_server_that_dies_before_answering_is_a_clear_error_with_its_output(tmp_path: Path) -> None:
    # No region file: direkt serve refuses to start and says why on stderr.
    with pytest.raises(RuntimeError, match=r"exited \(\d+\) before answering") as failed:
        start_once("direkt", tmp_path, "redis://127.0.0.1:1", triage_check=False)
    assert "region.toml" in str(failed.value)
