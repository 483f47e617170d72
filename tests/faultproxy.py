"""A fault-injecting TCP proxy between server processes and Redis (loopback only).

The suite has real Redis and real server processes; this puts a controllable
network between them. It listens on 127.0.0.1, forwards every connection to one
Redis (TCP or unix socket), and runs on an event loop of its own in a thread, so
that tests of any kind (sync or async, any fixture scope) steer it with plain
method calls:

* ``pass_through()`` / ``heal()``: bytes flow. Healing releases stalled bytes in
  order and closes every connection whose bytes were dropped.
* ``delay(seconds)``: each chunk is forwarded ``seconds`` after it arrived, in
  order, both ways (added latency; a round trip costs twice that).
* ``stall()``: bytes are held, both ways, and released by ``heal()``, as a
  congested or partitioned network delivers TCP data late. A side that closes
  while its bytes are held closes the other side only after they were
  delivered: Redis still runs a command whose client gave up on it.
* ``drop()``: a blackhole. Connections (new ones too) are accepted, bytes are
  read and thrown away, and nothing answers; such a connection stays dead, and
  ``heal()`` resets it, as a TCP connection that timed out in a partition.
* ``reset()``: every open connection is closed at once, both sides (the mode
  stays as it was).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
CHUNK = 65_536


class Mode(enum.Enum):
    PASS = "pass"
    DELAY = "delay"
    STALL = "stall"
    DROP = "drop"


@dataclass
class _Pipe:
    """One direction of one connection: chunks read, waiting to be written."""

    writer: asyncio.StreamWriter
    queue: deque[tuple[float, bytes | None]] = field(default_factory=deque)  # (arrived at, chunk or EOF)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Pair:
    """A client connection and its upstream connection to Redis (None in a blackhole)."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    broken: bool = False  # bytes were dropped: the streams can never be in step again
    ended: int = 0  # directions closed in order
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        """Reset both sides (RST: SO_LINGER 0), dropping whatever is still queued."""
        for writer in (self.client, self.upstream):
            if writer is not None and writer.transport is not None:
                sock = writer.transport.get_extra_info("socket")
                if sock is not None and sock.family != socket.AF_UNIX:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """A TCP proxy to the Redis at ``target_url`` with faults switched on and off by the test."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target: tuple[str, int] | str = (
            parts.path if parts.scheme == "unix" else (parts.hostname or "127.0.0.1", parts.port or 6379)
        )
        self.mode = Mode.PASS
        self.latency = 0.0
        self.port = 0
        self.accepted = 0  # connections accepted so far
        self._pairs: set[_Pair] = set()
        self._flowing: asyncio.Event | None = None
        self._server: asyncio.Server | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy", daemon=True)

    # -- the test's controls (any thread) ------------------------------------------------

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        self._run(self._start())
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._run(self._stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def pass_through(self) -> None:
        self.heal()

    def heal(self) -> None:
        self._run(self._set(Mode.PASS, 0.0))

    def delay(self, seconds: float) -> None:
        self._run(self._set(Mode.DELAY, seconds))

    def stall(self) -> None:
        self._run(self._set(Mode.STALL, 0.0))

    def drop(self) -> None:
        self._run(self._set(Mode.DROP, 0.0))

    def reset(self) -> None:
        self._run(self._reset())

    def open_connections(self) -> int:
        return self._run(self._count())

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- on the proxy's loop -------------------------------------------------------------

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        tasks = [task for pair in self._pairs for task in pair.tasks if task is not asyncio.current_task()]
        await self._reset()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _count(self) -> int:
        return len(self._pairs)

    async def _set(self, mode: Mode, latency: float) -> None:
        assert self._flowing is not None
        self.mode, self.latency = mode, latency
        if mode is Mode.DROP:
            for pair in self._pairs:
                pair.broken = True  # bytes in flight are lost with the rest
        if mode is Mode.STALL:
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode is Mode.PASS:
            for pair in [p for p in self._pairs if p.broken]:
                self._close(pair)

    async def _reset(self) -> None:
        for pair in list(self._pairs):
            self._close(pair)

    def _close(self, pair: _Pair) -> None:
        self._pairs.discard(pair)
        pair.abort()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        pair = _Pair(writer)
        self._pairs.add(pair)
        if self.mode is Mode.DROP:
            pair.broken = True  # a blackhole: Redis never hears of this connection
            pair.tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            try:
                with contextlib.suppress(OSError):
                    while await reader.read(CHUNK):
                        pass
            finally:
                self._pairs.discard(pair)
                writer.transport.abort()
            return
        try:
            up_reader, pair.upstream = await self._open_upstream()
        except OSError:
            self._close(pair)
            return
        to_redis, to_client = _Pipe(pair.upstream), _Pipe(writer)
        pair.tasks += [
            asyncio.create_task(self._read(reader, to_redis, pair)),
            asyncio.create_task(self._write(to_redis, pair)),
            asyncio.create_task(self._read(up_reader, to_client, pair)),
            asyncio.create_task(self._write(to_client, pair)),
        ]

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(self._target, str):
            return await asyncio.open_unix_connection(self._target)
        return await asyncio.open_connection(*self._target)

    async def _read(self, reader: asyncio.StreamReader, pipe: _Pipe, pair: _Pair) -> None:
        """Read one side; queue what it sends (or throw it away in a blackhole), then its end."""
        with contextlib.suppress(OSError):
            while chunk := await reader.read(CHUNK):
                if self.mode is Mode.DROP or pair.broken:
                    pair.broken = True
                    continue
                self._put(pipe, chunk)
        if not pair.broken:
            self._put(pipe, None)

    def _put(self, pipe: _Pipe, chunk: bytes | None) -> None:
        pipe.queue.append((asyncio.get_running_loop().time(), chunk))
        pipe.ready.set()

    async def _write(self, pipe: _Pipe, pair: _Pair) -> None:
        """Write what the other side sent, once the network lets it through; close after its end."""
        assert self._flowing is not None
        loop = asyncio.get_running_loop()
        try:
            while True:
                await pipe.ready.wait()
                await self._flowing.wait()
                if pair.broken:
                    pipe.queue.clear()
                    pipe.ready.clear()
                    continue
                arrived, chunk = pipe.queue[0]
                if self.mode is Mode.DELAY and (wait := arrived + self.latency - loop.time()) > 0:
                    await asyncio.sleep(wait)  # the added latency itself
                    continue  # the mode may have changed meanwhile
                pipe.queue.popleft()
                if not pipe.queue:
                    pipe.ready.clear()
                if chunk is None:  # that side closed: close this one after what it sent (FIN, not RST)
                    pipe.writer.close()
                    pair.ended += 1
                    if pair.ended == 2:
                        self._pairs.discard(pair)
                    return
                pipe.writer.write(chunk)
                await pipe.writer.drain()
        except OSError:
            self._close(pair)


class ProxyGroup:
    """Several proxies (one per node of a Redis Cluster) steered as one network."""

    def __init__(self, proxies: list[FaultProxy]) -> None:
        self.proxies = proxies

    @property
    def url(self) -> str:
        return self.proxies[0].url

    def heal(self) -> None:
        for proxy in self.proxies:
            proxy.heal()

    def delay(self, seconds: float) -> None:
        for proxy in self.proxies:
            proxy.delay(seconds)

    def stall(self) -> None:
        for proxy in self.proxies:
            proxy.stall()

    def drop(self) -> None:
        for proxy in self.proxies:
            proxy.drop()

    def reset(self) -> None:
        for proxy in self.proxies:
            proxy.reset()
