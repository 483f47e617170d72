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

The client is a few lines of Engine.IO v4 / Socket.IO v5 over ``websockets``
(text frames, no polling, no upgrade), not ``socketio.AsyncClient``: its
aiohttp and engineio layers would cost the client more than the other
targets' clients and make this baseline look worse than it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from direkt.loadtests.relay import OnReceive, UvicornProcess
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


async def sio_connect(url: str, auth: dict[str, Any] | None = None) -> ClientConnection:
    """Open a WebSocket-only Engine.IO session and connect the default namespace.

    Returns once the server has answered ``40``, i.e. after its connect handler
    ran (so B is in its room).
    """
    ws = await connect(url, compression=None, max_size=MAX_FRAME, proxy=None)
    opened = await ws.recv(decode=True)
    if not opened.startswith(EIO_OPEN):
        raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
    await ws.send(SIO_CONNECT + (orjson.dumps(auth).decode() if auth else ""))
    while (answer := await ws.recv(decode=True)) == EIO_PING:
        await ws.send(EIO_PONG)
    if not answer.startswith(SIO_CONNECT):
        raise RuntimeError(f"Socket.IO connect refused: {answer[:80]!r}")
    return ws


class SocketIOPair:
    def __init__(
        self, index: int, a: ClientConnection, b: ClientConnection, on_receive: OnReceive, payload_bytes: int
    ) -> None:
        self.a, self.b = a, b
        self.prefix = f'{SIO_EVENT}["relay",{{"pair":{index},"seq":'
        self.suffix = f',"body":"{"x" * payload_bytes}"}}]'
        self.readers = [asyncio.create_task(self._read_b(on_receive)), asyncio.create_task(self._read_a())]

    async def _read_b(self, on_receive: OnReceive) -> None:
        with contextlib.suppress(ConnectionClosed):  # a dropped connection shows as lost messages
            while True:
                message = await self.b.recv(decode=False)
                if message.startswith(b"42"):
                    on_receive(orjson.loads(message[2:])[1]["seq"])
                elif message == b"2":
                    await self.b.send(EIO_PONG)

    async def _read_a(self) -> None:
        """A gets nothing but the server's pings, which must be answered."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                if await self.a.recv(decode=False) == b"2":
                    await self.a.send(EIO_PONG)

    async def send(self, seq: int) -> None:
        await self.a.send(f"{self.prefix}{seq}{self.suffix}")

    async def close(self) -> None:
        await self.a.close()
        await self.b.close()
        for task in self.readers:
            task.cancel()


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
        b = await sio_connect(self.url, {"join": index})
        a = await sio_connect(self.url)
        pair = SocketIOPair(index, a, b, on_receive, payload_bytes)
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
