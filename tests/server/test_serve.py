"""`direkt serve` as an operator runs it (what `make run` does), in real processes.

- answers /readyz with the embedded Redis and the demo data;
- SIGTERM and Ctrl-C (SIGINT) stop the server and its Redis, leaving no process;
- data survives a restart;
- if the server is killed outright, its Redis follows (no orphan);
- a bad configuration, a busy data directory or an unreachable REDIS_URL give
  a clear message instead of a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from support import free_port, short_tmpdir, timeout, wait_http

pytestmark = pytest.mark.slow
DIREKT = [sys.executable, "-m", "direkt.server.cli"]


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
    # Walking every triage path takes about 15 s of CPU: the first test walks it as
    # `make run` does; the others start on a fresh data directory without the walk.
    return {**env, "DIREKT_DATA_DIR": str(data_dir), "PYTHONSAFEPATH": "1", "DIREKT_TRIAGE_VALIDATE": "0", **extra}


class Server:
    def __init__(self, data_dir: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.log = data_dir / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*DIREKT, "serve", "--port", str(self.port), *args],
                env=env_for(data_dir, **env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout(20))

    def output(self) -> str:
        return self.log.read_text()


def redis_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "redis-server" in cmdline and str(data_dir) in cmdline:
            found.append(process)
    return found


def queue_status(data_dir: Path) -> dict[str, dict[str, dict[str, int]]]:
    done = subprocess.run(
        [*DIREKT, "queue", "status", "--json"], env=env_for(data_dir), capture_output=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def waiting_total(status: dict[str, dict[str, dict[str, int]]]) -> int:
    return sum(sum(region["waiting"].values()) for region in status.values())


def demo_seeded(server: Server) -> None:
    """Wait for the log line saying the demo cases are in (they are written right after readiness)."""
    deadline = time.monotonic() + timeout(20)
    while '"event":"demo_cases"' not in server.output():
        assert time.monotonic() < deadline, "the demo cases were never written"
        time.sleep(0.05)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = short_tmpdir("dk-serve-")
    yield path
    for process in redis_processes(path):  # never leave one behind, even when a test fails
        process.kill()


def test_serve_is_ready_with_demo_data_and_stops_cleanly_on_sigterm(data_dir: Path) -> None:
    server = Server(data_dir, "--demo", DIREKT_TRIAGE_VALIDATE="1")
    try:
        assert wait_http(server.url("/readyz"), 180)[1] == b'{"status":"ready"}'
        assert len(redis_processes(data_dir)) == 1
        demo_seeded(server)
        assert waiting_total(queue_status(data_dir)) == 8  # the demo cases from server/data/cases.toml
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0
    assert redis_processes(data_dir) == []
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    assert any(line.get("event") == "redis_connected" for line in lines)  # JSON-line logs


def test_data_survives_a_restart_and_ctrl_c_stops_everything(data_dir: Path) -> None:
    first = Server(data_dir, "--demo")
    wait_http(first.url("/readyz"), 30)
    demo_seeded(first)
    before = waiting_total(queue_status(data_dir))
    assert first.stop(signal.SIGTERM) == 0

    second = Server(data_dir)  # no --demo: only what was stored
    try:
        wait_http(second.url("/readyz"), 30)
        assert waiting_total(queue_status(data_dir)) == before == 8
    finally:
        os.killpg(second.process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        second.process.wait(timeout(20))
    assert redis_processes(data_dir) == []


def test_a_killed_server_takes_its_redis_with_it(data_dir: Path) -> None:
    server = Server(data_dir)
    wait_http(server.url("/readyz"), 30)
    (redis,) = redis_processes(data_dir)
    server.process.kill()  # SIGKILL: no cleanup code runs
    server.process.wait(timeout(10))
    redis.wait(timeout(10))  # PR_SET_PDEATHSIG: the kernel stops it
    assert redis_processes(data_dir) == []


def test_a_second_server_on_the_same_data_dir_is_refused(data_dir: Path) -> None:
    first = Server(data_dir)
    try:
        wait_http(first.url("/readyz"), 30)
        second = Server(data_dir)
        assert second.process.wait(timeout(20)) == 1
        output = second.output()
        assert "in use by another direkt server" in output and "Traceback" not in output
    finally:
        first.stop()


def test_a_bad_region_config_names_file_key_and_problem(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "region.toml"
    config.write_text('[regions.vm]\nname = "x"\n\n[[units]]\nid = "Bad Id"\n')
    server = Server(data_dir, "--config", str(config))
    assert server.process.wait(timeout(20)) == 2
    output = server.output()
    assert str(config) in output and "units[0]" in output and "Traceback" not in output
    assert redis_processes(data_dir) == []  # nothing was started


def test_unreachable_redis_url_is_reported_by_readyz(data_dir: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}"
    server = Server(data_dir, REDIS_URL=dead)
    try:
        assert wait_http(server.url("/healthz"), 30)[0] == 200
        _, body = wait_http(server.url("/readyz"), 10, status=503)
        assert dead.removeprefix("redis://") in json.loads(body)["problem"]
        assert redis_processes(data_dir) == []  # no embedded Redis when REDIS_URL is set
    finally:
        assert server.stop() == 0


OVERLAPPING_SCHEDULES = """
[[schedule]]
unit = "vc-kungsor"
profession = "nurse"
mode = "video"
hours = { daily = "08:00-10:00" }
slot_minutes = 20
staff = "anna.lind"

