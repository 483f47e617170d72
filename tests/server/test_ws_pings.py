"""The WebSocket implementation we ship keeps pings working (issue: pick the
fastest uvicorn implementation *that keeps pings working*).

uvicorn runs in its own process with exactly ``uvicorn_options`` of
``direkt serve``, only with a short ping interval so the test is quick.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from support import free_port, timeout, wait_http

from direkt.loadtests.wsclient import count_pings
from direkt.server.serve import WS_IMPLEMENTATION, uvicorn_options
from direkt.server.settings import Settings

PING_INTERVAL = 0.4
SERVER = """
import sys, uvicorn
from direkt.server.serve import uvicorn_options
from direkt.server.settings import Settings
options = uvicorn_options(Settings(port=int(sys.argv[1])))
options.update(ws_ping_interval=float(sys.argv[2]), ws_ping_timeout=float(sys.argv[2]), log_level="warning")
uvicorn.run("direkt.loadtests.echo_app:app", **options)
"""


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(PING_INTERVAL)])
    try:
        wait_http(f"http://127.0.0.1:{port}/nothing", 20, status=404)  # serving: HTTP and WebSockets alike
        yield f"ws://127.0.0.1:{port}/echo"
    finally:
        process.terminate()
        process.wait(timeout(10))


def test_we_ship_the_sansio_implementation_with_explicit_limits() -> None:
    options = uvicorn_options(Settings())
    assert WS_IMPLEMENTATION == options["ws"] == "websockets-sansio"
    assert options["ws_max_size"] == 64 * 1024 and options["ws_per_message_deflate"] is False
    assert options["ws_ping_interval"] > 0 and options["ws_ping_timeout"] > 0


async def test_server_sends_keepalive_pings(echo_url: str) -> None:
    pings, closed = await count_pings(echo_url, 5 * PING_INTERVAL)
    assert pings >= 3 and not closed


async def test_a_peer_that_never_answers_pings_is_closed(echo_url: str) -> None:
    pings, closed = await count_pings(echo_url, timeout(10), answer=False)
    assert closed and pings >= 1
