"""Small WebSocket clients for the load tools, benchmarks and tests.

``LeanSocket`` is the load clients' WebSocket (the relay's pairs, ``Wire``):
picows, a Cython frame parser and writer driven straight from the event
loop's ``Protocol`` callbacks. Each frame goes to a callback as it arrives,
with no reader task, no future per ``recv`` and no per-message lock: the load
machine shares its two cores with the server, so every microsecond of client
CPU per frame is taken from the server under test. Measured on the bare relay
(client CPU per message, same run): websockets' asyncio client about 50 µs, a
hand-written ``asyncio.Protocol`` on websockets' sans-I/O ``ClientProtocol``
about 40 µs (its frame parser is Python generators), picows about 30 µs, of
which the relay driver's own bookkeeping is a good part; per connect the three
were alike (0.5–0.7 ms, within the noise). ``count_pings`` speaks the
protocol through websockets' sans-I/O ``ClientProtocol`` so that it can see
(and choose not to answer) the server's keepalive pings, which a normal client
answers silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from picows import (
    WSCloseCode,
    WSFrame,
    WSHandshakeError,
    WSInvalidStatusError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

ABNORMAL_CLOSURE = 1006  # RFC 6455: the connection ended without a closing handshake
NO_STATUS_RECEIVED = 1005  # a close frame without a code (picows says 0)
CLOSE_WAIT_S = 5.0
PICOWS_LOG = logging.getLogger("picows.client")  # resolved once, not per connect
OnMessage = Callable[[bytes], None]
OnClose = Callable[[int], None]  # called once with the close code when the connection is gone


class Refused(ConnectionError):
    """The server answered the WebSocket handshake with an HTTP error, e.g. a 401 or 403 with a JSON body."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"handshake refused with HTTP {status}")
        self.status = status
        self.body = body


class LeanSocket(WSListener):
    """One client WebSocket whose data messages go to ``on_message`` as bytes.

    ``close_code`` is the code of the server's close frame, or 1006 when the
    connection ended without one (as websockets reports it); ``closed`` is set
    once the connection is gone. A fragmented message is reassembled, so the
    callback always sees whole messages whatever the server's frame size.
    """

    def __init__(self, on_message: OnMessage, on_close: OnClose | None = None) -> None:
        self.on_message = on_message
        self.on_close = on_close
        self.transport: WSTransport | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._parts: list[bytes] = []

    @classmethod
    async def open(
        cls, url: str, on_message: OnMessage, *, on_close: OnClose | None = None, headers: dict[str, str] | None = None,
        max_size: int = 2**20, subprotocol: str | None = None, timeout: float = 30.0,
    ) -> LeanSocket:  # fmt: skip
        """Connect, or raise ``Refused`` (the server's HTTP status and body) or an ``OSError``."""
        extra = dict(headers or {})
        if subprotocol is not None:
            extra["Sec-WebSocket-Protocol"] = subprotocol
        try:
            transport, listener = await ws_connect(
                lambda: cls(on_message, on_close), url, websocket_handshake_timeout=timeout, max_frame_size=max_size,
                extra_headers=extra, max_redirects=0, enable_auto_pong=True, logger_name=PICOWS_LOG,
                use_aiofastnet=False,  # uvloop's own connect, in C: aiofastnet's Python path cost more per connect
            )  # fmt: skip
        except WSInvalidStatusError as exc:
            status = int(exc.response.status) if exc.response is not None else 0
            raise Refused(status, exc.raw_body or b"") from exc
        except WSHandshakeError as exc:  # a malformed or non-WebSocket answer
            raise ConnectionError(f"handshake failed: {exc}") from exc
        if not isinstance(listener, LeanSocket):  # picows: the connection ended as the handshake completed
            raise ConnectionError("the connection ended during the WebSocket handshake")
        if subprotocol is not None and transport.response.headers.get("Sec-WebSocket-Protocol") != subprotocol:
            transport.disconnect(graceful=False)
            raise ConnectionError(f"the server did not accept subprotocol {subprotocol!r}")
        return listener

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.BINARY or kind is WSMsgType.TEXT:
            if frame.fin:
                self.on_message(frame.get_payload_as_bytes())
            else:
                self._parts = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION:
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                message, self._parts = b"".join(self._parts), []
                self.on_message(message)
        elif kind is WSMsgType.CLOSE:
            self.close_code = frame.get_close_code().value or NO_STATUS_RECEIVED
            if not transport.is_close_frame_sent:
                transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.close_code is None:
            handshake = transport.close_handshake
            received = handshake.recv if handshake is not None else None
            self.close_code = (received.code.value or NO_STATUS_RECEIVED) if received is not None else ABNORMAL_CLOSURE
        self._writable.set()  # a sender waiting for the buffer to drain finds the socket closed
        self.closed.set()
        if self.on_close is not None:
            self.on_close(self.close_code)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    async def send(self, data: bytes) -> None:
        """Send one binary message; wait while the write buffer is over its high-water mark."""
        if not self._writable.is_set():
            await self._writable.wait()
        self._send(WSMsgType.BINARY, data)

    async def send_text(self, text: str) -> None:
        if not self._writable.is_set():
            await self._writable.wait()
        self._send(WSMsgType.TEXT, text.encode())

    def send_text_now(self, text: str) -> None:
        """Send one text message from a frame callback, without waiting for the buffer (a protocol's pong)."""
        self._send(WSMsgType.TEXT, text.encode())

    def _send(self, kind: WSMsgType, data: bytes) -> None:
        if self.closed.is_set() or self.transport is None:
            raise ConnectionError(f"socket closed ({self.close_code})")
        self.transport.send(kind, data)

    def drop(self) -> None:
        """Lose the connection abruptly, as a phone leaving Wi-Fi does: no closing handshake."""
        if self.transport is not None:
            self.transport.disconnect(graceful=False)

    async def close(self, code: int = 1000) -> None:
        """The closing handshake: send a close frame, wait for the server's (at most 5 s), then hang up."""
        if self.transport is None or self.closed.is_set():
            return
        if not self.transport.is_close_frame_sent:
            self.transport.send_close(WSCloseCode(code))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closed.wait(), CLOSE_WAIT_S)
        self.transport.disconnect(graceful=False)
        await self.closed.wait()


async def count_pings(url: str, seconds: float, *, answer: bool = True) -> tuple[int, bool]:
    """Stay connected for ``seconds``; return (pings received, closed by server).

    With ``answer=False`` pongs are never sent, as from a dead peer.
    """
    uri = parse_uri(url)
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    protocol = ClientProtocol(uri)
    protocol.send_request(protocol.connect())
    _flush(protocol, writer, send=True)
    pings, closed = 0, False
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not data:
                closed = True
                break
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.PING:
                    pings += 1
            _flush(protocol, writer, send=answer)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return pings, closed


def _flush(protocol: ClientProtocol, writer: asyncio.StreamWriter, *, send: bool) -> None:
    for chunk in protocol.data_to_send():
        if send and chunk:
            writer.write(chunk)
