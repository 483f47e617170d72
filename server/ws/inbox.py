"""Frames from one client: the receiving side of an accepted socket, one frame at a time, in order.

Readers hand the connection's receive loop each frame's data, and ``None``
once the socket is gone:

* ``SansioReader``, under uvicorn's ``websockets-sansio`` implementation (what
  ``direkt serve`` runs): the frames go from the protocol's parser into a
  short list of this socket. Through ASGI every frame was a message dict put
  in an ``asyncio.Queue``, reading paused and resumed on the transport (the
  queue held one frame at a time), and Starlette's ``receive`` wrapper: about
  a tenth of the hub's CPU in ``direkt load compare``. The list is bounded
  (``INBOX_FRAMES``): past it, reading pauses until the loop catches up, so a
  client that sends faster than it is served fills its own TCP window, not
  the server's memory. Everything else stays uvicorn's: the handshake, the
  frame size limit, ping and pong, the close handshake and its codes (a
  disconnect still arrives as the ASGI message, put in the protocol's queue,
  which this reader takes over).
* ``AsgiReader`` everywhere else (any ASGI server, Starlette's TestClient):
  ``websocket.receive``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketState
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from direkt.server.ws.outbox import SERVER_SEND, Data

INBOX_FRAMES = 16  # frames read but not yet handled, per socket, before reading pauses
CLOSE_INVALID_DATA = 1007


class Reader(Protocol):
    async def receive(self) -> Data | None: ...


class AsgiReader:
    __slots__ = ("ws",)

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def receive(self) -> Data | None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return None
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
            if data is not None:
                return data  # type: ignore[no-any-return]  # bytes or str by the ASGI spec


class SansioReader:
    """Takes over the protocol's queue (``put_nowait``, ``get``, ``empty``) and its per-frame hand-off."""

    __slots__ = ("_ended", "_frames", "_waiter", "proto", "ws")

    def __init__(self, proto: Any, ws: WebSocket) -> None:
        self.proto = proto
        self.ws = ws
        self._frames: list[Data] = []
        self._ended = False
        self._waiter: asyncio.Future[None] | None = None
        queued = proto.queue
        proto.queue = self
        proto.send_receive_event_to_app = self._on_frame  # an instance attribute: this protocol only
        while not queued.empty():  # frames that came while the socket registered
            self.put_nowait(queued.get_nowait())
        self._resume_reading()

    # -- the protocol's side (uvicorn calls these) ------------------------------------------

    def _on_frame(self) -> None:
        """A whole message was parsed (uvicorn's ``send_receive_event_to_app``, without the ASGI hop)."""
        proto = self.proto
        parts = proto.frames
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        proto.frames = []
        if proto.close_sent:  # past our close: dropped, as uvicorn does, until the peer's close reply
            return
        if proto.curr_msg_data_type == "text":
            try:
                data = bytes(data).decode()
            except UnicodeDecodeError:
                proto.conn.send_close(CLOSE_INVALID_DATA)
                proto.handle_parser_exception()
                return
        self._push(data)

    def put_nowait(self, message: dict[str, Any]) -> None:
        """An ASGI receive event from the protocol: a disconnect (or a frame queued before the take-over)."""
        kind = message["type"]
        if kind == "websocket.disconnect":
            self._ended = True
            self._wake()
        elif kind == "websocket.receive":
            data = message.get("bytes")
            self._push(data if data is not None else message["text"])

    def empty(self) -> bool:
        return not self._frames and not self._ended

    async def get(self) -> dict[str, Any]:
        """The ASGI view, for anything that still calls the protocol's ``receive``."""
        data = await self.receive()
        if data is None:
            return {"type": "websocket.disconnect", "code": 1006}
        return {"type": "websocket.receive", "bytes" if isinstance(data, bytes) else "text": data}

    def _push(self, data: Data) -> None:
        frames = self._frames
        frames.append(data)
        if len(frames) >= INBOX_FRAMES and not self.proto.read_paused:
            self.proto.read_paused = True
            self.proto.transport.pause_reading()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the connection's side --------------------------------------------------------------

    async def receive(self) -> Data | None:
        """The next frame's data, oldest first; ``None`` once the client is gone and every frame was read."""
        frames = self._frames
        while not frames:
            if self._ended:
                self.ws.client_state = WebSocketState.DISCONNECTED
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = frames.pop(0)
        if self.proto.read_paused and len(frames) < INBOX_FRAMES // 2:
            self._resume_reading()
        return data

    def _resume_reading(self) -> None:
        proto = self.proto
        if proto.read_paused and not proto.close_sent and len(self._frames) < INBOX_FRAMES:
            proto.read_paused = False
            proto.transport.resume_reading()


_SANSIO_NEEDS = ("queue", "frames", "curr_msg_data_type", "read_paused", "close_sent", "transport", "conn")


def reader_for(ws: WebSocket) -> Reader:
    """The lean reader under uvicorn's sans-I/O protocol (found as ``outbox.writer_for`` finds it), else ASGI."""
    proto = getattr(ws.scope.get(SERVER_SEND), "__self__", None)
    if (
        isinstance(proto, WebSocketsSansIOProtocol)
        and all(hasattr(proto, name) for name in _SANSIO_NEEDS)
        and callable(getattr(proto, "send_receive_event_to_app", None))
        and callable(getattr(proto, "handle_parser_exception", None))
    ):
        return SansioReader(proto, ws)
    return AsgiReader(ws)
