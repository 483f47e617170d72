"""Frames on their way to one client: a bounded outbox and a writer.

``Outbox``: frames waiting for the connection's sender task. Bounded
(``limit``): a client that does not read is closed and resumes later rather
than holding the server's memory (STYLE: bounded fan-out). The sender takes
everything queued at once, so frames made in the same loop turn (an ack and
the echo of the message it acknowledges, a nurse's several chats) leave
together.

Writers put a list of frames on the socket:

* ``SansioWriter``, under uvicorn's ``websockets-sansio`` implementation (what
  ``direkt serve`` runs): the frames are framed by the connection's own
  websockets protocol object and written with one ``transport.write`` — one
  system call for the lot. Per frame through ASGI, the socket write was a
  fifth of the hub's CPU in ``direkt load compare`` (three writes per chat
  message). It keeps uvicorn's rules: waits while the transport is paused
  (flow control), writes nothing once a close was sent.
* ``AsgiWriter`` everywhere else (any ASGI server, Starlette's TestClient):
  one ``websocket.send`` per frame.

``RecordServerSend`` is the ASGI middleware that finds uvicorn's protocol:
outside Starlette's wrappers it sees the server's own ``send``, a bound
method of the protocol, and keeps it in the scope.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import State

SERVER_SEND = "direkt.server_send"
Data = bytes | str


class Outbox:
    """Queued frames of one connection; ``None`` marks the end (the sender stops there)."""

    __slots__ = ("_frames", "_room", "_waiter", "limit", "on_ready")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.on_ready: Callable[[], None] | None = None  # told when a frame lands in an empty outbox no sender awaits
        self._frames: list[Data | None] = []
        self._waiter: asyncio.Future[None] | None = None  # the sender, waiting for frames
        self._room: asyncio.Future[None] | None = None  # a replay, waiting for room

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, data: Data | None) -> bool:
        """Queue a frame (or the end); False when the outbox is full."""
        if data is not None and len(self._frames) >= self.limit:
            return False
        frames = self._frames
        frames.append(data)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        elif len(frames) == 1 and self.on_ready is not None:
            self.on_ready()
        return True

    async def take(self) -> list[Data | None]:
        """Everything queued, oldest first; waits for at least one frame."""
        while not self._frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frames, self._frames = self._frames, []
        self._wake_room()
        return frames

    def take_now(self) -> list[Data | None]:
        """Everything queued, oldest first (perhaps nothing), without waiting."""
        frames, self._frames = self._frames, []
        self._wake_room()
        return frames

    def taken(self) -> asyncio.Future[None]:
        """Done when the sender next takes the queued frames (or at ``wake``).

        A future made now, not a coroutine: a coroutine would start a loop turn
        later, after a sender that took the frames meanwhile, and wait for ever.
        """
        if self._room is None or self._room.done():
            self._room = asyncio.get_running_loop().create_future()
        return self._room

    def clear(self) -> None:
        self._frames.clear()
        self.wake()

    def wake(self) -> None:
        """Let whoever waits in ``taken`` go on (the connection is closing)."""
        self._wake_room()

    def _wake_room(self) -> None:
        if self._room is not None and not self._room.done():
            self._room.set_result(None)


class Writer(Protocol):
    async def write(self, frames: list[Data]) -> None: ...

    def after_accept(self) -> None: ...


class AsgiWriter:
    __slots__ = ("ws",)

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    def after_accept(self) -> None:
        pass

    async def write(self, frames: list[Data]) -> None:
        for data in frames:
            if isinstance(data, bytes):
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_text(data)


class SansioWriter:
    """Raises ``WebSocketDisconnect`` when the socket is gone, as Starlette's send does."""

    __slots__ = ("proto",)

    def __init__(self, proto: Any) -> None:
        self.proto = proto

    def after_accept(self) -> None:
        """Drop the handshake's request and response, which uvicorn keeps but never reads again.

        Their header tables were about 4 KiB of every open socket (tracemalloc).
        """
        self.proto.request = None
        self.proto.response = None

    def writable(self) -> bool:
        """False while the transport's buffer is over its high-water mark (flow control)."""
        return bool(self.proto.writable.is_set())

    async def write(self, frames: list[Data]) -> None:
        if not self.proto.writable.is_set():
            await self.proto.writable.wait()
        self.write_now(frames)

    def write_now(self, frames: list[Data]) -> None:
        """As ``write``, once ``writable``."""
        proto = self.proto
        if proto.disconnected or proto.close_sent or proto.transport.is_closing():
            raise WebSocketDisconnect(1006)
        conn = proto.conn
        if conn.state is not State.OPEN:
            raise WebSocketDisconnect(1006)
        if conn.extensions or conn.expect_continuation_frame:  # never under direkt serve (no compression)
            self._write_through_websockets(frames)
            return
        out = conn.data_to_send()  # nothing, unless websockets queued a frame of its own
        for data in frames:
            payload, first = (data, BINARY) if isinstance(data, bytes) else (data.encode(), TEXT)
            out.append(frame_header(payload, first))
            out.append(payload)
        proto.transport.write(b"".join(out))

    def _write_through_websockets(self, frames: list[Data]) -> None:
        conn = self.proto.conn
        try:
            for data in frames:
                if isinstance(data, bytes):
                    conn.send_binary(data)
                else:
                    conn.send_text(data.encode())
        except InvalidState:
            raise WebSocketDisconnect(1006) from None
        self.proto.transport.write(b"".join(conn.data_to_send()))


BINARY, TEXT = 0x82, 0x81  # FIN and the opcode


def frame_header(payload: bytes, first: int) -> bytes:
    """A whole, unmasked server frame's header (RFC 6455 §5.2): what websockets' ``Frame.serialize`` makes.

    Framed here, a batch costs one join; through websockets each frame made a
    ``Frame``, serialized it and queued it (a twentieth of the hub's CPU in the relay).
    """
    size = len(payload)
    if size < 126:
        return bytes((first, size))
    if size < 65536:
        return _HEAD16.pack(first, 126, size)
    return _HEAD64.pack(first, 127, size)


_HEAD16 = struct.Struct("!BBH")
_HEAD64 = struct.Struct("!BBQ")


_SANSIO_NEEDS = ("conn", "transport", "writable", "disconnected", "close_sent")


def writer_for(ws: WebSocket) -> Writer:
    proto = getattr(ws.scope.get(SERVER_SEND), "__self__", None)
    if isinstance(proto, WebSocketsSansIOProtocol) and all(hasattr(proto, name) for name in _SANSIO_NEEDS):
        return SansioWriter(proto)
    return AsgiWriter(ws)


class RecordServerSend:
    """ASGI middleware: keeps the server's ``send`` of a WebSocket in its scope (see ``writer_for``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)
