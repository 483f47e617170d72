"""Light clients for the load tests: one shared HTTP client per process, and a
WebSocket that hands each frame to a callback.

``direkt.loadtests.client`` keeps one ``httpx.AsyncClient`` per user and queues
every frame, which is right for tests that inspect frames and too heavy for
ten thousand users: httpx spent about 2 ms of client CPU per request here, so
the load generator, not the server, set the pace. Here one aiohttp session
carries every user of a process (each request names its session cookie; the
session's cookie jar stores nothing, so no session leaks into another's
request), and a ``Wire`` dispatches frames as they arrive.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgpack
import orjson

from direkt.loadtests.client import MSGPACK, ApiError
from direkt.loadtests.leanhttp import LeanHttp
from direkt.loadtests.wsclient import LeanSocket

SESSION_COOKIE = "direkt_session"
# uvicorn closes an idle keep-alive connection after 5 s (its default, which `direkt serve` keeps); aiohttp's
# default keeps one pooled for 15 s, so a request could go out on a connection the server is just closing
# (ServerDisconnectedError). The pool lets go of idle connections first.
IDLE_KEEPALIVE_S = 3.0
Frame = dict[str, Any]


@dataclass
class Session:
    """One logged-in user (a browser tab's cookie and CSRF token)."""

    cookie: str
    csrf: str
    uid: str


class Http:
    """One HTTP connection pool (aiohttp) for every simulated user of a process."""

    def __init__(self, base_url: str, connections: int = 64) -> None:
        self.base_url = base_url.rstrip("/")
        self.connections = connections
        self._client: aiohttp.ClientSession | None = None
        self._tickets: LeanHttp | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        if self._client is None:  # made inside the running loop
            connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=IDLE_KEEPALIVE_S)
            self._client = aiohttp.ClientSession(
                self.base_url, cookie_jar=aiohttp.DummyCookieJar(), headers={"Origin": self.base_url},
                connector=connector, timeout=aiohttp.ClientTimeout(total=60),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )  # fmt: skip
        return self._client

    async def aclose(self) -> None:
        if self._tickets is not None:
            self._tickets.close()
        if self._client is not None:
            await self._client.close()

    async def call(self, session: Session | None, method: str, path: str, body: Any = None) -> Any:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if session is not None:
            headers |= {"Cookie": f"{SESSION_COOKIE}={session.cookie}", "X-CSRF-Token": session.csrf}
        data = orjson.dumps(body) if body is not None else None
        async with self.client.request(method, path, data=data, headers=headers) as response:
            content = await response.read()
            if response.status >= 300:
                raise error_of(response.status, content)
            return orjson.loads(content) if content else None

    async def login(self, path: str, body: dict[str, Any]) -> Session:
        headers = {"Content-Type": "application/json"}
        async with self.client.post(path, data=orjson.dumps(body), headers=headers) as response:
            content = await response.read()
            if response.status >= 300:
                raise error_of(response.status, content)
            me = orjson.loads(content)
            return Session(response.cookies[SESSION_COOKIE].value, me["csrf"], me.get("uid", ""))

    async def ticket_url(self, session: Session) -> str:
        """A WebSocket URL with a fresh ticket, asked for through the lean client (``leanhttp``: every resume).

        The POST is retried once when the server closed the connection under it: asking for a ticket is safe
        to repeat (an unused ticket just expires), and the race with a closing keep-alive connection is the
        load client's, not the server's, so it must not count as the server's error.
        """
        if self._tickets is None:
            self._tickets = LeanHttp(self.base_url, self.connections)
        answer = await self._tickets.post("/api/tickets", f"{SESSION_COOKIE}={session.cookie}", session.csrf)
        if answer.status >= 300:
            raise error_of(answer.status, answer.body)
        ticket = orjson.loads(answer.body)["ticket"]
        return self.base_url.replace("http", "ws", 1) + f"/ws?ticket={ticket}"


def error_of(status: int, content: bytes) -> ApiError:
    try:
        error = orjson.loads(content)["error"]
        return ApiError(status, error["code"], error["message"])
    except (ValueError, KeyError, TypeError):
        return ApiError(status, "http", content[:200].decode(errors="replace"))


class Wire:
    """A direkt WebSocket (msgpack) whose frames go to ``on_frame`` as they arrive.

    ``request`` sends a frame with a fresh ``ref`` and returns its reply (or the
    error for it); replies go to the waiting caller, not to ``on_frame``. The
    socket is a ``LeanSocket`` (picows): frames are decoded in the transport's
    callback, with no reader task. ``open`` raises ``wsclient.Refused`` when the
    server refuses the handshake (its HTTP status and JSON body).
    """

    _refs = itertools.count(1)

    def __init__(self, on_frame: Callable[[Frame], None]) -> None:
        self.on_frame = on_frame
        self.pending: dict[str, tuple[str, asyncio.Future[Frame]]] = {}
        self.socket: LeanSocket | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None

    @classmethod
    async def open(cls, url: str, origin: str, on_frame: Callable[[Frame], None]) -> Wire:
        wire = cls(on_frame)
        wire.socket = await LeanSocket.open(
            url, wire._on_message, on_close=wire._on_close, headers={"Origin": origin}, subprotocol=MSGPACK,
            max_size=2**20, timeout=30,
        )  # fmt: skip
        return wire

    def _on_message(self, data: bytes) -> None:
        frame = msgpack.unpackb(data)
        waiting = self.pending.get(frame.get("ref", ""))
        if waiting is not None and frame.get("t") in (waiting[0], "error"):
            del self.pending[frame["ref"]]
            if not waiting[1].done():
                waiting[1].set_result(frame)
            return
        self.on_frame(frame)

    def _on_close(self, code: int) -> None:
        """The socket is gone: fail the waiting requests with its close code, then set ``closed``."""
        self.close_code = code
        for _, future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"socket closed ({self.close_code})"))
        self.pending.clear()
        self.closed.set()

    async def send(self, frame: Frame) -> None:
        assert self.socket is not None
        await self.socket.send(msgpack.packb(frame))

    async def request(self, frame: Frame, reply: str, timeout: float = 30.0) -> Frame:
        ref = f"w{next(self._refs)}"
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self.pending[ref] = (reply, future)
        try:
            await self.send({**frame, "ref": ref})
            return await asyncio.wait_for(future, timeout)
        finally:
            self.pending.pop(ref, None)

    def drop(self) -> None:
        """Lose the connection abruptly, as a phone leaving Wi-Fi does: no closing handshake."""
        if self.socket is not None:
            self.socket.drop()

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        await self.closed.wait()
