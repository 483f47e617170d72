"""Hub fixtures: one real ``direkt serve`` process per module on the session's embedded Redis,
flushed before each test (every test logs in afresh)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from support import ServerProcess

from direkt.server.embedded_redis import EmbeddedRedis
from direkt.server.redisconn import connect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url)
    yield process
    process.stop()


@pytest.fixture(autouse=True)
async def clean_redis(standalone_redis: EmbeddedRedis) -> AsyncIterator[None]:
    client = await connect(standalone_redis.url)
    await client.flushall()
    await client.aclose()
    yield
