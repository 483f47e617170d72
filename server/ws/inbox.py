"""Frames from one client: the receiving side of an accepted socket, one frame at a time, in order.

Readers hand the connection's receive loop each frame's data, and ``None``
once the socket is gone:

* ``SansioReader``, under uvicorn's ``websockets-sansio`` implementation (what
  ``direkt serve`` runs): the frames go from the protocol's parser into a
  short list of this socket (at most ``INBOX_FRAMES`` long, so taking the
  first is cheap; an empty list is about 0.7 KiB less per open socket than an
  empty deque). Through ASGI every frame was a message dict put in an
  ``asyncio.Queue``, reading paused and resumed on the transport (the queue
  held one frame at a time), and Starlette's ``receive`` wrapper: about a
  tenth of the hub's CPU in ``direkt load compare``. The list is bounded
  (``INBOX_FRAMES``): past it, reading pauses until the loop catches up, so a
  client that sends faster than it is served fills its own TCP window, not the
  server's memory; one read may hold thousands of tiny frames, so parsing
  stops there too and the rest of the read waits. Whole, unfragmented, masked
  text and binary frames within the size limit are also parsed here
  (``frame_at``; websockets' generator-based parser was a twentieth of the
  hub's CPU); every other frame goes to uvicorn and websockets as before,
  whole, so their parser stays at a frame boundary: pings, pongs and closes
  are answered by them, and a fragmented, compressed, unmasked, oversized or
  otherwise bad frame hands them the socket's bytes for good (they refuse it
  with its close code). Everything else stays uvicorn's: the handshake,
  keepalive pings, the close handshake (a disconnect still arrives as the ASGI
  message, put in the protocol's queue, which this reader takes over).
* ``AsgiReader`` everywhere else (any ASGI server, Starlette's TestClient):
  ``websocket.receive``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketState
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

from direkt.server.ws.outbox import SERVER_SEND, Data

INBOX_FRAMES = 16  # frames read but not yet handled, per socket, before reading pauses
CLOSE_INVALID_DATA = 1007
MORE = 1 << 62  # "ends past any data": a frame whose header is still to come


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

    __slots__ = ("_ended", "_frames", "_head", "_held", "_parse", "_partial", "_waiter", "proto", "ws")

    def __init__(self, proto: Any, ws: WebSocket) -> None:
        self.proto = proto
        self.ws = ws
        self._frames: list[Data] = []
        self._head = 0  # the next frame to hand out: ``_frames[_head:]`` wait (a list's pop(0) is O(n))
        self._ended = False
        self._waiter: asyncio.Future[None] | None = None
        self._partial = bytearray()  # read but not parsed: a frame's start, or the frames past a full inbox
        self._held = False  # parsing stopped at INBOX_FRAMES with whole frames still in ``_partial``
        self._parse: Callable[[bytes], None] = proto.data_received  # uvicorn's and websockets' way
        queued = proto.queue
        proto.queue = self
        proto.send_receive_event_to_app = self._on_frame  # an instance attribute: this protocol only
        if at_message_boundary(proto):  # websockets holds no partial frame or message: frames are ours from here on
            proto.data_received = self._on_data
            proto.transport.set_protocol(proto)  # the transport looks up data_received again
        while not queued.empty():  # frames that came while the socket registered
            self.put_nowait(queued.get_nowait())
        self._resume_reading()

    def _on_data(self, chunk: bytes) -> None:
        """Whole client data frames are read here; anything else goes to websockets' parser (``frame_at``).

        At most ``INBOX_FRAMES`` wait: one read (up to 256 KB) may hold
        thousands of tiny frames, so parsing stops there and the rest stays in
        ``_partial`` until the inbox drains (``_resume_reading``). ``_partial``
        is a bytearray that grows in place, so a frame that comes in many small
        reads costs its length once, not once per read.
        """
        kept = self._partial
        if kept:
            kept += chunk
            data: bytes | bytearray = kept
        else:
            data = chunk
        pos = self._parse_frames(data)
        if data is kept:
            del kept[:pos]
        elif pos < len(data):
            kept += data[pos:]

    def _parse_frames(self, data: bytes | bytearray) -> int:
        """Parses ``data`` from its start; returns where it stopped (``len(data)`` once all was handed on)."""
        proto, pos, end = self.proto, 0, len(data)
        self._held = False
        while pos < end:
            if proto.close_sent or proto.conn.state is not State.OPEN:
                self._parse(bytes(data[pos:]))
                return end
            full = self.waiting() >= INBOX_FRAMES
            if full or end - pos < 2:  # full (reading is paused), or not even 2 bytes of a frame
                self._held = full  # the rest waits in ``_partial`` for the inbox to drain
                return pos
            found = frame_at(data, pos, proto.conn.max_message_size)
            if found is None:  # not a whole, plain data frame: a control frame, or one websockets must refuse
                whole = control_frame_end(data, pos)
                if whole is None:  # not even a whole control frame: websockets parses from here on
                    proto.data_received = self._parse
                    proto.transport.set_protocol(proto)
                    self._parse(bytes(data[pos:]))
                    return end
                if whole > end:
                    return pos
                self._parse(bytes(data[pos:whole]))  # a ping, pong or close: uvicorn answers it
                pos = whole
                continue
            text, start, stop = found
            if stop > end:
                return pos
            payload = apply_mask(data[start:stop], data[start - 4 : start])
            self._deliver(payload, text)
            pos = stop
        return end

    def _deliver(self, payload: bytes, text: bool) -> None:
        if not text:
            self._push(payload)
            return
        try:
            self._push(payload.decode())
        except UnicodeDecodeError:
            self.proto.conn.send_close(CLOSE_INVALID_DATA)  # as uvicorn answers invalid UTF-8
            self.proto.handle_parser_exception()

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
        return not self.waiting() and not self._ended

    def waiting(self) -> int:
        """How many frames wait to be received."""
        return len(self._frames) - self._head

    async def get(self) -> dict[str, Any]:
        """The ASGI view, for anything that still calls the protocol's ``receive``."""
        data = await self.receive()
        if data is None:
            return {"type": "websocket.disconnect", "code": 1006}
        return {"type": "websocket.receive", "bytes" if isinstance(data, bytes) else "text": data}

    def _push(self, data: Data) -> None:
        self._frames.append(data)
        if self.waiting() >= INBOX_FRAMES and not self.proto.read_paused:
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
        while not self.waiting():
            if self._ended:
                self.ws.client_state = WebSocketState.DISCONNECTED
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._take()
        if (self.proto.read_paused or self._held) and self.waiting() < INBOX_FRAMES // 2:
            self._resume_reading()
        return data

    def _take(self) -> Data:
        """The oldest waiting frame. Past a fragmented message websockets' parser hands over a whole
        read at once (tens of thousands of tiny frames in 256 KiB), where pop(0) cost O(n) each."""
        frames, head = self._frames, self._head
        data = frames[head]
        head += 1
        if head == len(frames):
            frames.clear()
            head = 0
        elif head >= INBOX_FRAMES and 2 * head >= len(frames):  # the taken half goes: O(1) a frame overall
            del frames[:head]
            head = 0
        self._head = head
        return data

    def _resume_reading(self) -> None:
        """Reads on, and parses on the frames held back when the inbox was full (the next loop turn)."""
        proto = self.proto
        if self.waiting() >= INBOX_FRAMES:
            return
        if self._held:
            self._held = False
            asyncio.get_running_loop().call_soon(self._parse_held)
        if proto.read_paused and not proto.close_sent:
            proto.read_paused = False
            proto.transport.resume_reading()

    def _parse_held(self) -> None:
        """The held-back frames, unless a read came first (it parsed them) or the socket left our parser."""
        if self._partial and self.proto.data_received == self._on_data and not self.proto.transport.is_closing():
            self._on_data(b"")


