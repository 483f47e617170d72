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
