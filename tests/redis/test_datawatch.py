"""Each server process notices that Redis lost its data (issue 19, point 3), on a real Redis and Cluster."""

from __future__ import annotations

from redis.asyncio import RedisCluster

from direkt.queue.scripts import RedisClient
from direkt.server.redis.fanout import Fanout
from direkt.server.redis.keys import DATA_MARKER
from direkt.server.ws.datawatch import DataWatch


def watch(client: RedisClient) -> DataWatch:
    async def never() -> None:
        raise AssertionError("the tests call check() themselves")

    return DataWatch(client, Fanout(client), never)


async def lose_everything(client: RedisClient) -> None:
    if isinstance(client, RedisCluster):
        await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.flushall()


async def test_every_process_notices_a_flush_once_even_after_another_set_the_marker_again(
    redis_client: RedisClient,
) -> None:
    first, second = watch(redis_client), watch(redis_client)
    assert not await first.check() and not await second.check()  # a first look is no loss
    assert not await first.check() and not await second.check()
    assert first.known == second.known  # one marker, set by whoever came first

    await lose_everything(redis_client)
    assert await first.check()  # it sets a new marker...
    assert await second.check()  # ...which the other process still sees as a loss
    assert not await first.check() and not await second.check()  # once each


async def test_a_marker_changed_under_the_process_counts_as_a_loss(redis_client: RedisClient) -> None:
    only = watch(redis_client)
    assert not await only.check()
    await redis_client.set(DATA_MARKER, "another Redis's data")  # e.g. failed over to a replica never synced
    assert await only.check()
