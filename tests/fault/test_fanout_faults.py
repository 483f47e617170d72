"""The fan-out's subscriptions when Redis stops answering: a typed refusal, then recovery."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from faultproxy import FaultProxy
from support import timeout

from direkt.server.errors import RedisUnavailable
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.redis.fanout import Fanout


class Heard:
    def __init__(self) -> None:
        self.messages: asyncio.Queue[bytes] = asyncio.Queue()

    def on_message(self, channel: str, data: bytes) -> None:
        self.messages.put_nowait(data)

    def on_resync(self) -> None:
        pass


async def test_an_unconfirmed_subscription_is_a_typed_refusal_and_is_made_good_after_healing(
    standalone_redis: EmbeddedRedis,
) -> None:
    """Before, a TimeoutError escaped the socket's handler: the socket died without a close frame."""
    with FaultProxy(standalone_redis.url) as proxy:
        client = await connect(proxy.url)
        direct = await connect(standalone_redis.url)
        fanout, heard = Fanout(client, reply_timeout=1.0), Heard()
        await fanout.start()
        try:
            await fanout.subscribe("dk:case:{r1.sub}", Heard())  # the connection is up
            proxy.drop()
            with pytest.raises(RedisUnavailable):
                await fanout.subscribe("dk:case:{r1.sub2}", heard)
            proxy.heal()  # the fan-out reconnects and subscribes every channel again
            deadline = asyncio.get_running_loop().time() + timeout(20)
            while heard.messages.empty():
                assert asyncio.get_running_loop().time() < deadline, "never subscribed after healing"
                await direct.publish("dk:case:{r1.sub2}", b"hello")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(heard.messages.get(), 0.2)
                    break
        finally:
            await fanout.stop()
            await client.aclose()
            await direct.aclose()


class HeldConfirmations:
    """Holds back Redis's SUBSCRIBE confirmations of one channel until the test releases them, one by one."""

    def __init__(self, fanout: Fanout, channel: str) -> None:
        self.deliver, self.channel = fanout._on_push, channel.encode()
        self.held: list[list[object]] = []
        self.arrived = asyncio.Event()
        fanout._on_push = self.on_push  # type: ignore[method-assign]  # before start(): the wire calls it

    def on_push(self, push: list[object]) -> None:
        if push[0] == b"subscribe" and push[1] == self.channel:
            self.held.append(push)
            self.arrived.set()
        else:
            self.deliver(push)

    async def wait(self, count: int) -> None:
        while len(self.held) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout(5))

    def release(self) -> None:
        self.deliver(self.held.pop(0))  # type: ignore[arg-type]


async def not_done_after_the_loop_turns(task: asyncio.Task[None]) -> bool:
    for _ in range(5):  # the old code finished a follower's subscribe within its first step
        await asyncio.sleep(0)
    return not task.done()


async def test_a_second_subscriber_waits_for_the_first_ones_confirmation(standalone_redis: EmbeddedRedis) -> None:
    """Before, it returned at once: reading the stream then could miss an entry published before Redis subscribed."""
    client = await connect(standalone_redis.url)
    fanout, channel = Fanout(client), "dk:case:{r1.held}"
    held = HeldConfirmations(fanout, channel)
    await fanout.start()
    try:
        await fanout.subscribe("dk:case:{r1.warm}", Heard())  # connected: the channel's SUBSCRIBE is written once
        first = asyncio.create_task(fanout.subscribe(channel, Heard()))
        await held.wait(1)
        second = asyncio.create_task(fanout.subscribe(channel, Heard()))
        assert await not_done_after_the_loop_turns(second), "the follower returned before Redis confirmed"
        held.release()
        await asyncio.wait_for(asyncio.gather(first, second), timeout(5))
    finally:
        await fanout.stop()
        await client.aclose()


async def test_a_resubscription_is_not_confirmed_by_the_earlier_subscribe(standalone_redis: EmbeddedRedis) -> None:
    client = await connect(standalone_redis.url)
    fanout, channel, gone = Fanout(client), "dk:case:{r1.again}", Heard()
    held = HeldConfirmations(fanout, channel)
    await fanout.start()
    try:
        await fanout.subscribe("dk:case:{r1.warm}", Heard())  # connected: the channel's SUBSCRIBE is written once
        first = asyncio.create_task(fanout.subscribe(channel, gone))
        await held.wait(1)
        await fanout.unsubscribe(channel, gone)
        again = asyncio.create_task(fanout.subscribe(channel, Heard()))
        await held.wait(2)
        held.release()  # the first SUBSCRIBE's: Redis has not yet run the UNSUBSCRIBE and the new SUBSCRIBE
        assert await not_done_after_the_loop_turns(again), "confirmed by the earlier SUBSCRIBE"
        held.release()
        await asyncio.wait_for(asyncio.gather(first, again), timeout(5))
    finally:
        await fanout.stop()
        await client.aclose()
