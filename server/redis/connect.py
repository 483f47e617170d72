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

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from direkt.queue.scripts import REDIS_FAILURES, RedisClient
from direkt.server.errors import RedisUnavailable
from direkt.server.redis.resp import Address, Commands

SOCKET_TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
# A cluster command's whole deadline against its reply timeout: a little longer, so that a plain
# read that times out is redis-py's own timeout (it then asks for the topology again, which a
# master that stopped answering needs), and the deadline cuts only what is slower than one reply.
DEADLINE_MARGIN = 1.25
# Connections per server process. redis-py's default pool refuses the 101st
# concurrent command outright ("Too many connections"), which turned a burst of
# a hundred arriving citizens into 503s; a blocking pool makes the burst queue
# for a connection instead, for at most POOL_WAIT_S.
POOL_SIZE = 256
POOL_WAIT_S = 5.0


def _options(reply_timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": reply_timeout,
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


async def connect(url: str, reply_timeout: float = SOCKET_TIMEOUT_S) -> RedisClient:
    """Open a client for ``url`` and check that the server answers.

    Args:
        reply_timeout: seconds a command may wait for its reply before it fails (``DIREKT_REDIS_TIMEOUT_SECONDS``).

    Raises:
        RedisUnavailable: naming the (credential-free) URL and the reason.
    """
    client = lean_client(url, reply_timeout)
    try:
        info = await client.info("cluster")
    except (*REDIS_FAILURES, OSError) as exc:
        await client.aclose()
        raise RedisUnavailable(f"cannot reach Redis at {describe(url)}: {exc or type(exc).__name__}") from None
    if not info.get("cluster_enabled"):
        return client
    await client.aclose()
    options = _options(reply_timeout) | {"retry": Retry(NoBackoff(), 0)}
    cluster = BoundedCluster.from_url(url, max_connections=POOL_SIZE, **options)
    assert isinstance(cluster, BoundedCluster)  # from_url builds ``cls``
    cluster.deadline_s = reply_timeout * DEADLINE_MARGIN
    try:
        await cluster.initialize()
    except (*REDIS_FAILURES, OSError) as exc:
        await cluster.aclose()
        raise RedisUnavailable(f"cannot use the Redis Cluster at {describe(url)}: {exc}") from None
    return cluster


T = TypeVar("T")


async def within(call: Awaitable[T], seconds: float) -> T:
    """``call``'s result, or redis-py's TimeoutError (a ``RedisError``) once ``seconds`` have passed."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise RedisTimeoutError(f"no answer from the Redis Cluster within {seconds:g} s") from None


class BoundedCluster(RedisCluster):
    """A Redis Cluster client whose every command and pipeline ends within ``deadline_s``.

    A socket timeout bounds one reply only. After a timeout the client asks the
    nodes for the topology again, one at a time, each with its own connect
    timeout: with the network to Redis cut, a chat message then went unanswered
    for up to six seconds, twice in a 10 s cut, instead of failing closed within
    about ``DIREKT_REDIS_TIMEOUT_SECONDS`` (issue 19, TARGETS 11; tests/fault/test_redis_cut.py).
    The deadline is the reply timeout × ``DEADLINE_MARGIN``.
    """

    deadline_s: float = SOCKET_TIMEOUT_S

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return await within(super().execute_command(*args, **kwargs), self.deadline_s)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # refused there, as redis-py refuses it
        pipe = BoundedPipeline(self, transaction)  # type: ignore[abstract]  # as redis-py builds its own
        pipe.deadline_s = self.deadline_s
        return pipe


class BoundedPipeline(ClusterPipeline):
    """A cluster pipeline that ends within ``deadline_s`` (``BoundedCluster``)."""

    deadline_s: float = SOCKET_TIMEOUT_S

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        return await within(super().execute(raise_on_error, allow_redirections), self.deadline_s)


def lean_client(url: str, reply_timeout: float = SOCKET_TIMEOUT_S) -> LeanRedis:
    """A client of one Redis server (not yet connected); its pool serves ``pubsub()`` only."""
    # RESP2, as the lean connection speaks: redis-py then parses replies with its RESP2 callbacks.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=POOL_WAIT_S, protocol=2, **_options(reply_timeout)
    )
    return LeanRedis(pool, Commands(Address.of_pool(pool), reply_timeout=reply_timeout))


class LeanRedis(Redis):
    """redis-py's API, with every command sent over one lean auto-pipelined connection.

    redis-py's own path costs 50–70 µs of CPU per command (a pool checkout
    under a lock, the retry wrapper, timeout contexts, per-command metrics):
    with about 30 commands per arriving citizen, that was most of the hub's
    CPU on the HTTP path. Here ``execute_command`` and pipelines go through
    ``direkt.server.redis.resp.Commands`` and keep redis-py's reply parsing (its
    response callbacks), so callers see the same values and the same
    exceptions. ``pubsub()`` still uses redis-py's pool.

    One connection for all callers means commands run in the order they were
    made, and a blocking command (BLPOP, XREAD BLOCK, WAIT) would hold up
    everyone: direkt sends none. WATCH is per connection and cannot be shared:
    use a Lua script (the waiting room does).
    """

    def __init__(self, pool: ConnectionPool, commands: Commands) -> None:
        super().__init__(connection_pool=pool)
        self.auto_close_connection_pool = True
        self.lean = commands

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            reply = await self.lean.call(*_split_name(args))
        except ResponseError:
            if EMPTY_RESPONSE in options:
                return options[EMPTY_RESPONSE]
            raise
        except TypeError as exc:
            raise DataError(f"invalid argument for Redis: {exc}") from None
        return await _parsed(self.response_callbacks, args[0], reply, options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> LeanPipeline:
        return LeanPipeline(self, transaction)

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await self.lean.aclose()
        await super().aclose(close_connection_pool)


class LeanPipeline(Pipeline):
    """A redis-py pipeline whose ``execute`` writes the queued commands together on the lean connection."""

    def __init__(self, client: LeanRedis, transaction: bool) -> None:
        super().__init__(client.connection_pool, client.response_callbacks, transaction, None)
        self.lean = client.lean

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack, self.command_stack = self.command_stack, []
        if not stack:
            return []
        commands = [_split_name(args) for args, _ in stack]
        try:
            replies = await (self.lean.transaction(commands) if self.is_transaction else self.lean.pipeline(commands))
        except TypeError as exc:
            raise DataError(f"invalid argument for Redis: {exc}") from None
        results = []
        for (args, options), reply in zip(stack, replies, strict=True):
            if isinstance(reply, ResponseError):
                results.append(options.get(EMPTY_RESPONSE, reply))
            else:
                results.append(await _parsed(self.response_callbacks, args[0], reply, options))
        if raise_on_error:
            self.raise_first_error(stack, results)
        return results


_NOT_FOR_CALLBACKS = frozenset({"keys", NEVER_DECODE, EMPTY_RESPONSE})


def _split_name(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``("SCRIPT LOAD", src)`` → ``("SCRIPT", "LOAD", src)``: redis-py names some commands in two words."""
    name = args[0]
    if isinstance(name, str) and " " in name:
        return (*name.split(), *args[1:])
    return args


async def _parsed(callbacks: Any, name: Any, reply: Any, options: Any) -> Any:
    """The reply as redis-py's response callback for the command makes it (``parse_response``)."""
    options = {k: v for k, v in options.items() if k not in _NOT_FOR_CALLBACKS}
    callback = callbacks.get(name)
    if callback is None:
        return reply
    value = callback(reply, **options)
    return await value if inspect.isawaitable(value) else value
