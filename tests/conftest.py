"""Shared fixtures: real Redis servers (embedded and a 3-master cluster), a
controllable clock, and the test care directory.

Tiers (STYLE): tests/unit are pure; tests/redis run every test against the
embedded Redis AND a Redis Cluster built from the same binary; tests/server
start real server processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import RedisCluster
from support import Cluster, make_directory, remove_made_dirs, short_tmpdir

from direkt.queue.model import Directory
from direkt.queue.scripts import RedisClient
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The session's Redis, server and audit folders go once every test passed: left behind they
    filled /tmp by gigabytes over many runs (Redis's data files). After a failure they stay, for the logs."""
    if exitstatus == 0:
        remove_made_dirs()


@pytest.fixture(scope="session")
def standalone_redis() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(short_tmpdir("dk-redis-"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Cluster]:
    cluster = Cluster(short_tmpdir("dk-cluster-"))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["standalone", "cluster"])
def redis_url(request: pytest.FixtureRequest) -> str:
    """The URL of a real, empty Redis: once embedded, once a Redis Cluster."""
    if request.param == "cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return str(request.getfixturevalue("standalone_redis").url)


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[RedisClient]:
    client = await connect(redis_url)
    if isinstance(client, RedisCluster):
        await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def directory() -> Directory:
    """The test care directory (tests/support.py), not the demo one."""
    return make_directory()
