"""The lean Redis connection (``direkt.server.redis.resp``) against real redis-server processes.

What the hub would get wrong if it were wrong: a reply given to the wrong
caller (another message's id in an ack), a call that waits for ever when
Redis dies or stalls, a connection that never comes back, or a subscriber
that misses or reorders messages.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from support import Cluster, free_port, short_tmpdir, timeout

from direkt.server.care.transcript import APPEND
from direkt.server.redis.connect import lean_client
from direkt.server.redis.embedded import EmbeddedRedis, redis_server_binary
from direkt.server.redis.resp import Address, Commands, PushWire


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own (it is killed, paused or restarted), on TCP and with a password."""
    server = EmbeddedRedis(short_tmpdir("dk-resp-"), port=free_port())
    server.start()
    set_password(server)
    yield server
    server.stop()


def set_password(server: EmbeddedRedis) -> None:
    # After start: the embedded server's readiness check does not log in.
    cli = redis_server_binary().with_name("redis-cli")
    subprocess.run([str(cli), "-p", str(server.port), "CONFIG", "SET", "requirepass", "hemligt"], check=True,
                   capture_output=True, timeout=timeout(10))  # fmt: skip


def address_of(server: EmbeddedRedis, **login: object) -> Address:
    return Address(host="127.0.0.1", port=server.port, **({"password": "hemligt"} | login))  # type: ignore[arg-type]


@pytest.fixture
async def commands(own_redis: EmbeddedRedis) -> AsyncIterator[Commands]:
    made = Commands(address_of(own_redis), reply_timeout=1.0)
    yield made
    await made.aclose()


@pytest.fixture
async def admin(own_redis: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=own_redis.port, password="hemligt")
    yield client
    await client.aclose()


async def test_many_callers_share_writes_and_each_gets_its_own_reply_in_call_order(commands: Commands) -> None:
    replies = await asyncio.gather(*(commands.call("INCR", "n") for _ in range(500)))
    assert replies == list(range(1, 501))  # Redis ran them in the order they were made
    assert commands.writes < 20  # one write per loop turn, not one per command
    assert await commands.call("GET", "n") == b"500"


async def test_an_error_reply_fails_its_own_call_only(commands: Commands) -> None:
    outcomes = await asyncio.gather(
        commands.call("SET", "k", "1"), commands.call("LPUSH", "k", "x"), commands.call("GET", "k"),
        return_exceptions=True,
    )  # fmt: skip
    assert outcomes[0] == b"OK" and outcomes[2] == b"1"
    assert isinstance(outcomes[1], ResponseError) and "WRONGTYPE" in str(outcomes[1])


async def test_a_script_runs_from_its_source_even_after_redis_forgot_it(commands: Commands, admin: Redis) -> None:
    keys, args = ["s", "i", "e"], ["c:1", "ep1", "ch", b"packed"]
    first = await commands.eval(APPEND, keys, args)
    await admin.script_flush()
    again = await commands.eval(APPEND, keys, args)
    assert first[2] == 1 and again[:2] == first[:2] and again[2] == 0  # the retry was recognised


async def test_logging_in_with_the_wrong_password_is_a_connection_error(own_redis: EmbeddedRedis) -> None:
    wrong = Commands(address_of(own_redis, password="fel"))
    with pytest.raises(RedisConnectionError, match="refused the login"):
        await wrong.call("PING")
    await wrong.aclose()


async def test_the_database_in_the_address_is_selected(own_redis: EmbeddedRedis, admin: Redis) -> None:
    other = Commands(address_of(own_redis, db=3))
    try:
        await other.call("SET", "where", "db3")
    finally:
        await other.aclose()
    assert await admin.get("where") is None
    await admin.select(3)  # type: ignore[attr-defined]
    assert await admin.get("where") == b"db3"


