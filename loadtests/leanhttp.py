"""A lean HTTP/1.1 client for the one request every resume makes: ``POST /api/tickets``.

In a reconnect storm each simulated user asks for a ticket and opens a
socket; through aiohttp the ticket POST was the larger part of the load
client's CPU per resume (about 40 %, cProfile of the storm step: its request
object, header merging, URL handling, cookie jar and connector). The load
machine's two cores are shared with the server under test, so that CPU came
from the server. Here the request is a few header lines written on a kept-alive
connection (an ``asyncio.Protocol``) and the answer is parsed by httptools,
the parser uvicorn uses.

On the wire it is what a browser's ``fetch`` sends for the same call: the
session cookie, the CSRF header, the Origin, an empty body; at most
``connections`` at once, kept alive between requests and let go after
``IDLE_S`` (below uvicorn's 5 s keep-alive timeout). A request the server
closed the connection under is tried once more on a new connection (asking
for a ticket is safe to repeat: an unused ticket just expires).
"""

from __future__ import annotations

import asyncio
import time
from typing import cast
from urllib.parse import urlsplit

import httptools

IDLE_S = 3.0
ANSWER_TIMEOUT_S = 60.0


class Answer:
    __slots__ = ("body", "keep_alive", "status")

    def __init__(self, status: int, body: bytes, keep_alive: bool) -> None:
        self.status = status
        self.body = body
        self.keep_alive = keep_alive


class _Connection(asyncio.Protocol):
    """One kept-alive connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.waiter: asyncio.Future[Answer] | None = None
        self.used_at = time.monotonic()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"unreadable HTTP answer: {exc}"))
            self.close()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        answer = Answer(self.parser.get_status_code(), b"".join(self.body), self.parser.should_keep_alive())
        self.body = []
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("the server closed the connection before answering"))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def exchange(self, request: bytes) -> Answer:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        self.waiter = waiter
        self.transport.write(request)
        deadline = loop.call_later(ANSWER_TIMEOUT_S, self.close)  # no answer: the connection goes, the wait fails
        try:
            return await waiter
        finally:
            deadline.cancel()
            self.used_at = time.monotonic()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class LeanHttp:
    """POSTs without a body over at most ``connections`` kept-alive connections to one ``http://`` server."""

    def __init__(self, base_url: str, connections: int = 64) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the lean HTTP client speaks plain http:// only, not {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.connections = connections
        self._idle: list[_Connection] = []
        self._gate: asyncio.Semaphore | None = None  # made in the running loop

    def request(self, path: str, cookie: str, csrf: str) -> bytes:
        return (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nOrigin: {self.origin}\r\n"
            f"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nAccept: */*\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    async def post(self, path: str, cookie: str, csrf: str) -> Answer:
        """The answer; a connection the server closed under the request is tried once more on a new one."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.connections)
        request = self.request(path, cookie, csrf)
        async with self._gate:
            try:
                return await self._once(request)
            except ConnectionError:
                return await self._once(request)

    async def _once(self, request: bytes) -> Answer:
        conn = self._take() or await self._open()
        try:
            answer = await conn.exchange(request)
        except BaseException:
            conn.close()
            raise
        if answer.keep_alive and not conn.closed:
            self._idle.append(conn)
        else:
            conn.close()
        return answer

    def _take(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.used_at < IDLE_S:
                return conn
            conn.close()
        return None

    async def _open(self) -> _Connection:
        _, conn = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        return conn

    def close(self) -> None:
        for conn in self._idle:
            conn.close()
        self._idle.clear()
