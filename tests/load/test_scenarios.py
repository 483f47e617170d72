"""Smoke runs of every ``direkt load`` scenario against a real server (correctness only).

Each run starts its own ``direkt serve`` with the embedded Redis, as a load
tester would; the figures are not asserted (speed is for benchmarks), only
that nothing was lost, doubled or refused and that the report has its fields.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.slow

LOAD = [sys.executable, "-m", "direkt.server.cli", "load"]
# Proxies that do not exist: a load run talks to its server on loopback and must never use them.
DEAD_PROXY = "http://127.0.0.1:9"
PROXIES = {name: DEAD_PROXY for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY")}
FIELDS = {"scenario", "duration_s", "messages", "throughput_msg_s", "latency_ms", "errors", "lost", "duplicated",
          "server_rss_mb"}  # fmt: skip


def run_load(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "report.json"
    done = subprocess.run(
        [*LOAD, *args, "--json", str(out)], capture_output=True, text=True, timeout=300, check=False,
        env=os.environ | PROXIES,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = orjson.loads(out.read_bytes())
    assert report.keys() >= FIELDS
    assert {"p50", "p99", "p999", "max"} <= report["latency_ms"].keys()
    assert report["errors"] == 0, report["errors_by_code"]
    assert report["setup_errors"] == 0
    assert report["lost"] == 0
    assert report["duplicated"] == 0
    assert report["server_rss_mb"] > 0
    assert report["clients_cpu_pct"] > 0  # the load clients' own share of the machine is reported
    return report


def test_chat_delivers_every_message_both_ways_once(tmp_path: Path) -> None:
    report = run_load(tmp_path, "chat", "--nurses", "3", "--chats", "3", "--rate", "60", "--duration", "3",
                      "--plot", str(tmp_path / "chat.png"))  # fmt: skip
    ledger = report["ledger"]
    assert ledger["sent"] == 180 and ledger["acked"] == 180 and ledger["delivered"] == 180
    assert report["messages"] == 180
    assert report["other_latency_ms"]["nurse_to_citizen"]["count"] == 90
    assert report["latency_ms"]["p50"] > 0
    assert (tmp_path / "chat.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_waiting_room_citizens_get_positions_while_nurses_serve(tmp_path: Path) -> None:
    report = run_load(tmp_path, "waiting-room", "--citizens", "30", "--nurses", "2", "--arrival-rate", "30",
                      "--claim-rate", "2", "--duration", "6")  # fmt: skip
    assert report["sockets"] == 32
    assert report["latency_ms"]["max"] > 0  # every citizen saw a first position (else: a position_ error)
    assert report["counters"]["served"] >= 8
    assert report["messages"] > 0  # position updates as the queue moved


def test_reconnect_storm_resumes_every_socket_without_loss(tmp_path: Path) -> None:
    # two server workers: a socket may resume on the other worker, and the run starts only once both are ready
    report = run_load(tmp_path, "reconnect-storm", "--citizens", "40", "--nurses", "4", "--chats", "3",
                      "--rate", "40", "--duration", "5", "--procs", "2", "--server-workers", "2")  # fmt: skip
    assert report["setup"]["storm_clients"] == 44
    assert report["ledger"]["delivered"] == report["ledger"]["sent"] == 200


def test_flood_is_throttled_and_the_other_chats_lose_nothing(tmp_path: Path) -> None:
    report = run_load(tmp_path, "flood", "--nurses", "3", "--chats", "3", "--rate", "60", "--duration", "6")
    ledger, counters, other = report["ledger"], report["counters"], report["other_latency_ms"]
    assert ledger["sent"] == ledger["acked"] == ledger["delivered"] == 360
    assert other["quiet"]["count"] > 0 and other["flood"]["count"] > 0
    # four sockets let in, then refused (the flood bar); most of the flood refused, not stored
    assert counters["flood_welcome"] == 4 and counters["flood_rate_limited"] > counters["flood_ack"] > 0


def test_calls_connect_through_the_signaling_relay(tmp_path: Path) -> None:
    report = run_load(tmp_path, "calls", "--nurses", "3", "--rate", "3", "--duration", "3")
    assert report["counters"]["calls_connected"] == report["messages"] == 9


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nonsense"], "invalid choice"),
        (["chat", "--rate", "-5"], "must be a finite number"),
        (["chat", "--rate", "nan"], "must be a finite number"),
        (["chat", "--nurses", "many"], "expected a number"),
        (["chat", "--chats", "13"], "between 1 and 12"),
        (["chat", "--nurses", "0"], "at least one nurse"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(args: list[str], message: str) -> None:
    done = subprocess.run([*LOAD, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
