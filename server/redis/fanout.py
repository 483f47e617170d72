"""Cross-process fan-out: one Redis pub/sub connection per server process.

Local listeners (connections) subscribe to channels (a case, a user, a
region's queue events); the first listener of a channel subscribes the
process, the last one unsubscribes it. Subscribing waits for Redis to confirm,
so a caller that subscribes, then reads the stream, cannot miss an entry
published in between (it may see one twice; callers drop ids they have).

Messages are read by ``direkt.server.redis.resp.PushWire`` and handed to the
listeners straight from the socket's read callback, in the order Redis sent
them (redis-py's ``get_message`` cost a timeout context and several calls per
message: a tenth of the hub's CPU in ``direkt load compare``).

Pub/sub is at-most-once: when the connection to Redis drops, messages are
lost. The connection is never re-opened behind our back: on every reconnect
all channels are subscribed again and every listener is told to
resynchronise (``on_resync``); chat listeners re-read their streams from the
last id they delivered, so nothing is lost, only delayed. A PING every
``HEALTH_INTERVAL_S`` finds a connection that died silently (a partition);
the PING fails within the reply timeout and the connection is opened again.
On a Redis Cluster the connection goes to one node (any: a PUBLISH reaches
them all), the next one on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from typing import Any, Protocol

import structlog

from direkt.queue.scripts import REDIS_FAILURES, RedisClient
from direkt.server.errors import RedisUnavailable
from direkt.server.redis.resp import REPLY_TIMEOUT_S, Address, PushWire

log = structlog.get_logger("direkt.fanout")
CONFIRM_TIMEOUT_S = 5.0
HEALTH_INTERVAL_S = 15.0
MAX_BACKOFF_S = 2.0
# Always subscribed: a connection with no channel would not notice a failure until the next PING.
ALIVE_CHANNEL = "dk:fanout:alive"


class Listener(Protocol):
    def on_message(self, channel: str, data: bytes) -> None: ...

    def on_resync(self) -> None: ...


class Fanout:
    def __init__(self, client: RedisClient, reply_timeout: float = REPLY_TIMEOUT_S) -> None:
        self.client = client
        self.reply_timeout = reply_timeout
        self._listeners: defaultdict[str, set[Listener]] = defaultdict(set)
        # The channel's pending confirmation, which later subscribers wait for too.
        self._confirm: dict[str, asyncio.Future[None]] = {}
        # One entry per SUBSCRIBE written on the current connection and not yet confirmed, in
        # order: Redis confirms in order, so a confirmation resolves only the waiter registered
        # before its own SUBSCRIBE was written (not a re-subscription's, after an UNSUBSCRIBE).
        self._expected: defaultdict[str, deque[asyncio.Future[None] | None]] = defaultdict(deque)
        self._wire: PushWire | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._node = 0
        self.reconnects = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_wire()

    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Deliver ``channel`` to ``listener``; returns once Redis confirmed it.

        Raises:
            RedisUnavailable: Redis did not confirm in time (the caller refuses the
                request). The listener stays registered: the next reconnect subscribes it.
        """
        try:
            await self._subscribe(channel, listener)
        except TimeoutError:
            raise RedisUnavailable("Redis is unavailable: a subscription was not confirmed in time") from None

    async def _subscribe(self, channel: str, listener: Listener) -> None:
        # No lock: nothing below awaits between reading and changing the tables.
        first = channel not in self._listeners
        self._listeners[channel].add(listener)
        if not first:
            pending = self._confirm.get(channel)
            if pending is not None and not pending.done():  # subscribed once Redis confirmed the first SUBSCRIBE
                async with asyncio.timeout(CONFIRM_TIMEOUT_S):
                    await asyncio.shield(pending)
            return
        waiter = asyncio.get_running_loop().create_future()
        self._confirm[channel] = waiter
        async with asyncio.timeout(CONFIRM_TIMEOUT_S):
            if not self._connected.is_set():  # a resume storm subscribes thousands of channels: no task each
                await self._connected.wait()
            # If the connection fails now, the reader reconnects and subscribes every
            # channel again; the waiter resolves with that confirmation. A reconnect
            # while we waited above has already written this channel's SUBSCRIBE.
            if self._wire is not None and waiter not in self._expected[channel]:
                self._expected[channel].append(waiter)
                self._wire.subscribe(channel)
            await asyncio.shield(waiter)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if listeners is None:
            return
        listeners.discard(listener)
        if listeners:
            return
        del self._listeners[channel]
        self._confirm.pop(channel, None)
        if self._wire is not None:
            self._wire.unsubscribe(channel)

    def channels(self) -> int:
        return len(self._listeners)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._open()
                delay = 0.1
                await self._watch()
            except (*REDIS_FAILURES, OSError) as exc:
                log.warning("fanout_reconnecting", problem=str(exc) or type(exc).__name__, retry_in_s=delay)
            self._connected.clear()
            await self._close_wire()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    async def _open(self) -> None:
        nodes = Address.nodes(self.client)
        if not nodes:
            raise OSError("no Redis server to subscribe on")
        self._node = (self._node + (1 if self.reconnects else 0)) % len(nodes)
        self._wire = await PushWire.open(nodes[self._node], self._on_push, self.reply_timeout)
        channels = list(self._listeners)
        self._expected.clear()  # the old connection's confirmations will never come
        for channel in channels:
            self._expected[channel].append(self._confirm.get(channel))
        self._wire.subscribe(ALIVE_CHANNEL, *channels)
        self._connected.set()
        if self.reconnects or channels:
            self._resync_all()
        self.reconnects += 1

    async def _watch(self) -> None:
        """Until the connection is lost (or a PING finds it dead)."""
        assert self._wire is not None
        while True:
            done, _ = await asyncio.wait({self._wire.closed}, timeout=HEALTH_INTERVAL_S)
            if done:
                raise OSError("the pub/sub connection to Redis was lost")
            await self._wire.ping()

    def _on_push(self, push: list[Any]) -> None:
        kind, channel = push[0], push[1].decode()
        if kind == b"message":
            self._dispatch(channel, push[2])
        elif kind == b"subscribe":
            expected = self._expected.get(channel)
            if not expected:
                return  # the alive channel
            waiter = expected.popleft()
            if not expected:
                del self._expected[channel]
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            if waiter is not None and self._confirm.get(channel) is waiter:
                del self._confirm[channel]

    def _dispatch(self, channel: str, data: bytes) -> None:
        for listener in tuple(self._listeners.get(channel, ())):
            try:
                listener.on_message(channel, data)
            except Exception:
                log.exception("listener_failed", channel_kind=channel.split(":")[1])

    def _resync_all(self) -> None:
        listeners = {listener for group in self._listeners.values() for listener in group}
        for listener in listeners:
            listener.on_resync()

    async def _close_wire(self) -> None:
        if self._wire is not None:
            wire, self._wire = self._wire, None
            with contextlib.suppress(Exception):
                await wire.aclose()
