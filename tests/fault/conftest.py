"""Fault fixtures: a Redis behind fault proxies (tests/faultproxy.py), once the session's embedded
Redis and once a Redis Cluster whose every node sits behind a proxy of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from faultproxy import FaultProxy, ProxyGroup
from support import short_tmpdir
from support_fault import Faulty, ProxiedCluster

from direkt.server.redis.embedded import EmbeddedRedis


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def faulty_redis(request: pytest.FixtureRequest) -> Iterator[Faulty]:
    if request.param == "cluster":
        cluster = ProxiedCluster(short_tmpdir("dk-pcluster-"))
        cluster.start()
        yield Faulty(cluster.proxies, cluster.direct_url)
        cluster.stop()
        return
    redis: EmbeddedRedis = request.getfixturevalue("standalone_redis")
    with FaultProxy(redis.url) as proxy:
        yield Faulty(ProxyGroup([proxy]), redis.url)
