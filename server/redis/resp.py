"""A lean Redis connection: every command of a server process, and its pub/sub.

redis-py spends most of a command's cost outside Redis: a pool checkout, the
retry wrapper, asyncio timeout contexts, per-command metrics, one write and
one read per command (py-spy on ``direkt load compare``: a quarter of the
hub's CPU, for two commands per chat message; most of the citizen's HTTP
path). Here one TCP or unix-socket connection carries them, with hiredis (C)
parsing the replies; ``direkt.server.redis.connect.LeanRedis`` puts redis-py's
API and reply parsing on top.

* ``Commands``: commands from any number of coroutines share the connection.
  Each is written into a buffer that is flushed once per event-loop turn
  (auto-pipelining, as ioredis does), and replies are matched to callers in
  order. Redis runs the commands of one connection in the order they were
  written, so callers' order is kept with no lock and no batch in flight.
* ``PushWire``: a subscriber connection whose pushes (``message``,
  ``subscribe`` confirmations) go to a callback straight from
  ``data_received``: no task, no timeout and no wake-up per message.

Failures look as they do with redis-py, so callers handle one set of errors
(``REDIS_FAILURES``): a lost connection fails every waiting command with
``ConnectionError`` (none is retried: the caller decides, as with a timeout);
a reply not received within ``REPLY_TIMEOUT_S`` aborts the connection and fails
its commands with ``TimeoutError``; error replies are ``ResponseError``
(``NoScriptError`` for NOSCRIPT). The next command connects again.

``Commands`` needs one standalone server (TCP, TLS or a unix socket, with AUTH
and SELECT): a Redis Cluster routes commands by slot and answers MOVED, so
there the callers keep redis-py (``Address.of`` is None). Pub/sub works on
any one node of a cluster, because a classic PUBLISH reaches every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import ConnectionPool, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

CONNECT_TIMEOUT_S = 2.0
CONNECT_ATTEMPTS = 3  # a command that finds no connection: connect, then twice more (as redis-py retries)
CONNECT_BACKOFF_S = 0.05
REPLY_TIMEOUT_S = 5.0  # as redis-py's socket timeout in direkt.server.redis.connect
WATCH_INTERVAL_S = 1.0
_INCOMPLETE = object()
_PUSH_KINDS = frozenset({b"message", b"subscribe", b"unsubscribe"})


@dataclass(frozen=True)
class Address:
    """Where one Redis server listens, and how to log in."""

    host: str = ""
    port: int = 6379
    path: str = ""  # a unix socket, instead of host and port
    username: str | None = None
    password: str | None = None
    db: int = 0
    tls: ssl.SSLContext | None = None

    @classmethod
    def of(cls, client: Any) -> Address | None:
        """The server of a redis-py client; None for a Redis Cluster (slot routing: callers keep redis-py)."""
        if not isinstance(client, Redis):
            return None
        return cls.of_pool(client.connection_pool)

    @classmethod
    def of_pool(cls, pool: ConnectionPool) -> Address:
        """The server a redis-py connection pool connects to."""
        kwargs = pool.connection_kwargs
        common = _login(kwargs)
        if issubclass(pool.connection_class, UnixDomainSocketConnection):
            return cls(path=str(kwargs["path"]), **common)
        tls = _tls(kwargs) if issubclass(pool.connection_class, SSLConnection) else None
        return cls(host=str(kwargs.get("host", "localhost")), port=int(kwargs.get("port", 6379)), tls=tls, **common)

    @classmethod
    def nodes(cls, client: Any) -> list[Address]:
        """Every server a client knows: the one of a plain client, each node of a cluster (for pub/sub)."""
        if isinstance(client, RedisCluster):
            kwargs = client.connection_kwargs
            tls = _tls(kwargs) if kwargs.get("connection_class") is SSLConnection or kwargs.get("ssl") else None
            user, password = kwargs.get("username"), kwargs.get("password")
            return [
                cls(host=node.host, port=int(node.port), username=user, password=password, tls=tls)
                for node in client.get_nodes()
            ]
        found = cls.of(client)
        return [found] if found is not None else []

    def describe(self) -> str:
        if self.path:
            return f"unix://{self.path}"
        return f"{'rediss' if self.tls else 'redis'}://{self.host}:{self.port}"


def _login(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"username": kwargs.get("username"), "password": kwargs.get("password"), "db": int(kwargs.get("db") or 0)}


_VERIFY = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def _tls(kwargs: dict[str, Any]) -> ssl.SSLContext:
    """The TLS context redis-py would use for the same URL options (CA, client certificate, verification)."""
    context = ssl.create_default_context(cafile=kwargs.get("ssl_ca_certs"), cadata=kwargs.get("ssl_ca_data"))
    if kwargs.get("ssl_certfile"):
        context.load_cert_chain(kwargs["ssl_certfile"], kwargs.get("ssl_keyfile"))
    reqs = kwargs.get("ssl_cert_reqs", "required")
    verify = _VERIFY.get(reqs, ssl.CERT_REQUIRED) if isinstance(reqs, str) else ssl.VerifyMode(reqs)
    context.check_hostname = bool(kwargs.get("ssl_check_hostname", verify != ssl.CERT_NONE)) and verify != ssl.CERT_NONE
    context.verify_mode = verify
    return context


def _pack(command: tuple[Any, ...]) -> bytes:
    packed: bytes = hiredis.pack_command(command)  # the stub declares no return type
    return packed


def _reply_error(message: str) -> ResponseError:
    return NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)


class _Wire(asyncio.Protocol):
    """One connection: commands out, replies in order to their futures (or to ``on_push``)."""

    def __init__(
        self, on_push: Callable[[list[Any]], None] | None = None, reply_timeout: float = REPLY_TIMEOUT_S
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.reply_timeout = reply_timeout
        self.reader = hiredis.Reader(notEnoughData=_INCOMPLETE)
        self.transport: asyncio.Transport | None = None
        # (caller, sent at, replies it waits for, replies so far: a list when more than one,
        #  perf_counter at send for a timed caller, else 0: loop.time() is uvloop's millisecond clock)
        self.waiting: deque[tuple[asyncio.Future[Any], float, int, list[Any] | None, float]] = deque()
        self.out: list[bytes] = []
        self.on_push = on_push
        self.pushing = False  # set once logged in: from then on, pub/sub arrays go to on_push
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.error: Exception = RedisConnectionError("the connection to Redis was lost")
        self.writes = 0
        self._watch: asyncio.TimerHandle | None = None
        # Reply timing for metrics: every ``sample_every``-th caller's round trip goes to ``on_sample``.
        self.sample_every = 0
        self.on_sample: Callable[[float], None] | None = None
        self._untimed = 0

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self._watch = self.loop.call_later(min(WATCH_INTERVAL_S, self.reply_timeout / 2), self._check_replies)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not _INCOMPLETE:
            if self.pushing and type(reply) is list and reply and reply[0] in _PUSH_KINDS and self.on_push:
                self.on_push(reply)
            elif self.waiting:
                self._settle(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watch is not None:
            self._watch.cancel()
        self.transport = None
        for future, *_ in self.waiting:
            if not future.done():
                future.set_exception(self.error)
        self.waiting.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    # -- commands ----------------------------------------------------------------------

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        """Queue one packed command; written with the others of this loop turn."""
        return self._queue(packed, 1, None)

    def send_many(self, packed: list[bytes]) -> asyncio.Future[list[Any]]:
        """Queue several commands for one caller; its future gets the list of replies, error replies as values."""
        if not packed:
            done: asyncio.Future[list[Any]] = self.loop.create_future()
            done.set_result([])
            return done
        return self._queue(b"".join(packed), len(packed), [])

    def write_soon(self, packed: bytes) -> None:
        """Queue bytes whose answer comes as a push (a subscriber's SUBSCRIBE): written with this loop turn's others.

        A reconnect storm subscribes and unsubscribes one user channel per socket;
        written at once, each was a write system call of its own (9 % of a
        resume's server samples in a profile).
        """
        if self.transport is None:
            return
        if not self.out:
            self.loop.call_soon(self._flush)
        self.out.append(packed)

    def _queue(self, packed: bytes, replies: int, got: list[Any] | None) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self.loop.create_future()
        if self.transport is None:
            future.set_exception(self.error)
            return future
        if not self.out:
            self.loop.call_soon(self._flush)
        self.out.append(packed)
        timed = 0.0
        if self.on_sample is not None:  # a counter per caller; the clock one caller in N
            self._untimed += 1
            if self._untimed >= self.sample_every:
                self._untimed, timed = 0, time.perf_counter()
        self.waiting.append((future, self.loop.time(), replies, got, timed))
        return future

    def _flush(self) -> None:
        out, self.out = self.out, []
        if self.transport is not None and out:
            self.transport.write(b"".join(out))
            self.writes += 1

    def _settle(self, reply: Any) -> None:
        future, _, count, got, timed = self.waiting[0]
        if got is not None:  # one of several replies for one caller
            got.append(_reply_error(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply)
            if len(got) < count:
                return
        self.waiting.popleft()
        if timed and self.on_sample is not None:
            self.on_sample(time.perf_counter() - timed)
        if future.done():  # the caller was cancelled
            return
        if got is not None:
            future.set_result(got)
        elif isinstance(reply, hiredis.ReplyError):
            future.set_exception(_reply_error(str(reply)))
        else:
            future.set_result(reply)

    def _check_replies(self) -> None:
        """Abort a connection whose oldest command has waited too long (Redis stalled or unreachable)."""
        if self.waiting and self.loop.time() - self.waiting[0][1] > self.reply_timeout:
            self.abort(RedisTimeoutError(f"Redis did not answer within {self.reply_timeout:g} s"))
            return
        self._watch = self.loop.call_later(min(WATCH_INTERVAL_S, self.reply_timeout / 2), self._check_replies)

    def abort(self, error: Exception | None = None) -> None:
        if error is not None:
            self.error = error
        if self.transport is not None:
            self.transport.abort()


async def open_wire(
    address: Address, on_push: Callable[[list[Any]], None] | None = None, reply_timeout: float = REPLY_TIMEOUT_S
) -> _Wire:
    """Connect, log in and select the database; a failed attempt leaves no socket open.

    Raises:
        redis.exceptions.ConnectionError: not reachable, or the login was refused.
        redis.exceptions.TimeoutError: no answer in time.
    """
    loop = asyncio.get_running_loop()
    wire = _Wire(on_push, reply_timeout)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            if address.path:
                await loop.create_unix_connection(lambda: wire, address.path)
            else:
                await loop.create_connection(lambda: wire, address.host, address.port, ssl=address.tls)
            await _log_in(wire, address)
    except BaseException as exc:
        wire.abort()
        if isinstance(exc, TimeoutError):
            raise RedisTimeoutError(f"no answer from Redis at {address.describe()}") from None
        if isinstance(exc, OSError):
            raise RedisConnectionError(f"cannot reach Redis at {address.describe()}: {exc.strerror or exc}") from None
        if isinstance(exc, ResponseError):
            raise RedisConnectionError(f"Redis refused the login: {exc}") from None
        raise
    wire.pushing = on_push is not None
    return wire


async def _log_in(wire: _Wire, address: Address) -> None:
    if address.password is not None:
        credentials = (address.username, address.password) if address.username else (address.password,)
        await wire.send(_pack(("AUTH", *credentials)))
    if address.db:
        await wire.send(_pack(("SELECT", address.db)))


class Commands:
    """Commands from many coroutines over one auto-pipelined connection, connected on demand."""

    def __init__(self, address: Address, reply_timeout: float = REPLY_TIMEOUT_S) -> None:
        self.address = address
        self.reply_timeout = reply_timeout
        self._wire: _Wire | None = None
        self._connecting: asyncio.Task[_Wire] | None = None
        self._earlier_writes = 0  # of connections before this one
        self._sample: tuple[int, Callable[[float], None]] | None = None

    def sample_replies(self, every: int, on_sample: Callable[[float], None]) -> None:
        """Time one round trip in ``every`` (command written to reply read, in seconds) and pass it to ``on_sample``.

        Sampled so that timing costs nearly nothing per command: no lock and no
        clock read for the others. The time includes waiting for the loop turn
        that writes the command, as a caller sees it.
        """
        self._sample = (max(1, every), on_sample)
        if self._wire is not None:
            self._wire.sample_every, self._wire.on_sample = self._sample

    @property
    def writes(self) -> int:
        """Writes to Redis so far (several commands share one under load)."""
        return self._earlier_writes + (self._wire.writes if self._wire is not None else 0)

    async def call(self, *args: Any) -> Any:
        """One command's reply.

        Raises:
            redis.exceptions.RedisError: as redis-py would raise it (see the module docstring).
            TypeError: an argument is not str, bytes, int or float.
        """
        wire = self._wire if self._wire is not None and self._wire.transport is not None else await self._live()
        return await wire.send(_pack(args))

    async def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Several commands written together; error replies come back as ``ResponseError`` values.

        Raises:
            redis.exceptions.ConnectionError, TimeoutError: the connection failed (nothing is returned then).
        """
        packed = [_pack(command) for command in commands]
        wire = await self._live()
        replies: list[Any] = await wire.send_many(packed)
        return replies

    async def transaction(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """MULTI, the commands, EXEC: written together, so nothing of another caller comes between.

        Returns:
            EXEC's replies, error replies as ``ResponseError`` values.

        Raises:
            ResponseError: a command was refused when queued (nothing ran: EXECABORT).
        """
        replies = await self.pipeline([("MULTI",), *commands, ("EXEC",)])
        refused = [r for r in replies[:-1] if isinstance(r, ResponseError)]
        if refused:
            raise refused[0]
        if isinstance(replies[-1], ResponseError):
            raise replies[-1]
        return [_reply_error(str(r)) if isinstance(r, hiredis.ReplyError) else r for r in replies[-1]]

    async def _live(self) -> _Wire:
        """The open connection, connecting (with a short backoff, as redis-py retries) when there is none."""
        attempt = 0
        while True:
            try:
                return await self._connect()
            except RedisConnectionError:
                attempt += 1
                if attempt == CONNECT_ATTEMPTS:
                    raise
                await asyncio.sleep(CONNECT_BACKOFF_S * 2 ** (attempt - 1))

    async def eval(self, source: str, keys: list[Any], args: list[Any]) -> Any:
        """Run a Lua script, sent with its source.

        EVAL, not EVALSHA: Redis keeps the compiled script by its hash either way
        (measured: about 1 µs more of Redis CPU per call than EVALSHA), and a
        script Redis lost (a restart, SCRIPT FLUSH, a fail-over) can never
        answer NOSCRIPT. Retrying NOSCRIPT replies of pipelined calls without
        reordering them needs a barrier; sending the source needs nothing.
        """
        return await self.call("EVAL", source, len(keys), *keys, *args)

    async def _connect(self) -> _Wire:
        # One attempt at a time: callers arriving meanwhile wait for it (and share its failure).
        if self._wire is not None and self._wire.transport is not None:
            return self._wire
        if self._connecting is None:
            self._connecting = asyncio.create_task(open_wire(self.address, reply_timeout=self.reply_timeout))
        connecting = self._connecting
        try:
            wire = await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None
        if wire is not self._wire:
            self._earlier_writes += self._wire.writes if self._wire is not None else 0
            self._wire = wire
            if self._sample is not None:
                wire.sample_every, wire.on_sample = self._sample
        return wire

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(BaseException):
                await self._connecting
        if self._wire is not None:
            self._wire.abort(RedisConnectionError("closed"))
            await self._wire.closed
            self._wire = None


class PushWire:
    """A subscriber connection: ``on_push`` gets each ``[kind, channel, data]`` as it is read."""

    def __init__(self, wire: _Wire) -> None:
        self._wire = wire

    @classmethod
    async def open(
        cls, address: Address, on_push: Callable[[list[Any]], None], reply_timeout: float = REPLY_TIMEOUT_S
    ) -> PushWire:
        return cls(await open_wire(address, on_push, reply_timeout))

    def subscribe(self, *channels: str) -> None:
        """Ask for channels; each is confirmed by a ``subscribe`` push."""
        self._write(("SUBSCRIBE", *channels))

    def unsubscribe(self, *channels: str) -> None:
        self._write(("UNSUBSCRIBE", *channels))

    def _write(self, command: tuple[Any, ...]) -> None:
        self._wire.write_soon(_pack(command))

    async def ping(self) -> None:
        """A round trip (in subscribed mode Redis answers ``[pong, ""]``); fails if the connection is dead."""
        await self._wire.send(_pack(("PING",)))

    @property
    def closed(self) -> asyncio.Future[None]:
        """Done when the connection is lost."""
        return self._wire.closed

    async def aclose(self) -> None:
        self._wire.abort()
        await self._wire.closed
