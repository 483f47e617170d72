"""The hub's ping wheel keeps pings working after it takes them over from uvicorn (memory per socket).

uvicorn runs in its own process with exactly ``uvicorn_options`` of ``direkt
serve`` and a short ping interval; its app hands each accepted socket's
protocol to a ``PingWheel``, as ``Connection`` does, and closes the socket if
the wheel would not take it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from support import free_port, timeout, wait_http

from direkt.loadtests.wsclient import count_pings

PING_INTERVAL = 0.4
SERVER = """
import sys, uvicorn
from direkt.server.serve import uvicorn_options
from direkt.server.settings import Settings
from direkt.server.ws.pings import PingWheel

wheel = PingWheel()

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()
    await send({"type": "websocket.accept"})
    proto = send.__self__
    if not wheel.add(proto) or proto.ping_timer is not None:
        await send({"type": "websocket.close", "code": 1008})
        return
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        wheel.remove(proto)

options = uvicorn_options(Settings(port=int(sys.argv[1])))
options.update(ws_ping_interval=float(sys.argv[2]), ws_ping_timeout=float(sys.argv[2]), log_level="warning")
uvicorn.run(app, **options)
"""


@pytest.fixture(scope="module")
def wheel_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(PING_INTERVAL)])
    try:
        wait_http(f"http://127.0.0.1:{port}/nothing", 20, status=404)
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        process.terminate()
        process.wait(timeout(10))


async def test_the_wheel_pings_an_answering_peer_and_keeps_it(wheel_url: str) -> None:
    pings, closed = await count_pings(wheel_url, 5 * PING_INTERVAL)
    assert pings >= 3 and not closed


async def test_the_wheel_closes_a_peer_that_never_answers(wheel_url: str) -> None:
    pings, closed = await count_pings(wheel_url, timeout(10), answer=False)
    assert closed and pings >= 1
