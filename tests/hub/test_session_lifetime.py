"""A session's absolute lifetime ends its open sockets (TARGETS 15: "expiry → that user's
sockets closed promptly"), however busy they are: activity slides the idle timeout, never
the absolute one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from support import ServerProcess, timeout
from support_hub import citizen, not_logged_in

from direkt.loadtests.client import Socket
from direkt.server.redis.embedded import EmbeddedRedis

LIFETIME_S = 4.0


@pytest.fixture(scope="module")
def short_lived(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, DIREKT_SESSION_LIFETIME_SECONDS=str(LIFETIME_S))
    yield process
    process.stop()


async def keep_busy(sock: Socket, stop: asyncio.Event) -> None:
    """Ping about every 200 ms and read the pongs, as an active client does, until stopped."""
    n = 0
    while not stop.is_set():
        n += 1
        await sock.request({"t": "ping", "n": n}, "pong")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)  # pacing the client, not waiting for the server


async def test_a_busy_socket_is_closed_with_4001_when_its_session_expires(short_lived: ServerProcess) -> None:
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        erik = await citizen(short_lived.base)
        logged_in = loop.time()
        stack.push_async_callback(erik.aclose)
        sock = await erik.socket()
        stack.push_async_callback(sock.close)
        await sock.expect("welcome")
        stop = asyncio.Event()
        busy = asyncio.create_task(keep_busy(sock, stop))
        try:
            await asyncio.wait_for(sock.closed.wait(), LIFETIME_S + timeout(5))
        finally:
            stop.set()
            await asyncio.gather(busy, return_exceptions=True)
        assert sock.close_code == 4001
        assert loop.time() - logged_in >= LIFETIME_S * 0.9  # at the end of its life, not before
        assert await not_logged_in(erik.http)  # and the session is over
