"""Frames arrive through uvicorn's own websockets protocol object under the server we ship.

A real uvicorn (the ``websockets-sansio`` implementation ``direkt serve``
runs) serves a small app that reads with the reader ``reader_for`` picks and
echoes each frame. A client sees every frame echoed once, in order, text and
binary alike; a client that sends far more than the app reads has its
reading paused once ``INBOX_FRAMES`` wait (even inside one read of thousands
of frames), and loses nothing; the reader ends when the client closes. The
reader takes a socket over only between messages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket
from support import free_port, serve_in_thread, timeout
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.server import ServerProtocol

from direkt.server.serve import WS_IMPLEMENTATION
from direkt.server.ws.inbox import INBOX_FRAMES, SansioReader, at_message_boundary, reader_for
from direkt.server.ws.outbox import SERVER_SEND, RecordServerSend

SEEN: list[str] = []


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    reader = reader_for(websocket)
    await websocket.send_text(type(reader).__name__)
    while (data := await reader.receive()) is not None:
        if data == "hold":
            if isinstance(reader, SansioReader):  # let frames pile up before reading on
                for _ in range(int(timeout(5) / 0.01)):
                    if reader.waiting() >= INBOX_FRAMES:
                        break
                    await asyncio.sleep(0.01)  # polling with a deadline
                ours = reader.proto.data_received == reader._on_data  # frames parsed by the reader itself
                SEEN.append(f"paused {reader.proto.read_paused} ours {ours}")
            continue
        if isinstance(data, bytes):
            await websocket.send_bytes(data)
        else:
            await websocket.send_text(data)
    SEEN.append("ended")


async def tally(websocket: WebSocket) -> None:
    """Takes every frame up to "end", then sends how many waited at most at once, and the frames in order."""
    await websocket.accept()
    reader = reader_for(websocket)
    await websocket.send_text(type(reader).__name__)
    got: list[str] = []
    peak = 0
    while (data := await reader.receive()) is not None and data != "end":
        assert isinstance(reader, SansioReader) and isinstance(data, str)
        peak = max(peak, reader.waiting() + 1)  # frames are only added between two of these looks
        got.append(data)
    await websocket.send_text(f"{peak} {','.join(got)}")


async def take_over_late(websocket: WebSocket) -> Any:
    """Accepts, and takes the socket over only once websockets holds the first fragment of a message."""
    await websocket.accept()
    proto = websocket.scope[SERVER_SEND].__self__
    for _ in range(int(timeout(5) / 0.01)):
        if proto.conn.current_size is not None:
            break
        await asyncio.sleep(0.01)  # polling with a deadline
    reader = reader_for(websocket)
    await websocket.send_text(f"{type(reader).__name__} {proto.data_received == getattr(reader, '_on_data', None)}")
    return reader


async def late(websocket: WebSocket) -> None:
    """Takes the socket over inside a fragmented message, then echoes."""
    reader = await take_over_late(websocket)
    while (data := await reader.receive()) is not None:
        await websocket.send_text(data if isinstance(data, str) else data.decode())


async def late_tally(websocket: WebSocket) -> None:
    """As ``late``, then the frames up to "end" in order, in one reply."""
    reader = await take_over_late(websocket)
    got: list[str] = []
    while (data := await reader.receive()) is not None and data != "end":
        got.append(data if isinstance(data, str) else data.decode())
    await websocket.send_text(",".join(got))


APP = Starlette(
    routes=[
        WebSocketRoute("/w", echo),
        WebSocketRoute("/tally", tally),
        WebSocketRoute("/late", late),
        WebSocketRoute("/late-tally", late_tally),
    ],
    middleware=[Middleware(RecordServerSend)],
)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    chosen = free_port()
    options = {"ws": WS_IMPLEMENTATION, "ws_max_size": 2**16, "ws_per_message_deflate": False}  # as direkt serve
    with serve_in_thread(APP, chosen, "wsin app", **options):
        yield chosen


async def until_seen(text: str) -> None:
    deadline = time.monotonic() + timeout(5)
    while text not in SEEN:
        assert time.monotonic() < deadline, SEEN
        await asyncio.sleep(0.02)  # polling with a deadline


async def test_frames_arrive_once_in_order_and_a_flood_pauses_reading(port: int) -> None:
    SEEN.clear()
    sent: list[str | bytes] = [f"t{n}" if n % 2 else b"b%d" % n for n in range(3 * INBOX_FRAMES)]
    async with connect(f"ws://127.0.0.1:{port}/w", max_size=2**20, proxy=None) as ws:
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader"
        await ws.send("hold")
        for data in sent:
            await ws.send(data)
        got = [await asyncio.wait_for(ws.recv(), timeout(5)) for _ in sent]
    assert got == sent
    await until_seen("ended")
    assert SEEN == ["paused True ours True", "ended"]  # bounded: reading paused once INBOX_FRAMES waited


async def test_the_reader_ends_when_the_client_closes(port: int) -> None:
    SEEN.clear()
    async with connect(f"ws://127.0.0.1:{port}/w", proxy=None) as ws:
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader"
        await ws.send(b"\x01")
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == b"\x01"
    await until_seen("ended")


def test_other_servers_get_the_asgi_reader() -> None:
    with TestClient(APP) as client, client.websocket_connect("/w") as ws:
        assert ws.receive_text() == "AsgiReader"
        ws.send_text("hold")
        ws.send_bytes(b"\x02")
        ws.send_text("x")
        assert (ws.receive_bytes(), ws.receive_text()) == (b"\x02", "x")


async def test_pings_fragments_and_frames_split_across_reads_all_arrive(port: int) -> None:
    """Whole data frames are read by the reader; pings, fragments and partial frames still work."""
    big = b"\x05" * 60_000  # more than one read: the frame's start waits for its rest
    async with connect(f"ws://127.0.0.1:{port}/w", max_size=2**20, proxy=None) as ws:
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader"
        await ws.send(b"one")
        await asyncio.wait_for(await ws.ping(), timeout(5))  # answered by uvicorn between data frames
        await ws.send(big)
        await ws.send(["frag", "mented"])  # a fragmented message: websockets' parser from here on
        await ws.send("two")
        await asyncio.wait_for(await ws.ping(), timeout(5))
        got = [await asyncio.wait_for(ws.recv(), timeout(5)) for _ in range(4)]
    assert got == [b"one", big, "fragmented", "two"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x82\xff" + (70_000).to_bytes(8, "big") + b"\x00" * 4, 1009),  # over ws_max_size (2**16 here)
        (b"\x81\x82\x00\x00\x00\x00\xff\xfe", 1007),  # text that is not UTF-8
        (b"\x82\x03abc", 1002),  # a client frame must be masked
    ],
)
async def test_a_bad_frame_closes_with_its_code(port: int, frame: bytes, code: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/w", proxy=None) as ws:
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader"
        await ws.send(b"fine")
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == b"fine"
        ws.transport.write(frame)  # raw bytes past the client's own framing
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout(5))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def masked(first: int, payload: bytes) -> bytes:
    """A client frame with a zero mask (``first``: FIN, opcode), as a client may write it; payloads < 126."""
    return bytes([first, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


async def test_one_read_of_thousands_of_frames_queues_at_most_the_bound(port: int) -> None:
    """A single write of 3000 tiny frames (one or a few reads) never has more than INBOX_FRAMES waiting."""
    sent = [str(n) for n in range(3000)]
    async with connect(f"ws://127.0.0.1:{port}/tally", proxy=None) as ws:
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader"
        ws.transport.write(b"".join(masked(0x81, data.encode()) for data in sent) + masked(0x81, b"end"))
        peak, got = str(await asyncio.wait_for(ws.recv(), timeout(10))).split(" ")
    assert got.split(",") == sent  # every frame once, in order
    assert int(peak) <= INBOX_FRAMES


async def test_a_fragment_begun_before_the_take_over_stays_with_websockets(port: int) -> None:
    """Its continuation completes it; websockets keeps the socket (a new message inside it is refused)."""
    async with connect(f"ws://127.0.0.1:{port}/late", proxy=None) as ws:
        ws.transport.write(masked(0x01, b"frag"))  # text, not the last fragment
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader False"  # not parsed by the reader
        ws.transport.write(masked(0x80, b"mented"))
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "fragmented"
        await ws.send("whole")
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "whole"


async def test_thousands_of_frames_in_one_read_through_websockets_parser_arrive_once_in_order(port: int) -> None:
    """Past a fragment begun before the take-over, websockets' parser hands over every frame of a read
    at once (not INBOX_FRAMES at a time): each still arrives once, in order (``SansioReader._take``)."""
    sent = [str(n) for n in range(3000)]
    async with connect(f"ws://127.0.0.1:{port}/late-tally", proxy=None) as ws:
        ws.transport.write(masked(0x01, b"frag"))
        assert await asyncio.wait_for(ws.recv(), timeout(5)) == "SansioReader False"
        ws.transport.write(masked(0x80, b"mented") + b"".join(masked(0x81, d.encode()) for d in sent))
        ws.transport.write(masked(0x81, b"end"))
        got = str(await asyncio.wait_for(ws.recv(), timeout(10))).split(",")
    assert got == ["fragmented", *sent]


async def test_a_new_message_inside_a_fragmented_one_begun_before_the_take_over_is_refused(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/late", proxy=None) as ws:
        ws.transport.write(masked(0x01, b"frag"))
        assert str(await asyncio.wait_for(ws.recv(), timeout(5))).startswith("SansioReader")
        ws.transport.write(masked(0x81, b"whole"))  # RFC 6455 §5.4: a continuation frame must come first
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout(5))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


def test_the_reader_takes_over_only_between_messages() -> None:
    """Not inside a frame (header read, payload not), nor inside a fragmented message."""
    conn = ServerProtocol(state=State.OPEN)
    proto = SimpleNamespace(conn=conn, frames=[])
    assert at_message_boundary(proto)
    for chunk, between in [
        (b"\x82", False),  # half a header: in the read buffer
        (b"\x85", False),  # the whole header, consumed: the buffer is empty, the payload still to come
        (b"\0\0\0\0hello", True),
        (masked(0x01, b"frag"), False),  # a first fragment
        (masked(0x80, b"ment"), True),
    ]:
        conn.receive_data(chunk)
        conn.events_received()
        assert at_message_boundary(proto) is between, chunk
