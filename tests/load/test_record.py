"""Recorded and repeated load runs, ``direkt load scale``, and a client process that dies.

The runs are real and tiny (figures are not asserted: speed is for
benchmarks); what is checked is the record's shape, that nothing was lost,
and that a dead client process ends the run at once instead of hanging.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from direkt.loadtests import load
from direkt.loadtests.scenarios import Spec

LOAD = [sys.executable, "-m", "direkt.server.cli", "load"]


@pytest.mark.slow
def test_two_runs_are_recorded_with_command_commit_machine_and_summary(tmp_path: Path) -> None:
    args = ["chat", "--nurses", "1", "--chats", "1", "--rate", "10", "--duration", "0.5", "--runs", "2", "--record",
            "--results", str(tmp_path)]  # fmt: skip
    done = subprocess.run([*LOAD, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("chat: ") == 2 and "summary of 2 runs: median (min–max)" in done.stdout
    (path,) = tmp_path.glob("*.json")
    assert re.fullmatch(r"\d{8}T\d{6}Z-chat\.json", path.name)
    rec = orjson.loads(path.read_bytes())
    assert rec["command"] == "direkt load " + " ".join(args)
    assert re.fullmatch(r"[0-9a-f]{40}", rec["git"]["commit"]) and isinstance(rec["git"]["dirty"], bool)
    assert rec["machine"]["cores"] >= 1 and rec["machine"]["python"] and rec["machine"]["redis"]
    assert [r["scenario"] for r in rec["runs"]] == ["chat", "chat"]
    assert all(r["lost"] == r["duplicated"] == r["errors"] == 0 for r in rec["runs"])
    assert len(rec["headline"]) == 2
    assert rec["summary"]["msg/s"]["runs"] == 2
    assert rec["summary"]["lost"] == {"median": 0, "min": 0, "max": 0, "runs": 2}
    table = (tmp_path / "README.md").read_text().splitlines()
    assert table[-1].startswith("| ") and table[-1].endswith(f"| {path.name} |") and "msg/s" in table[-1]
    assert table[-2].startswith("|---")  # the header, written once


@pytest.mark.slow
def test_scale_runs_one_and_two_processes_and_a_cluster_without_loss(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    command = [*LOAD, "scale", "--pairs", "4", "--window", "2", "--seconds", "0.5", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    report = orjson.loads(out.read_bytes())
    rows = {row["target"]: row for row in report["rows"]}
    assert list(rows) == ["1 proc", "2 procs", "2 procs, cluster"]
    for row in rows.values():
        assert row["delivered"] > 0, row
        assert row["lost"] == row["lost_warmup"] == row["duplicated"] == 0, row
    assert set(rows["1 proc"]["cpu_pct"]) == {"server 1", "redis 1"}
    assert set(rows["2 procs"]["cpu_pct"]) == {"server 1", "server 2", "redis 1"}
    assert set(rows["2 procs, cluster"]["cpu_pct"]) == {"server 1", "server 2", "redis 1", "redis 2", "redis 3"}
    assert set(report["ratios"]) == {"2 procs / 1 proc", "2 procs, cluster / 1 proc"}
    assert "2 procs, cluster / 1 proc" in done.stdout


def test_a_client_process_that_dies_in_set_up_stops_the_others_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Shard 0 exits during set-up; shard 1 is still setting up (here: a process that would wait a minute).

    Before the fix the coordinator waited for every shard's READY, so the run
    hung for as long as the others' set-up took (9 minutes once).
    """
    started: list[subprocess.Popen[bytes]] = []

    def fake_shard(self: load.Shard, spec: Spec) -> None:
        code = "raise SystemExit(3)" if spec.unit.endswith("-0") else "import time; time.sleep(60)"
        self.process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        started.append(self.process)

    monkeypatch.setattr(load.Shard, "__init__", fake_shard)
    status = load.main(["chat", "--url", "http://127.0.0.1:9", "--nurses", "2", "--chats", "1", "--procs", "2"])
    assert status == 2
    assert "ended before READY (exit status 3" in capsys.readouterr().err
    assert [p.returncode for p in started] == [3, -signal.SIGKILL]  # the other one stopped, not waited for
