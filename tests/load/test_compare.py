"""`direkt load compare` runs its baselines end to end: each relays messages
without losing or duplicating any, and the report is written as JSON.

Runs in a subprocess, as the command does: uvloop owns the event loop there
and the server processes die with it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

BASELINES = {"bare", "socketio-redis"}


def test_compare_baselines_relay_everything(tmp_path: Path) -> None:
    report_path = tmp_path / "compare.json"
    command = [sys.executable, "-m", "direkt.loadtests.compare"]
    command += ["--pairs", "4", "--window", "2", "--seconds", "1", "--json", str(report_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    report = orjson.loads(report_path.read_bytes())
    rows = {row["target"]: row for row in report["rows"]}
    assert rows.keys() >= BASELINES, output
    for name in BASELINES:
        row = rows[name]
        assert row["delivered"] > 0, row
        assert row["lost"] == row["lost_warmup"] == 0, row
        assert row["duplicated"] == 0, row
        assert row["latency_ms"]["p50"] > 0, row
        assert row["server_cpu_pct"] > 0, row
    assert set(report["ratios"]) == {"direkt / bare", "direkt / socketio-redis"}
    assert "direkt / bare" in done.stdout
