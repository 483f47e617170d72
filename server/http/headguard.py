"""uvicorn's httptools protocol, guarded while a request head is arriving.

A request head (request line and headers) is the part of a connection that
nothing can be authenticated on yet: the session cookie and the WebSocket
ticket are in it. Three bounds apply while it arrives:

* size: past ``MAX_REQUEST_HEAD`` bytes the answer is 431 and the connection
  closes (httptools would buffer a header of any size). Only the head's own
  bytes count: a read often holds the end of the head and the start of the
  body (a photo's first 64 to 256 KiB), so a read is fed to the parser up to
  the room left, and what follows the head's end goes on uncounted. Counting
  whole reads refused phone photos now and then, whenever a head arrived in
  two segments;
* time: the whole head must arrive within ``HeadLimits.timeout_s`` of the
  connection opening (or, on a kept-alive connection, of the next request's
  first byte). A client that trickles a header a byte at a time (slowloris)
  is answered 408 and closed; a connection that sent nothing is just closed
  (a browser's unused preconnection is no error). uvicorn's own keep-alive
  timeout covers the idle time between requests, and nothing covered a head
  that never ends: 300 such connections stayed open for 100 s and more.
  The server's own slowness is not held against a client: when the time is
  up while bytes the client sent wait unread in the socket (a loop busy with
  a reconnect storm runs its timers before it reads), the head gets one more
  ``timeout_s`` (``unread``). Before, ten thousand sockets reconnecting at
  once lost some of their connections this way, with their heads on time;
  a slowloris client gains at most that one period per head;
* number: at most ``HeadLimits.per_address`` connections per client address
  may be waiting for their head at once, per server process. One more is
  answered 429 and closed at once. Connections past their head (requests in
  progress, open WebSockets) are not counted, so a crowd at the door does not
  touch a client already inside. Connections whose heads arrive in
  milliseconds rarely meet, so many users behind one NAT address stay far
  below the cap.

``GuardedHttp`` is what uvicorn is given: it makes one protocol per
connection, all of a process sharing one count per address (``Door``).
"""

from __future__ import annotations

import asyncio
import fcntl
import struct
import termios
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

MAX_REQUEST_HEAD = 64 * 1024


@dataclass(frozen=True)
class HeadLimits:
    timeout_s: float = 10.0  # the whole request head, from the connection (or the request's first byte)
    per_address: int = 128  # connections of one client address still sending their head, per process


class Door:
    """Connections still sending their request head, counted per client address (pure bookkeeping)."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._waiting: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        """Count one more new connection of ``address``; False (not counted) when the door is full."""
        if self._waiting[address] >= self.per_address:
            return False
        self._waiting[address] += 1
        return True

    def count(self, address: str) -> None:
        """Count a kept-alive connection back at the door (never refused: it is in already).

        Counted even past the cap, so that connections trickling their second
        request keep new ones of the same address out.
        """
        self._waiting[address] += 1

    def leave(self, address: str) -> None:
        self._waiting[address] -= 1
        if self._waiting[address] <= 0:
            del self._waiting[address]

    def waiting(self, address: str) -> int:
        return self._waiting[address]


def error_answer(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer with the app's typed JSON error, closing the connection."""
    body = orjson.dumps({"error": {"code": code, "message": message}})
    head = b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n" % len(body)
    if status == 429:
        head += b"retry-after: 1\r\n"
    return STATUS_LINE[status] + head + b"\r\n" + body


