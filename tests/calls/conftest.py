"""Call fixtures: a real ``direkt serve`` per module (calls time out quickly), flushed Redis per test,
and this process's aiortc peers gathering on loopback only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from support import ServerProcess, reseeded
from support_hub import Chat, open_chat

from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling.ice import gather_only_on

pytestmark = pytest.mark.slow

SERVER_ENV = {
    "DIREKT_ICE_HOST_ADDRESSES": "127.0.0.1",
    "DIREKT_CALL_RING_SECONDS": "3",
    "DIREKT_CALL_SETUP_SECONDS": "6",
    "DIREKT_CALLTEST_MAX": "2",
}


@pytest.fixture(scope="module", autouse=True)
def loopback_peers() -> None:
    gather_only_on(["127.0.0.1"])


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, **SERVER_ENV)
    yield process
    process.stop()


@pytest.fixture(autouse=True)
async def clean_redis(standalone_redis: EmbeddedRedis) -> AsyncIterator[None]:
    client = await connect(standalone_redis.url)
    await client.flushall()
    await client.aclose()
    await asyncio.to_thread(reseeded, standalone_redis.url)
    yield


@pytest.fixture
async def chat(server: ServerProcess) -> AsyncIterator[Chat]:
    """Erik and nurse-1 in an open chat (both sockets joined)."""
    async with open_chat(server.base) as opened:
        yield opened
