"""Running the server: uvicorn options and the embedded Redis around it.

WebSocket implementation: uvicorn's ``websockets-sansio``. It is the fastest
of uvicorn's implementations on this stack and sends keepalive pings
(``loadtests/ws_bench.py`` measures both, ``tests/server/test_ws_pings.py``
proves the pings). Limits are set here rather than inherited: 64 KiB frames,
no permessage-deflate (memory per socket, zip bombs), 64 KiB request heads
that must arrive within ``DIREKT_HEAD_TIMEOUT_SECONDS``, and at most
``DIREKT_PENDING_HEADS_PER_ADDRESS`` connections per client address still
sending theirs (``http_protocol.py``).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import uvicorn

from direkt.server.embedded_redis import EmbeddedRedis
from direkt.server.http_protocol import GuardedHttp, HeadLimits
from direkt.server.settings import Settings

WS_IMPLEMENTATION = "websockets-sansio"
WS_MAX_FRAME = 64 * 1024
WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
LISTEN_BACKLOG = 16_384


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
    try:
        uvicorn.run("direkt.server.app:app_from_env", factory=True, **uvicorn_options(settings))
    finally:
        if embedded is not None:
            embedded.stop()