def at_message_boundary(proto: Any) -> bool:
    """Whether websockets' parser stands between messages: no partial frame, no fragmented message begun.

    A first fragment that came before the take-over lives in
    ``conn.current_size`` and uvicorn's ``frames``; a frame whose header was
    read but whose payload was not leaves the read buffer empty, with the
    parser inside the frame (between frames it waits in ``at_eof``). In either
    case the rest must go to the same parser, so websockets keeps parsing for
    the socket's life. Anything unrecognised (another websockets) counts as
    not between messages: the safe side.
    """
    conn = proto.conn
    pending = getattr(getattr(conn, "reader", None), "buffer", None)
    if pending is None or pending or getattr(conn, "current_size", 0) is not None or proto.frames:
        return False
    waiting = getattr(conn, "parser", None)
    while (inner := getattr(waiting, "gi_yieldfrom", None)) is not None:
        waiting = inner
    return getattr(getattr(waiting, "gi_code", None), "co_name", None) == "at_eof"


def frame_at(data: bytes | bytearray, pos: int, max_size: int | None) -> tuple[bool, int, int] | None:
    """The whole masked data frame (RFC 6455 §5.2) starting at ``pos``: (text?, payload start, payload end).

    The end may lie past the data (the rest is still to come; ``MORE`` while
    the header itself is not all here). None for anything else: a control or
    continuation frame, a fragment, reserved bits, an unmasked frame, a
    payload over ``max_size``. Needs the frame's first two bytes.
    """
    end = len(data)
    first, second = data[pos], data[pos + 1]
    if first not in (0x81, 0x82) or second < 0x80:  # FIN, no reserved bits, text or binary; masked
        return None
    size, head = second & 0x7F, pos + 2
    if size >= 126:
        head += 2 if size == 126 else 8
        if head > end:
            return False, 0, MORE
        size = int.from_bytes(data[pos + 2 : head], "big")
    if max_size is not None and size > max_size:
        return None
    return first == 0x81, head + 4, head + 4 + size  # past the data if the mask or payload is still to come


def control_frame_end(data: bytes | bytearray, pos: int) -> int | None:
    """Where a ping, pong or close frame starting at ``pos`` ends (perhaps past the data), else None."""
    if len(data) - pos < 2 or data[pos] not in (0x88, 0x89, 0x8A):
        return None
    size = data[pos + 1]
    if size < 0x80 or size & 0x7F > 125:  # unmasked or too long: websockets refuses it
        return None
    return pos + 2 + 4 + (size & 0x7F)


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
