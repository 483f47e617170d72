"""Noticing that Redis lost its data, so that no socket outlives the session it was opened under.

Redis restarted empty (no AOF, or a lost disk) or flushed by mistake takes every
session, case file, lease and transcript with it. A socket whose session is gone
must end (4001) at once, not at its next keepalive round, half a minute later:
until then a citizen typed into a chat no one would ever read (issue 19).

A marker key holds a random value, set once by whichever process comes first.
Every process remembers the value it saw; when the key is gone or holds another
value, the data it stood beside is gone too. The check is one GET every
``CHECK_INTERVAL_S`` per process, and runs at once when the fan-out's
connection to Redis comes back (Redis may have restarted). On a Redis Cluster
the marker lives on one node: a node that lost its data alone is found by the
sockets' keepalive rounds instead (and no write is acked into a case whose
record is gone: ``direkt.server.care.writeguard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable

import structlog

from direkt.queue.scripts import REDIS_FAILURES, RedisClient
from direkt.server.errors import DirektError
from direkt.server.redis.fanout import ALIVE_CHANNEL, Fanout
from direkt.server.redis.keys import DATA_MARKER

log = structlog.get_logger("direkt.datawatch")
CHECK_INTERVAL_S = 5.0


class DataWatch:
    """Calls ``on_lost`` once each time the marker is found gone or changed.

    Also a fan-out listener (of the always-subscribed liveness channel): a
    reconnect of the fan-out triggers a check at once.
    """

    def __init__(
        self,
        client: RedisClient,
        fanout: Fanout,
        on_lost: Callable[[], Awaitable[None]],
        interval: float = CHECK_INTERVAL_S,
    ) -> None:
        self.client = client
        self.fanout = fanout
        self.on_lost = on_lost
        self.interval = interval
        self.known: bytes | str | None = None
        self.losses = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-datawatch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- fan-out listener ----------------------------------------------------------------

    def on_message(self, channel: str, data: bytes) -> None:
        pass

    def on_resync(self) -> None:
        self._wake.set()

    # -- the check -----------------------------------------------------------------------

    async def check(self) -> bool:
        """Read the marker (setting it if missing); True when the data it stood beside is gone."""
        seen = await self.client.get(DATA_MARKER)
        if seen is None:
            await self.client.set(DATA_MARKER, secrets.token_hex(16), nx=True)
            seen = await self.client.get(DATA_MARKER)
        lost = self.known is not None and seen != self.known
        self.known = seen
        return lost

    async def _run(self) -> None:
        with contextlib.suppress(DirektError):  # Redis not up yet: subscribed on the fan-out's first connection
            await self.fanout.subscribe(ALIVE_CHANNEL, self)
        # The first check at once: until the marker has been read there is nothing to compare
        # with, and a loss in the first interval after start would pass unnoticed.
        self._wake.set()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            try:
                lost = await self.check()
            except REDIS_FAILURES as exc:
                log.warning("data_check_failed", problem=type(exc).__name__)
                continue
            if lost:
                self.losses += 1
                log.error("redis_data_lost", losses=self.losses)
                try:
                    await self.on_lost()
                except Exception:
                    log.exception("data_loss_sweep_failed")
