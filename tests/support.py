"""Helpers shared by the test tiers (imported as ``support``; see pytest ``pythonpath``)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import uvicorn

from direkt.queue.model import Directory
from direkt.server.redis.embedded import EmbeddedRedis, cluster_port, redis_server_binary
from direkt.server.region import parse_region_config

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Every timeout in the suite scales from this one constant (slow CI machines).
TIMEOUT_SCALE = float(os.environ.get("DIREKT_TEST_TIMEOUT_SCALE", "1"))


def timeout(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MADE_DIRS: list[Path] = []  # short_tmpdir's folders in this process, removed by ``remove_made_dirs``


def short_tmpdir(prefix: str) -> Path:
    """A short path (unix socket paths are limited to 108 bytes), removed after a session that passed."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    MADE_DIRS.append(path)
    return path


def remove_made_dirs() -> None:
    """Remove every folder ``short_tmpdir`` made in this process (Redis data, server logs, audit files)."""
    while MADE_DIRS:
        shutil.rmtree(MADE_DIRS.pop(), ignore_errors=True)


class FakeClock:
    """Milliseconds since the epoch, moved by the test."""

    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


def at(text: str) -> int:
    """Epoch ms of a Stockholm wall time, e.g. ``at("2026-11-23 10:00")``.

    Ambiguous times (the autumn fall-back hour) mean the first occurrence.
    """
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=STOCKHOLM).timestamp() * 1000)


