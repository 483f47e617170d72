"""Transcript appends sharing round trips on a real Redis: once embedded (the lean
auto-pipelined connection of ``direkt.server.redis.resp``), once a Redis Cluster (the
group commit of ``direkt.server.redis.batching``), built as the server builds them.

What a user would notice if sharing were wrong: a message stored twice or
not at all, another message's id in an ack, a chat out of order, or a send
that never gets its ack when Redis fails.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis, RedisCluster
from support import free_port, timeout

from direkt.queue.scripts import RedisClient
from direkt.server.care.transcript import Transcripts, parse_id
from direkt.server.errors import RedisUnavailable
from direkt.server.redis.connect import lean_client

CASES = [f"t.01JDBATCHCASE00000000000{i:02d}" for i in range(8)]


@pytest.fixture
def transcripts(redis_client: RedisClient) -> Transcripts:
    made = Transcripts.for_client(redis_client)
    assert (made.commands is None) == isinstance(redis_client, RedisCluster)  # lean on one Redis only
    return made


async def test_a_burst_of_sends_is_stored_once_each_in_order_with_its_own_ack(
    redis_client: RedisClient, transcripts: Transcripts
) -> None:
    calls = [(case, n) for n in range(25) for case in CASES]
    acks = await asyncio.gather(
        *(transcripts.append(case, {"k": "text", "text": f"{case} {n}"}, f"c:{n}") for case, n in calls)
    )
    retries = await asyncio.gather(
        *(transcripts.append(case, {"k": "text", "text": "again"}, f"c:{n}") for case, n in calls)
    )
    assert all(a.stored for a in acks) and not any(r.stored for r in retries)
    assert [r.id for r in retries] == [a.id for a in acks]
    for case in CASES:
        entries = (await transcripts.since(case, "", "")).entries  # one page: 25 entries
        assert [e.body["text"] for e in entries] == [f"{case} {n}" for n in range(25)]
        mine = [a.id for (c, _), a in zip(calls, acks, strict=True) if c == case]
        assert [e.id for e in entries] == mine
    assert transcripts.writes() < len(calls) / 4  # they shared round trips


async def test_a_retry_in_the_same_batch_as_its_first_attempt_is_stored_once(
    redis_client: RedisClient, transcripts: Transcripts
) -> None:
    first, again = await asyncio.gather(
        transcripts.append(CASES[0], {"k": "text", "text": "hej"}, "c:1"),
        transcripts.append(CASES[0], {"k": "text", "text": "hej"}, "c:1"),
    )
    assert (first.stored, again.stored, again.id) == (True, False, first.id)
    assert len((await transcripts.since(CASES[0], "", "")).entries) == 1


async def test_sends_after_redis_lost_its_scripts_are_stored(
    redis_client: RedisClient, transcripts: Transcripts
) -> None:
    await transcripts.append(CASES[0], {"k": "text", "text": "före"}, "c:0")
    if isinstance(redis_client, RedisCluster):
        await redis_client.execute_command("SCRIPT FLUSH", target_nodes=RedisCluster.PRIMARIES)
    else:
        await redis_client.script_flush()
    acks = await asyncio.gather(
        *(transcripts.append(CASES[0], {"k": "text", "text": str(n)}, f"c:{n}") for n in range(1, 30))
    )
    assert all(a.stored for a in acks)
    assert sorted(acks, key=lambda a: parse_id(a.id)) == list(acks)
    assert len((await transcripts.since(CASES[0], "", "")).entries) == 30


async def test_a_cancelled_sender_does_not_hold_up_the_others(
    redis_client: RedisClient, transcripts: Transcripts
) -> None:
    sends = [
        asyncio.create_task(transcripts.append(CASES[1], {"k": "text", "text": str(n)}, f"c:{n}")) for n in range(20)
    ]
    await asyncio.sleep(0)
    sends[3].cancel()  # the citizen's socket closed while the send was on its way
    done = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), timeout(5))
    assert isinstance(done[3], asyncio.CancelledError)
    assert all(not isinstance(d, BaseException) and d.stored for i, d in enumerate(done) if i != 3)


@pytest.mark.parametrize("lean", [True, False])
async def test_when_redis_is_down_every_waiting_send_gets_an_error(lean: bool) -> None:
    url = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    client = lean_client(url) if lean else Redis.from_url(url, socket_connect_timeout=1)
    transcripts = Transcripts.for_client(client)
    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                *(transcripts.append(CASES[2], {"k": "text", "text": str(n)}, f"c:{n}") for n in range(10)),
                return_exceptions=True,
            ),
            timeout(10),
        )
        assert all(isinstance(o, RedisUnavailable) for o in outcomes), outcomes
        with pytest.raises(RedisUnavailable):
            await transcripts.append(CASES[2], {"k": "text", "text": "igen"}, "c:99")
    finally:
        await client.aclose()