async def test_a_stalled_redis_fails_waiting_calls_in_time_and_the_next_call_reconnects(
    commands: Commands, admin: Redis
) -> None:
    assert await commands.call("PING") == b"PONG"
    await admin.execute_command("CLIENT", "PAUSE", "2500", "ALL")  # Redis answers nobody for 2.5 s
    started = asyncio.get_running_loop().time()
    with pytest.raises(RedisTimeoutError):
        await asyncio.wait_for(commands.call("GET", "k"), timeout(5))
    assert asyncio.get_running_loop().time() - started < 2.0  # the reply timeout (1 s), not the pause
    await admin.execute_command("CLIENT", "UNPAUSE")  # Redis answers again (CLIENT UNPAUSE: Redis 6.2)
    assert await commands.call("PING") == b"PONG"


async def test_redis_dying_fails_every_waiting_call_and_a_restarted_redis_is_used_again(
    own_redis: EmbeddedRedis, commands: Commands
) -> None:
    await commands.call("SET", "kept", "ja")
    sleeper = asyncio.create_task(commands.call("DEBUG", "SLEEP", "2"))
    behind = [asyncio.create_task(commands.call("INCR", "n")) for _ in range(5)]
    await asyncio.sleep(0.3)
    assert own_redis.process is not None
    own_redis.process.kill()  # kill -9 while six calls wait for replies
    outcomes = await asyncio.wait_for(asyncio.gather(sleeper, *behind, return_exceptions=True), timeout(5))
    assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
    with pytest.raises(RedisConnectionError):
        await commands.call("PING")
    own_redis.process.wait()
    own_redis.stop()
    own_redis.start()
    set_password(own_redis)
    assert await commands.call("GET", "kept") == b"ja"  # AOF: the write before the kill survived


async def test_a_subscriber_gets_each_message_once_in_order_and_answers_pings(
    own_redis: EmbeddedRedis, admin: Redis
) -> None:
    pushes: asyncio.Queue[list[object]] = asyncio.Queue()
    wire = await PushWire.open(address_of(own_redis), pushes.put_nowait)
    try:
        wire.subscribe("a", "b")
        confirmed = [await asyncio.wait_for(pushes.get(), timeout(5)) for _ in range(2)]
        assert [(p[0], p[1]) for p in confirmed] == [(b"subscribe", b"a"), (b"subscribe", b"b")]
        for i in range(50):
            await admin.publish("ab"[i % 2], f"m{i}".encode())
        got = [await asyncio.wait_for(pushes.get(), timeout(5)) for _ in range(50)]
        assert [(p[1], p[2]) for p in got] == [("ab"[i % 2].encode(), f"m{i}".encode()) for i in range(50)]
        await asyncio.wait_for(wire.ping(), timeout(5))  # a round trip in subscribed mode
        wire.unsubscribe("b")
        assert (await asyncio.wait_for(pushes.get(), timeout(5)))[:2] == [b"unsubscribe", b"b"]
        await admin.publish("b", b"not for us")
        await admin.publish("a", b"still ours")
        assert (await asyncio.wait_for(pushes.get(), timeout(5)))[2] == b"still ours"
    finally:
        await wire.aclose()
    assert wire.closed.done()


async def test_a_plain_client_has_one_address_and_a_cluster_none_for_commands(redis_cluster: Cluster) -> None:
    client = Redis.from_url("unix:///tmp/dk-x.sock?db=2")
    assert Address.of(client) == Address(path="/tmp/dk-x.sock", db=2)
    assert Address.nodes(client) == [Address(path="/tmp/dk-x.sock", db=2)]
    await client.aclose()
    cluster = RedisCluster.from_url(redis_cluster.url)
    await cluster.initialize()
    try:
        assert Address.of(cluster) is None  # slot routing: appends stay on redis-py there
        assert sorted(a.port for a in Address.nodes(cluster)) == sorted(n.port for n in redis_cluster.nodes)
    finally:
        await cluster.aclose()