class Cluster:
    """Three masters, no replicas, built by redis-cli --cluster create."""

    def __init__(self, base: Path, fsync: str = "everysec") -> None:
        self.nodes = [
            EmbeddedRedis(
                base / f"n{i}",
                fsync=fsync,
                port=cluster_port(),
                extra={"cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": "2000"},
            )
            for i in range(3)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = redis_server_binary().with_name("redis-cli")
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        subprocess.run(
            [str(cli), "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=timeout(60),
        )
        self.wait_ok()

    def wait_ok(self) -> None:
        deadline = time.monotonic() + timeout(30)
        cli = redis_server_binary().with_name("redis-cli")
        while time.monotonic() < deadline:
            states = [
                subprocess.run(
                    [str(cli), "-p", str(n.port), "cluster", "info"], capture_output=True, text=True, check=False
                ).stdout
                for n in self.nodes
            ]
            if all("cluster_state:ok" in s for s in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the test Redis Cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        """SIGKILL every node, as a power cut would."""
        for node in self.nodes:
            node.kill()

    def restart(self) -> None:
        """Start the nodes again on their directories; they remember the cluster."""
        for node in self.nodes:
            node.start()
        self.wait_ok()


TEST_REGIONS = b"""
[regions.a]
name = "Region A (test)"

[regions.b]
name = "Region B (test)"

[[units]]
id = "vc-a1"
region = "a"
name = "Vardcentral A1"
kind = "primary_care"
skills = ["nurse", "doctor", "administrator"]
hours = { mon-fri = "08:00-16:00" }
fallback = ["1177-a"]
pick_from_list = true

[[units]]
id = "vc-a2"
region = "a"
name = "Vardcentral A2"
kind = "primary_care"
skills = ["nurse", "doctor"]
hours = { mon-fri = "08:00-16:00" }
fallback = ["1177-a"]

[[units]]
id = "1177-a"
region = "a"
name = "1177 A"
kind = "1177"
skills = ["nurse"]
hours = { daily = "07:00-22:00", holidays = "07:00-22:00" }

[[units]]
id = "um-a"
region = "a"
name = "Ungdomsmottagning A"
kind = "youth_clinic"
skills = ["nurse", "midwife"]
hours = { mon-fri = "09:00-16:00" }
fallback = ["1177-a"]

[[units]]
id = "1177-b"
region = "b"
name = "1177 B"
kind = "1177"
skills = ["nurse"]
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }

[[units]]
id = "vc-b1"
region = "b"
name = "Vardcentral B1"
kind = "primary_care"
skills = ["nurse"]
hours = { mon-fri = "08:00-16:00" }
fallback = ["1177-b"]

[[overflow]]
from = "1177-a"
to = "1177-b"
when = "closed"

[[overflow]]
from = "vc-a1"
to = "vc-a2"
when = "busy"
wait_over_min = 60
skills = ["nurse"]

[[staff]]
id = "nurse-a1"
name = "Test Nurse A1"
profession = "nurse"
units = ["vc-a1"]
max_chats = 3

[[staff]]
id = "nurse-a12"
name = "Test Nurse A12"
profession = "nurse"
units = ["vc-a1", "vc-a2"]
max_chats = 4

[[staff]]
id = "doc-a"
name = "Test Doctor A"
profession = "doctor"
units = ["vc-a1", "vc-a2"]
max_chats = 2

[[staff]]
id = "nurse-1177a"
name = "Test Nurse 1177 A"
profession = "nurse"
units = ["1177-a"]
max_chats = 6

[[staff]]
id = "nurse-ab"
name = "Test Nurse A and B"
profession = "nurse"
units = ["1177-a", "1177-b"]
max_chats = 5

[[staff]]
id = "nurse-b"
name = "Test Nurse B"
profession = "nurse"
units = ["vc-b1", "1177-b"]
max_chats = 4

[[staff]]
id = "admin-a"
name = "Test Admin A"
profession = "administrator"
units = ["vc-a1"]
max_chats = 8
"""


def make_directory() -> Directory:
    return parse_region_config(TEST_REGIONS, "tests/support.py").directory


def wait_http(url: str, seconds: float, *, status: int = 200) -> tuple[int, bytes]:
    """Poll an HTTP endpoint until it answers with ``status`` (loopback only)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout(seconds)
    last: tuple[int, bytes] = (0, b"")
    while time.monotonic() < deadline:
        try:
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2) as response:
                last = (response.status, response.read())
        except urllib.error.HTTPError as exc:
            last = (exc.code, exc.read())
        except OSError:
            last = (0, b"")
        if last[0] == status:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} in time; last answer {last}")


HUB_CONFIG = Path(__file__).parent / "data" / "hub_region.toml"
DIREKT_SERVE = [sys.executable, "-m", "direkt.server.cli", "serve"]


class ServerProcess:
    """A real ``direkt serve`` process on loopback, usually sharing one Redis with others."""

    running: ClassVar[set[ServerProcess]] = set()  # started and not stopped: ``reseeded`` asks them

    def __init__(
        self, redis_url: str, *, workers: int = 1, config: Path = HUB_CONFIG, port: int = 0, **env: str
    ) -> None:
        """Start and wait until ready; ``port`` 0 picks a free one (a restart passes the old one)."""
        self.redis_url = redis_url
        self.port = port or free_port()
        self.data_dir = short_tmpdir("dk-serve-")
        self.log_path = self.data_dir / "serve.log"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
        environ |= {
            "REDIS_URL": redis_url, "DIREKT_DATA_DIR": str(self.data_dir), "PYTHONSAFEPATH": "1",
            "DIREKT_TRIAGE_VALIDATE": "0", "DIREKT_REGION_CONFIG": str(config), **env,
        }  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*DIREKT_SERVE, "--port", str(self.port), "--workers", str(workers)],
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_http(self.url("/readyz"), 30)
        except AssertionError:  # never ready: stopped here, or the next test of the worker meets it (a ResourceWarning)
            self.stop()
            raise
        ServerProcess.running.add(self)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def stop(self) -> None:
        import signal

        ServerProcess.running.discard(self)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout(20))
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def kill(self) -> None:
        import signal

        ServerProcess.running.discard(self)
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def reseeded(redis_url: str) -> None:
    """After a flush of ``redis_url``: every server running on it has seeded the live configuration
    from its region file again and applied it (its ``/readyz`` does that, server/liveconfig.py), so
    the test's first request sees the file's staff and units, not what a previous test or module
    left in the server's memory."""
    for process in list(ServerProcess.running):
        if process.redis_url == redis_url and process.process.poll() is None:
            wait_http(process.url("/readyz"), 10)


@contextmanager
def serve_in_thread(app: Any, port: int, name: str, **options: Any) -> Iterator[None]:
    """Run an ASGI app (a test OIDC issuer, an SMS gateway) with uvicorn in a thread on loopback."""
    options = {"ws": "none", **options}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout(10)
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the test {name} did not start")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout(10))
        if thread.is_alive():
            raise RuntimeError(f"the test {name} did not stop")
