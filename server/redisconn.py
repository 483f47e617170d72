"""Connecting to Redis: one server (TCP or unix socket) or a Redis Cluster.

``REDIS_URL`` may name any node of a cluster; the connector asks the server
whether cluster mode is on and returns the matching client. Responses stay
bytes (msgpack blobs live in Redis).

Retries: only a ConnectionError (the command never reached a server, e.g. a
pooled connection that died with a Redis restart) is retried. A timeout is
not: the script may have run, and only the caller knows whether repeating it
is safe (see ``direkt.queue.waitroom`` for which operations are).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from direkt.queue.scripts import REDIS_FAILURES, RedisClient
from direkt.server.errors import RedisUnavailable

SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
# Connections per server process. redis-py's default pool refuses the 101st
# concurrent command outright ("Too many connections"), which turned a burst of
# a hundred arriving citizens into 503s; a blocking pool makes the burst queue
# for a connection instead, for at most POOL_WAIT_S.
POOL_SIZE = 256
POOL_WAIT_S = 5.0


def _options() -> dict[str, Any]:
    return {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 2, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 15,
    }


def describe(url: str) -> str:
    """The URL without credentials, for messages and logs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


async def connect(url: str) -> RedisClient:
    """Open a client for ``url`` and check that the server answers.

    Raises:
        RedisUnavailable: naming the (credential-free) URL and the reason.
    """
    client = Redis.from_pool(
        BlockingConnectionPool.from_url(url, max_connections=POOL_SIZE, timeout=POOL_WAIT_S, **_options())
    )
    try:
        info = await client.info("cluster")
    except (*REDIS_FAILURES, OSError) as exc:
        await client.aclose()
        raise RedisUnavailable(f"cannot reach Redis at {describe(url)}: {exc or type(exc).__name__}") from None
    if not info.get("cluster_enabled"):
        return client
    await client.aclose()
    cluster = RedisCluster.from_url(url, max_connections=POOL_SIZE, **_options())
    try:
        await cluster.initialize()
    except (*REDIS_FAILURES, OSError) as exc:
        await cluster.aclose()
        raise RedisUnavailable(f"cannot use the Redis Cluster at {describe(url)}: {exc}") from None
    return cluster
