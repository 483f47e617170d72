"""Transcripts and fan-out on a real Redis — once embedded, once a Redis Cluster.

The append script's keys share the case's hash tag, and its PUBLISH must reach
a subscriber on any node: both are cluster questions, so they are asked here.
"""

from __future__ import annotations

import asyncio

import msgpack
import pytest
from support import timeout

from direkt.queue.scripts import RedisClient
from direkt.server.care.transcript import (
    MAX_PAGE,
    REPLAY_PAGE,
    BadPosition,
    HistoryLost,
    Transcripts,
    decode_published,
    pack_body,
)
from direkt.server.errors import BadRequest
from direkt.server.redis import keys
from direkt.server.redis.fanout import Fanout

CASE = "t.01JDTESTCASE0000000000000A"
# its own case: on a cluster, a publish of an earlier test can still be on the cluster bus
FANOUT_CASE = "t.01JDTESTCASE0000000000000B"
LONG = 10_100  # entries: more than the 10,000 a replay was once cut at


async def test_appends_are_idempotent_ordered_and_resumable(redis_client: RedisClient) -> None:
    transcripts = Transcripts(redis_client)
    first = await transcripts.append(CASE, {"k": "text", "text": "ett"}, "c:1")
    again = await transcripts.append(CASE, {"k": "text", "text": "ett igen"}, "c:1")
    second = await transcripts.append(CASE, {"k": "text", "text": "två"}, "c:2")
    assert (again.id, again.stored, first.stored) == (first.id, False, True)
    page = await transcripts.since(CASE, first.epoch, first.id)
    assert page.epoch == first.epoch and [e.body["text"] for e in page.entries] == ["två"] and page.next == ""
    assert [e.id for e in (await transcripts.since(CASE, "", "")).entries] == [first.id, second.id]
    epoch = page.epoch
    with pytest.raises(BadPosition):
        await transcripts.since(CASE, epoch, "99999999999999-0")
    with pytest.raises(BadPosition):
        await transcripts.since(CASE, epoch, "1-0")


async def test_a_lost_transcript_gets_a_new_epoch_never_a_partial_replay(redis_client: RedisClient) -> None:
    transcripts = Transcripts(redis_client)
    old = await transcripts.append(CASE, {"k": "text", "text": "före"}, "c:1")
    await redis_client.delete(keys.chat(CASE), keys.chat_epoch(CASE), keys.chat_ids(CASE))  # Redis lost it
    with pytest.raises(HistoryLost) as lost:
        await transcripts.since(CASE, old.epoch, old.id)
    assert lost.value.epoch != old.epoch
    new = await transcripts.append(CASE, {"k": "text", "text": "efter"}, "c:1")  # the retry is stored again
    assert new.stored and new.epoch == lost.value.epoch


class Collect:
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()
        self.resyncs = 0

    def on_message(self, channel: str, data: bytes) -> None:
        self.got.put_nowait(data)

    def on_resync(self) -> None:
        self.resyncs += 1


async def test_fanout_delivers_appends_in_stream_order(redis_client: RedisClient) -> None:
    fanout, listener = Fanout(redis_client), Collect()
    await fanout.start()
    try:
        await fanout.subscribe(keys.case_channel(FANOUT_CASE), listener)
        transcripts = Transcripts(redis_client)
        ids = [(await transcripts.append(FANOUT_CASE, {"k": "text", "text": str(i)}, f"c:{i}")).id for i in range(20)]
        await redis_client.publish(keys.case_channel(FANOUT_CASE), b"~" + msgpack.packb({"t": "typing"}))
        received = [await asyncio.wait_for(listener.got.get(), timeout(5)) for _ in range(21)]
        assert [decode_published(d)[1].id for d in received[:20]] == ids
        assert received[20][:1] == b"~"
        await fanout.unsubscribe(keys.case_channel(FANOUT_CASE), listener)
        assert fanout.channels() == 0
    finally:
        await fanout.stop()


async def test_a_resume_past_one_page_replays_every_entry_once_in_order(redis_client: RedisClient) -> None:
    transcripts = Transcripts.for_client(redis_client)
    ids = [(await transcripts.append(CASE, {"k": "text", "text": str(i)}, f"c:{i}")).id for i in range(1150)]
    pages = [page async for page in transcripts.pages(CASE, "", ids[9])]  # a client that has the first ten
    assert [e.id for page in pages for e in page.entries] == ids[10:]
    assert [e.body["text"] for e in pages[0].entries[:2]] == ["10", "11"]
    rest = await transcripts.since(CASE, pages[0].epoch, ids[-1])
    assert (rest.entries, rest.next) == ([], "")


async def seed(redis: RedisClient, count: int) -> list[str]:
    """``count`` entries written straight into CASE's stream, as the append script stores them."""
    pipe = redis.pipeline(transaction=False)
    for i in range(count):
        pipe.xadd(keys.chat(CASE), {"m": pack_body({"k": "text", "text": str(i)})})
    return [stream_id.decode() for stream_id in await pipe.execute()]


@pytest.mark.parametrize("after", [-1, 99, 4999, LONG - REPLAY_PAGE - 1])  # -1: from the start
async def test_every_entry_of_a_long_transcript_is_read_once_in_order_a_page_at_a_time(
    redis_client: RedisClient, after: int
) -> None:
    ids = await seed(redis_client, LONG)
    sizes, read = [], []
    async for page in Transcripts(redis_client).pages(CASE, "", ids[after] if after >= 0 else ""):
        sizes.append(len(page.entries))  # what a reader holds at once
        read += [e.id for e in page.entries]
        assert page.next == (page.entries[-1].id if read != ids[after + 1 :] else "")
    assert read == ids[after + 1 :]  # past 10,000, to the very end; no page after the last
    assert max(sizes) == REPLAY_PAGE and 0 not in sizes


async def test_a_page_is_one_to_max_page_entries(redis_client: RedisClient) -> None:
    ids = await seed(redis_client, 3)
    transcripts = Transcripts(redis_client)
    first = await transcripts.since(CASE, "", "", limit=2)
    assert ([e.id for e in first.entries], first.next) == (ids[:2], ids[1])
    last = await transcripts.since(CASE, first.epoch, first.next, limit=2)
    assert ([e.id for e in last.entries], last.next) == (ids[2:], "")
    for limit in (0, MAX_PAGE + 1):
        with pytest.raises(BadRequest):
            await transcripts.since(CASE, "", "", limit=limit)


async def test_a_transcript_lost_between_pages_is_reported_never_skipped(redis_client: RedisClient) -> None:
    ids = await seed(redis_client, REPLAY_PAGE + 10)
    transcripts = Transcripts(redis_client)
    first = await transcripts.since(CASE, "", "")
    await redis_client.delete(keys.chat(CASE), keys.chat_epoch(CASE))  # Redis restarted empty
    await seed(redis_client, REPLAY_PAGE + 10)
    with pytest.raises(HistoryLost):
        await transcripts.since(CASE, first.epoch, first.next)
    assert first.next == ids[REPLAY_PAGE - 1]