[[extra]]
unit = "vc-kungsor"
profession = "nurse"
mode = "physical"
date = 2026-12-08
times = "09:00-09:30"
slot_minutes = 10
staff = "anna.lind"
"""


def test_a_schedules_file_refused_at_start_is_named_by_readyz_and_the_log(data_dir: Path) -> None:
    """The schedules file is read once Redis holds the live configuration, after the HTTP server is up:
    a refused one left the server not ready with an empty problem and nothing in its log."""
    path = data_dir.parent / f"{data_dir.name}-schedules.toml"
    path.write_text(OVERLAPPING_SCHEDULES)
    server = Server(data_dir, DIREKT_SCHEDULES=str(path))
    try:
        _, body = wait_http(server.url("/readyz"), 60, status=503)
        deadline = time.monotonic() + timeout(30)
        while "also booked" not in (problem := json.loads(body)["problem"]) and time.monotonic() < deadline:
            _, body = wait_http(server.url("/readyz"), 10, status=503)
        assert str(path) in problem and "anna.lind is also booked" in problem
        assert "backend_failed" in server.output() and "Traceback" not in server.output()
    finally:
        assert server.stop() == 0


def test_queue_status_without_a_server_says_what_to_do(data_dir: Path) -> None:
    done = subprocess.run(
        [*DIREKT, "queue", "status"], env=env_for(data_dir), capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "cannot reach Redis at unix://" in done.stderr and "Traceback" not in done.stderr


def raw_request(port: int, data: bytes) -> bytes:
    import socket

    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout(5)) as sock:
        try:
            sock.sendall(data)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server closed on us mid-request: what it said before is the answer
    return b"".join(chunks)


def test_bad_http_input_gets_a_clear_error_and_the_server_keeps_serving(data_dir: Path) -> None:
    server = Server(data_dir)
    try:
        wait_http(server.url("/readyz"), 30)
        port = server.port
        answers = {
            "wrong method": raw_request(
                port, b"POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            ),
            "unknown path": raw_request(port, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            "garbage": raw_request(port, b"\x16\x03\x01 not http at all\r\n\r\n"),
            "oversized header": raw_request(
                port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\nConnection: close\r\n\r\n"
            ),
            "replayed": raw_request(
                port,
                b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 3
                + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ),
        }
        assert answers["wrong method"].startswith(b"HTTP/1.1 405")
        assert answers["unknown path"].startswith(b"HTTP/1.1 404")
        assert answers["garbage"].startswith(b"HTTP/1.1 400") or answers["garbage"] == b""
        assert b'"code":"bad_request"' in answers["garbage"] or answers["garbage"] == b""
        assert answers["oversized header"][:12] in (b"HTTP/1.1 431", b"")  # refused, never served
        assert answers["replayed"].count(b'{"status":"alive"}') == 4  # idempotent, answered each time
        assert wait_http(server.url("/readyz"), 5)[0] == 200  # still serving
        assert "Traceback" not in server.output()
    finally:
        server.stop()
