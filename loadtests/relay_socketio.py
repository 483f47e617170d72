"""What a Python team would otherwise pick, for ``direkt load compare``:
python-socketio behind uvicorn with ``AsyncRedisManager``, relaying in rooms.

Side B joins room ``pair-<i>`` when it connects (Socket.IO connect auth
``{"join": i}``); side A emits ``relay`` with ``{pair, seq, body}`` and the
handler emits it to the room through the Redis manager, as a multi-node
deployment must. Note what python-socketio does with that emit on one node: it
delivers to the local members of the room first, then PUBLISHes the message to
Redis, and its listener receives its own message back, decodes it and drops it
(same host id). So every message costs a Redis round trip and a JSON round
trip on the server, but B's latency does not include Redis.

The client is a few lines of Engine.IO v4 / Socket.IO v5 over the same
picows ``LeanSocket`` the bare and direkt targets use (text frames, no
polling, no upgrade), not ``socketio.AsyncClient``: its aiohttp and engineio
layers (or even websockets' asyncio client, about twice picows' CPU per
message) would cost the client more than the other targets' clients and make
this baseline look worse than it is on a machine the clients share.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]

from direkt.loadtests.relay import OnReceive, UvicornProcess
from direkt.loadtests.wsclient import LeanSocket
from direkt.server.redis.embedded import EmbeddedRedis

REDIS_URL_ENV = "DIREKT_RELAY_REDIS_URL"
MAX_FRAME = 2**16
# Each emit runs in its own task (async_handlers) and PUBLISHes on a pooled
# connection, so one connection per message in flight. redis-py ≥ 6 caps the
# pool at 100 and raises beyond it; python-socketio then logs, drops its client
# and reconnects with a fresh pool on every such error, which collapses
# throughput (~500 msg/s at 100 pairs × 4 in flight). A team would lift the cap.
REDIS_MAX_CONNECTIONS = 10_000
# Engine.IO packet types come first in each frame, then Socket.IO's: "40" is
# message+connect, "42" message+event, "44" message+connect error.
EIO_OPEN, EIO_PING, EIO_PONG = "0", "2", "3"
SIO_CONNECT, SIO_EVENT = "40", "42"


# Server side.


def create_app(redis_url: str) -> Any:
    """The Socket.IO ASGI app; handlers are registered without decorators, which mypy cannot type."""
    manager = socketio.AsyncRedisManager(redis_url, redis_options={"max_connections": REDIS_MAX_CONNECTIONS})
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager)

    async def on_connect(sid: str, _environ: dict[str, Any], auth: Any) -> None:
        if isinstance(auth, dict) and "join" in auth:
            await sio.enter_room(sid, f"pair-{auth['join']}")

    async def on_relay(sid: str, data: dict[str, Any]) -> None:
        await sio.emit("relay", data, room=f"pair-{data['pair']}", skip_sid=sid)

    sio.on("connect", on_connect)
    sio.on("relay", on_relay)
    return socketio.ASGIApp(sio)


def app_from_env() -> Any:
    """uvicorn factory: the Redis URL comes from the benchmark through the environment."""
    return create_app(os.environ[REDIS_URL_ENV])


# Client side.


class SioSocket:
    """A WebSocket-only Engine.IO session on the load clients' ``LeanSocket``, default namespace only.

    Frames go to a callback, as on the other targets' clients: during
    ``connect`` to a queue that the handshake reads, afterwards each event
    (``42…``) to ``on_event`` and each server ping (``2``) answered at once.
    """

    def __init__(self, on_event: Callable[[bytes], None]) -> None:
        self.on_event = on_event
        self.handshake: asyncio.Queue[bytes] | None = asyncio.Queue()
        self.ws: LeanSocket | None = None

    async def connect(self, url: str, auth: dict[str, Any] | None = None) -> SioSocket:
        """Open the session and connect the namespace; returns once the server answered ``40``,
        i.e. after its connect handler ran (so B is in its room)."""
        self.ws = await LeanSocket.open(url, self._on_frame, on_close=self._on_close, max_size=MAX_FRAME)
        opened = await self._next()
        if not opened.startswith(EIO_OPEN):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
        await self.ws.send_text(SIO_CONNECT + (orjson.dumps(auth).decode() if auth else ""))
        while (answer := await self._next()) == EIO_PING:
            await self.ws.send_text(EIO_PONG)
        if not answer.startswith(SIO_CONNECT):
            raise RuntimeError(f"Socket.IO connect refused: {answer[:80]!r}")
        queued, self.handshake = self.handshake, None
        while queued is not None and not queued.empty():  # whatever came right behind the answer
            self._on_frame(queued.get_nowait())
        return self

    async def _next(self) -> str:
        assert self.handshake is not None
        message = await self.handshake.get()
        if not message:
            raise ConnectionError("the connection ended during the Socket.IO handshake")
        return message.decode()

    def _on_frame(self, message: bytes) -> None:
        if self.handshake is not None:
            self.handshake.put_nowait(message)
        elif message.startswith(b"42"):
            self.on_event(message)
        elif message == b"2" and self.ws is not None:
            with contextlib.suppress(ConnectionError):  # closing: the lost messages show it
                self.ws.send_text_now(EIO_PONG)

    def _on_close(self, _code: int) -> None:
        if self.handshake is not None:
            self.handshake.put_nowait(b"")

    async def send(self, text: str) -> None:
        assert self.ws is not None, "connect() first"
        await self.ws.send_text(text)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def _ignore(_message: bytes) -> None:
    """A gets no events (its pings are answered by ``SioSocket``)."""


class SocketIOPair:
    def __init__(self, index: int, a: SioSocket, b: SioSocket, payload_bytes: int) -> None:
        self.a, self.b = a, b
        self.prefix = f'{SIO_EVENT}["relay",{{"pair":{index},"seq":'
        self.suffix = f',"body":"{"x" * payload_bytes}"}}]'

    async def send(self, seq: int) -> None:
        await self.a.send(f"{self.prefix}{seq}{self.suffix}")

    async def close(self) -> None:
        await self.a.close()
        await self.b.close()


class SocketIOTarget:
    """``RelayTarget`` for python-socketio + AsyncRedisManager on an embedded Redis."""

    name = "socketio-redis"

    def __init__(self) -> None:
        self.data_dir: Path | None = None
        self.redis: EmbeddedRedis | None = None
        self.server: UvicornProcess | None = None
        self.pairs: list[SocketIOPair] = []

    async def start(self) -> None:
        if self.server is not None:
            return
        # A short path: the unix socket's must fit in 108 bytes.
        self.data_dir = Path(tempfile.mkdtemp(prefix="dk-sio-", dir="/tmp"))
        self.redis = EmbeddedRedis(self.data_dir).start()  # blocks briefly; nothing else runs yet
        self.server = UvicornProcess(
            "direkt.loadtests.relay_socketio:app_from_env", factory=True, env={REDIS_URL_ENV: self.redis.url}
        )
        await self.server.start()

    @property
    def url(self) -> str:
        assert self.server is not None, "start() first"
        return f"{self.server.ws_url}/socket.io/?EIO=4&transport=websocket"

    async def open_pair(self, index: int, on_receive: OnReceive, payload_bytes: int) -> SocketIOPair:
        b = await SioSocket(lambda message: on_receive(orjson.loads(message[2:])[1]["seq"])).connect(
            self.url, {"join": index}
        )
        a = await SioSocket(_ignore).connect(self.url)
        pair = SocketIOPair(index, a, b, payload_bytes)
        self.pairs.append(pair)
        return pair

    async def close(self) -> None:
        pairs, self.pairs = self.pairs, []
        await asyncio.gather(*(pair.close() for pair in pairs), return_exceptions=True)
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def server_pids(self) -> list[int]:
        pids = self.server.pids() if self.server is not None else []
        if self.redis is not None and self.redis.process is not None:
            pids.append(self.redis.process.pid)
        return pids
