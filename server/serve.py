"""Running the server: uvicorn options and the embedded Redis around it.

WebSocket implementation: uvicorn's ``websockets-sansio``. It is the fastest
of uvicorn's implementations on this stack and sends keepalive pings
(``loadtests/ws_bench.py`` measures both, ``tests/server/test_ws_pings.py``
proves the pings). Limits are set here rather than inherited: 64 KiB frames,
no permessage-deflate (memory per socket, zip bombs), 64 KiB request heads
that must arrive within ``DIREKT_HEAD_TIMEOUT_SECONDS``, and at most
``DIREKT_PENDING_HEADS_PER_ADDRESS`` connections per client address still
sending theirs (``http_protocol.py``).

Metrics (``direkt.server.metrics``): every run gets a fresh, empty directory
for ``prometheus_client``'s multiprocess files (``metrics_dir``), so that a
scrape answered by any worker sums all of them, and no count of an earlier run
survives.

Once the server answers ``/readyz`` (listening, Redis reachable), ``serve``
prints where to open the apps, once however many workers there are, on
stderr: stdout carries only the JSON log lines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from direkt.server.http.headguard import GuardedHttp, HeadLimits
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.settings import Settings

WS_IMPLEMENTATION = "websockets-sansio"
WS_MAX_FRAME = 64 * 1024
WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
LISTEN_BACKLOG = 16_384
READY_POLL_S = 0.2  # how often the main process asks /readyz before announcing the URLs
# prometheus_client's own name; not imported from direkt.server.metrics, which imports prometheus_client,
# whose mode is fixed at import by whether this variable is set.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::", "localhost"})  # noqa: S104 - names, not a bind


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "uvloop",
        "http": GuardedHttp(HeadLimits(settings.head_timeout_seconds, settings.pending_heads_per_address)),
        "ws": WS_IMPLEMENTATION,
        "ws_max_size": WS_MAX_FRAME,
        "ws_ping_interval": WS_PING_INTERVAL_S,
        "ws_ping_timeout": WS_PING_TIMEOUT_S,
        "ws_per_message_deflate": False,
        "lifespan": "on",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
        # Connections waiting to be accepted (the kernel caps it at net.core.somaxconn). uvicorn's
        # 2,048 overflowed when ten thousand sockets reconnected at once (direkt load reconnect-storm).
        "backlog": LISTEN_BACKLOG,
    }


def local_base(settings: Settings) -> str:
    """The server's own address as this machine reaches it (loopback for a wildcard bind)."""
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def ready_banner(settings: Settings) -> str:
    """What ``serve`` prints once ready: where the citizen and the staff open their apps."""
    base = settings.public_url.rstrip("/") or local_base(settings)
    if not (Path(settings.client_dir) / "index.html").is_file():
        return f"direkt is ready: the API at {base}/openapi.json (no client apps in this install)"
    return f"direkt is ready.\n  Citizen chat:  {base}/chat/\n  Staff console: {base}/console/"


def announce_when_ready(settings: Settings, out: TextIO = sys.stderr) -> threading.Event:
    """Print ``ready_banner`` once ``/readyz`` answers 200; set the returned event to stop waiting."""
    stop = threading.Event()
    probe = local_base(settings) + "/readyz"

    def wait_then_announce() -> None:
        while not stop.wait(READY_POLL_S):
            if _is_ready(probe):
                print(ready_banner(settings), file=out, flush=True)
                return

    threading.Thread(target=wait_then_announce, name="direkt-ready-banner", daemon=True).start()
    return stop


def _is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own http:// address
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False  # not listening yet, or 503 until Redis is reachable


@contextlib.contextmanager
def metrics_dir() -> Iterator[Path]:
    """Where the workers write their metrics for this run, set in the environment they inherit.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is used, emptied of an earlier
    run's files at start; otherwise a fresh temporary directory, removed at exit.
    """
    given = os.environ.get(MULTIPROC_ENV, "")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="direkt-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; start and stop the embedded Redis if needed.

    Worker processes read their settings from the environment, so one code
    path serves one worker or many.
    """
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again
    # with the previous handler: make that a normal exit, so that the embedded
    # Redis below is stopped by us (AOF flushed) and the exit status is 0.
    signal.signal(signal.SIGTERM, _exit_quietly)
    embedded = None
    if not settings.redis_url:
        embedded = EmbeddedRedis(settings.data_dir, fsync=settings.aof_fsync).start()
        settings = settings.with_redis(embedded.url)
    os.environ.update(settings.as_env())
    announced = announce_when_ready(settings)
    try:
        with metrics_dir():
            uvicorn.run("direkt.server.app:app_from_env", factory=True, **uvicorn_options(settings))
    finally:
        announced.set()
        if embedded is not None:
            embedded.stop()
