"""Hub fixtures: one real ``direkt serve`` process per module on the session's embedded Redis,
flushed before each test (every test logs in afresh).

A module tunes its server by setting ``SERVER_ENV`` (settings as ``DIREKT_*`` environment
variables, as in tests/support_hub.py); modules that split one subject share the same settings so.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from support import ServerProcess, reseeded
from support_hub import GUARDIAN, UNLISTED, Login, citizen, staff

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, **getattr(request.module, "SERVER_ENV", {}))
    yield process
    process.stop()


@pytest.fixture
async def erik(server: ServerProcess) -> AsyncIterator[Client]:
    """Erik, logged in on the module's server (a citizen with no children)."""
    client = await citizen(server.base)
    yield client
    await client.aclose()


@pytest.fixture
async def redis(standalone_redis: EmbeddedRedis) -> AsyncIterator[RedisClient]:
    """A client of the Redis the module's server uses (to look at keys and the audit stream)."""
    client = await connect(standalone_redis.url)
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def clean_redis(standalone_redis: EmbeddedRedis) -> AsyncIterator[None]:
    client = await connect(standalone_redis.url)
    await client.flushall()
    await client.aclose()
    await asyncio.to_thread(reseeded, standalone_redis.url)
    yield


# -- logins for tests/hub/test_http_*.py: closed after the test ------------------------------------


@pytest.fixture
async def login(server: ServerProcess) -> AsyncIterator[Login]:
    """Log in as a citizen (``pnr=``) or staff member (``staff=``); every client is closed after the test."""
    opened: list[Client] = []

    async def log_in(*, pnr: str = "", staff_id: str = "") -> Client:
        client = await (staff(server.base, staff_id) if staff_id else citizen(server.base, pnr))
        opened.append(client)
        return client

    yield log_in
    for client in opened:
        await client.aclose()


@pytest.fixture
async def stranger(login: Login) -> Client:
    """Another citizen, who must not learn anything about Erik's cases."""
    return await login(pnr=UNLISTED)


@pytest.fixture
async def maja(login: Login) -> Client:
    """Guardian of Elsa (8) and Lova (13)."""
    return await login(pnr=GUARDIAN)


@pytest.fixture
async def nurse(login: Login) -> Client:
    """Nora, nurse at vc-t and 1177-t."""
    return await login(staff_id="nurse-1")


@pytest.fixture
async def colleague(login: Login) -> Client:
    """Olle, nurse at vc-t too."""
    return await login(staff_id="nurse-2")


@pytest.fixture
async def outsider(login: Login) -> Client:
    """Pia, nurse at vc-other only."""
    return await login(staff_id="nurse-other")