TOO_MANY_WAITING = error_answer(429, "rate_limited", "too many connections from your address; retry in a moment")
HEAD_TOO_SLOW = error_answer(408, "request_timeout", "the request head did not arrive in time")
HEAD_TOO_LARGE = error_answer(431, "head_too_large", f"the request head is over {MAX_REQUEST_HEAD // 1024} KiB")


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeadLimits | None = None,
        door: Door | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits or HeadLimits()
        self.door = door or Door(self.limits.per_address)
        self._head_bytes = 0
        self._in_head = True  # a new connection starts by reading a request head
        self._head_begun = False  # a byte of the current head has arrived
        self._at_door: str | None = None  # the address this connection is counted under while at the door
        self._head_timer: asyncio.TimerHandle | None = None
        self._late_once = False  # this head already had its one more period (``unread``)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self._address()
        if not self.door.admit(address):
            self.logger.info("Connection refused: too many connections from one address still sending a request.")
            transport.write(TOO_MANY_WAITING)
            transport.close()
            return
        self._wait_for_head(address)

    def connection_lost(self, exc: Exception | None) -> None:
        self._leave()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            # A body; or, pipelined behind one, a head that begins inside this read: that head
            # is counted from the next read on (still bounded: at most one read over the limit).
            super().data_received(data)
            return
        room = MAX_REQUEST_HEAD - self._head_bytes
        head, rest = data[:room], data[room:]
        still_in_head = self._feed(head)
        if still_in_head:
            self._head_bytes += len(head)  # after the feed: a new message resets the count
        if not rest or self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # all fed; or refused; or upgraded (uvicorn drops bytes after a WebSocket head too)
        if still_in_head:
            self.logger.warning("Request head over %d bytes refused.", MAX_REQUEST_HEAD)
            self._refuse(HEAD_TOO_LARGE)
            return
        super().data_received(rest)  # the head ended inside this read: the rest is body

    def _feed(self, data: bytes) -> bool:
        """Hand bytes to the parser; True while the request head is still arriving."""
        super().data_received(data)
        return self._in_head

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request httptools cannot parse, as the app's typed JSON error."""
        self._refuse(error_answer(400, "bad_request", msg))

    def _refuse(self, answer: bytes) -> None:
        self.transport.write(answer)
        self.transport.close()

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes, self._head_begun = True, 0, True
        super().on_message_begin()
        if self._at_door is None:  # the next request of a kept-alive connection: its time starts now
            address = self._address()
            self.door.count(address)
            self._wait_for_head(address)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_begun = False, False
        self._leave()  # before a WebSocket upgrade hands the transport to another protocol
        super().on_headers_complete()

    # -- the door ----------------------------------------------------------------------------

    def _address(self) -> str:
        return self.client[0] if self.client else ""

    def _wait_for_head(self, counted_as: str) -> None:
        self._at_door = counted_as
        self._late_once = False
        self._head_timer = self.loop.call_later(self.limits.timeout_s, self._head_too_slow)

    def _leave(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._at_door is not None:
            self.door.leave(self._at_door)
            self._at_door = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a request still being answered: its time starts once that is done.
            self._head_timer = self.loop.call_later(self.limits.timeout_s, self._head_too_slow)
            return
        if self.transport.is_closing():
            self._leave()
            return
        if not self._late_once and unread(self.transport) > 0:
            # The client's bytes are here and the server has not read them yet: the delay is ours.
            self._late_once = True
            self._head_timer = self.loop.call_later(self.limits.timeout_s, self._head_too_slow)
            return
        self._leave()
        if self._head_begun:
            self.logger.info("Request head not complete within %g s: connection closed.", self.limits.timeout_s)
            self.transport.write(HEAD_TOO_SLOW)
        self.transport.close()


_INT = struct.Struct("i")


def unread(transport: asyncio.BaseTransport) -> int:
    """Bytes waiting in the socket's receive buffer that the server has not read yet (0 if unknown)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        found: int = _INT.unpack(fcntl.ioctl(sock.fileno(), termios.FIONREAD, bytes(_INT.size)))[0]
    except OSError:
        return 0  # closed meanwhile
    return found


class GuardedHttp:
    """uvicorn's ``http`` option: one ``BoundedHttpToolsProtocol`` per connection, one ``Door`` per process.

    uvicorn sends its configuration to worker processes by pickling it, so
    the door is made in the process that serves, on its first connection.
    """

    def __init__(self, limits: HeadLimits) -> None:
        self.limits = limits
        self._door: Door | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"limits": self.limits, "_door": None}

    def __call__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> BoundedHttpToolsProtocol:
        if self._door is None:
            self._door = Door(self.limits.per_address)
        return BoundedHttpToolsProtocol(config, server_state, app_state, _loop, limits=self.limits, door=self._door)
