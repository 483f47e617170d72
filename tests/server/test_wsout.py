"""Frames leave through uvicorn's own websockets protocol object under the server we ship.

A real uvicorn (the ``websockets-sansio`` implementation ``direkt serve``
runs) serves a small app behind ``RecordServerSend``; the app writes batches
with the writer ``writer_for`` picks. A client sees every frame, in order,
text and binary alike, and a write to a socket the client closed fails as
Starlette's own send does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect
from support import free_port, serve_in_thread, timeout
from websockets.asyncio.client import connect

from direkt.server.serve import WS_IMPLEMENTATION
from direkt.server.ws.outbox import RecordServerSend, writer_for

OUTCOMES: list[str] = []


async def batches(websocket: WebSocket) -> None:
    await websocket.accept()
    writer = writer_for(websocket)
    await writer.write([type(writer).__name__])
    # one batch: the frame lengths of one, two and eight bytes; the last one past a socket buffer
    await writer.write([b"\x01ack", "msg", "å" * 200, b"\x03" * 125, b"\x04" * 65_535, b"\x02" * 70_000])
    assert (await websocket.receive())["type"] == "websocket.disconnect"
    await asyncio.sleep(0.05)
    try:
        await writer.write([b"too late"])
        OUTCOMES.append("written")
    except WebSocketDisconnect as exc:
        OUTCOMES.append(f"disconnect {exc.code}")


APP = Starlette(routes=[WebSocketRoute("/w", batches)], middleware=[Middleware(RecordServerSend)])


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    chosen = free_port()
    with serve_in_thread(APP, chosen, "wsout app", ws=WS_IMPLEMENTATION, ws_max_size=2**20):
        yield chosen


async def test_a_batch_arrives_whole_and_in_order_through_the_sansio_writer(port: int) -> None:
    OUTCOMES.clear()
    async with connect(f"ws://127.0.0.1:{port}/w", max_size=2**20, proxy=None) as ws:
        got = [await asyncio.wait_for(ws.recv(), timeout(5)) for _ in range(7)]
    assert got == ["SansioWriter", b"\x01ack", "msg", "å" * 200, b"\x03" * 125, b"\x04" * 65_535, b"\x02" * 70_000]
    for _ in range(100):
        if OUTCOMES:
            break
        await asyncio.sleep(0.02)
    assert OUTCOMES == ["disconnect 1006"]


def test_other_servers_get_the_asgi_writer() -> None:
    with TestClient(APP) as client, client.websocket_connect("/w") as ws:
        assert ws.receive_text() == "AsgiWriter"
        got = [ws.receive_bytes(), ws.receive_text(), ws.receive_text(), ws.receive_bytes(), ws.receive_bytes()]
        assert got == [b"\x01ack", "msg", "å" * 200, b"\x03" * 125, b"\x04" * 65_535]
        assert ws.receive_bytes() == b"\x02" * 70_000
