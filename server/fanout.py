"""Cross-process fan-out: one Redis pub/sub connection per server process.

Local listeners (connections) subscribe to channels (a case, a user, a
region's queue events); the first listener of a channel subscribes the
process, the last one unsubscribes it. Subscribing waits for Redis to confirm,
so a caller that subscribes, then reads the stream, cannot miss an entry
published in between (it may see one twice; callers drop ids they have).

Pub/sub is at-most-once: when the connection to Redis drops, messages are
lost. On reconnect (ours, or the one redis-py makes by itself inside
``get_message``) every channel is subscribed again and every listener is
told to resynchronise (``on_resync``): chat listeners re-read their streams
from the last id they delivered, so nothing is lost, only delayed.
Reading uses a blocking ``get_message(timeout=…)``, never ``timeout=0``
(TARGETS: that spins a core).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any, Protocol

import structlog

from direkt.queue.scripts import REDIS_FAILURES, RedisClient

log = structlog.get_logger("direkt.fanout")
CONFIRM_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 1.0
MAX_BACKOFF_S = 2.0


class Listener(Protocol):
    def on_message(self, channel: str, data: bytes) -> None: ...

    def on_resync(self) -> None: ...


class Fanout:
    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self._listeners: defaultdict[str, set[Listener]] = defaultdict(set)
        self._confirm: dict[str, asyncio.Future[None]] = {}
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self.reconnects = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-fanout")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_pubsub()

    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Deliver ``channel`` to ``listener``; returns once Redis confirmed it.

        Raises:
            TimeoutError: Redis did not confirm in time (the caller refuses the request).
        """
        async with self._lock:
            first = channel not in self._listeners
            self._listeners[channel].add(listener)
            if not first:
                return
            waiter = asyncio.get_running_loop().create_future()
            self._confirm[channel] = waiter
        await asyncio.wait_for(self._connected.wait(), CONFIRM_TIMEOUT_S)
        # On failure the reader reconnects and subscribes again; the waiter resolves then.
        with contextlib.suppress(*REDIS_FAILURES):
            await self._pubsub.subscribe(channel)
        await asyncio.wait_for(asyncio.shield(waiter), CONFIRM_TIMEOUT_S)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            listeners = self._listeners.get(channel)
            if listeners is None:
                return
            listeners.discard(listener)
            if listeners:
                return
            del self._listeners[channel]
            self._confirm.pop(channel, None)
        if self._pubsub is not None:
            with contextlib.suppress(*REDIS_FAILURES):
                await self._pubsub.unsubscribe(channel)

    def channels(self) -> int:
        return len(self._listeners)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._open()
                delay = 0.1
                await self._read()
            except REDIS_FAILURES as exc:
                log.warning("fanout_reconnecting", problem=str(exc) or type(exc).__name__, retry_in_s=delay)
            except OSError as exc:
                log.warning("fanout_reconnecting", problem=str(exc), retry_in_s=delay)
            self._connected.clear()
            await self._close_pubsub()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)

    async def _open(self) -> None:
        self._pubsub = self.client.pubsub()
        channels = list(self._listeners)
        if channels:
            await self._pubsub.subscribe(*channels)
        else:  # a connection is made by the first command; keep one open to notice failures
            await self._pubsub.subscribe("dk:fanout:alive")
        self._connected.set()
        # redis-py reconnects a dropped pub/sub connection by itself and subscribes
        # again, silently: what was published in between is lost, and without this
        # callback no listener would ever resynchronise (entries lost for good).
        connection = getattr(self._pubsub, "connection", None)
        if connection is not None:
            connection.register_connect_callback(self._resubscribed)
        if self.reconnects or channels:
            self._resync_all()
        self.reconnects += 1

    def _resubscribed(self, _connection: object) -> None:
        """redis-py reconnected and subscribed again (after its own callback): resynchronise."""
        log.warning("fanout_resubscribed", channels=len(self._listeners))
        self.reconnects += 1
        self._resync_all()

    async def _read(self) -> None:
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=READ_TIMEOUT_S)
            if message is None:
                continue
            channel = message["channel"].decode()
            if message["type"] == "subscribe":
                waiter = self._confirm.pop(channel, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
            elif message["type"] == "message":
                self._dispatch(channel, message["data"])

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

    async def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = None