def _ops(p: str) -> list[Callable[[Redis], Awaitable[object]]]:
    """Commands direkt sends, each on its own keys under prefix ``p``."""
    return [
        lambda c: c.set(f"{p}s", "v", px=60_000),
        lambda c: c.get(f"{p}s"),
        lambda c: c.getdel(f"{p}s"),
        lambda c: c.get(f"{p}nothing"),
        lambda c: c.hset(f"{p}h", mapping={"a": "1", "b": "två"}),
        lambda c: c.hgetall(f"{p}h"),
        lambda c: c.hmget(f"{p}h", ["a", "x"]),
        lambda c: c.hsetnx(f"{p}h", "a", "2"),
        lambda c: c.zadd(f"{p}z", {"m1": 1.5, "m2": 2, "m3": 30}),
        lambda c: c.zrange(f"{p}z", 0, -1, withscores=True),
        lambda c: c.zrangebyscore(f"{p}z", 1, 10, start=0, num=5),
        lambda c: c.zrevrange(f"{p}z", 0, 0),
        lambda c: c.zcount(f"{p}z", 2, "+inf"),
        lambda c: c.zremrangebyscore(f"{p}z", "-inf", 1.5),
        lambda c: c.xadd(f"{p}x", {"m": b"\x00\x01"}, id="5-1"),
        lambda c: c.xrange(f"{p}x", "-", "+", count=10),
        lambda c: c.sadd(f"{p}set", "a", "b"),
        lambda c: c.smembers(f"{p}set"),
        lambda c: c.exists(f"{p}h", f"{p}nothing"),
        lambda c: c.expire(f"{p}h", 60),
        lambda c: c.pexpire(f"{p}nothing", 60),
        lambda c: c.incr(f"{p}n"),
        lambda c: c.script_exists("0" * 40),
        lambda c: c.publish(f"{p}channel", b"nobody listens"),
        lambda c: c.ping(),
    ]


async def test_the_lean_client_answers_every_command_as_redis_py_does(standalone_redis: EmbeddedRedis) -> None:
    lean, plain = lean_client(standalone_redis.url), Redis.from_url(standalone_redis.url)
    try:
        for mine, theirs in zip(_ops("lean:"), _ops("plain:"), strict=True):
            assert await mine(lean) == await theirs(plain)
        assert (await lean.info("server"))["redis_version"] == (await plain.info("server"))["redis_version"]
        sha = await lean.script_load("return 1")  # a two-word command name
        assert await plain.script_exists(sha) == [True]
        with pytest.raises(DataError):
            await lean.set("k", None)  # type: ignore[arg-type]
    finally:
        await lean.aclose()
        await plain.aclose()


@pytest.mark.parametrize("transaction", [False, True])
async def test_lean_pipelines_answer_as_redis_py_pipelines_do(
    standalone_redis: EmbeddedRedis, transaction: bool
) -> None:
    lean, plain = lean_client(standalone_redis.url), Redis.from_url(standalone_redis.url)

    async def run(client: Redis, p: str, raise_on_error: bool) -> list[object]:
        pipe = client.pipeline(transaction=transaction)
        pipe.set(f"{p}k", "1").lpush(f"{p}k", "x").hset(f"{p}h", "f", "v").hgetall(f"{p}h").incr(f"{p}n")
        return await pipe.execute(raise_on_error=raise_on_error)

    try:
        mine, theirs = await run(lean, "lean:", False), await run(plain, "plain:", False)
        assert [repr(r) if isinstance(r, Exception) else r for r in mine] == [
            repr(r) if isinstance(r, Exception) else r for r in theirs
        ]
        assert isinstance(mine[1], ResponseError)  # the error came back in its place
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await run(lean, "lean2:", True)
        assert await lean.pipeline(transaction=transaction).execute() == []
        one = lean.pipeline(transaction=transaction).hmget("lean:h", ["f", "g"])
        assert await one.execute() == [[b"v", None]]  # a pipeline of one still answers with a list
    finally:
        await lean.aclose()
        await plain.aclose()


async def test_one_round_trip_in_n_is_timed_across_a_reconnect(commands: Commands) -> None:
    timed: list[float] = []
    commands.sample_replies(4, timed.append)
    await asyncio.gather(*(commands.call("PING") for _ in range(8)))
    await commands.pipeline([("PING",), ("PING",), ("PING",), ("PING",)])  # one caller: counted once
    assert len(timed) == 2
    await commands.aclose()  # the next command opens a new connection, sampled as well
    await asyncio.gather(*(commands.call("PING") for _ in range(12)))
    assert len(timed) >= 4
    assert all(0 < seconds < timeout(5) for seconds in timed)
