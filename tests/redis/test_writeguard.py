"""Fenced writes on a real Redis and a real Cluster: a chat message, typing, a read marker
or a photo is written only under the case's current lease, checked in the write's own
script; nothing is written into a case whose record is gone (TARGETS 10, and issue 19)."""

from __future__ import annotations

import msgpack
import pytest

from direkt.queue.scripts import RedisClient
from direkt.server.care.transcript import Transcripts
from direkt.server.care.writeguard import CaseGone, Guard, WriteGuards
from direkt.server.errors import StaleToken
from direkt.server.redis import keys
from direkt.signaling import call as c
from direkt.signaling.store import CallStore

CASE = "r1.fence1"
NOW = 1_700_000_000_000
LEASE_UNTIL = NOW + 60_000


def body(text: str) -> dict[str, str]:
    return {"k": "text", "text": text}


async def entries(client: RedisClient, case: str = CASE) -> list[str]:
    raw = await client.xrange(keys.chat(case))
    return [msgpack.unpackb(fields[b"m"])["text"] for _, fields in raw]


@pytest.fixture
async def fresh(redis_client: RedisClient) -> RedisClient:
    await redis_client.delete(
        keys.chat(CASE), keys.chat_ids(CASE), keys.chat_epoch(CASE), keys.case_file(CASE), f"{keys.chat(CASE)}:guard"
    )
    return redis_client


async def test_only_the_current_lease_writes_and_a_retry_of_an_earlier_write_is_answered(fresh: RedisClient) -> None:
    guards, chats = WriteGuards(fresh), Transcripts.for_client(fresh)
    assert await guards.grant(CASE, "anna", 7, LEASE_UNTIL, NOW)
    anna = Guard.lease(CASE, "anna", 7, NOW)
    first = await chats.append(CASE, body("hej"), "anna:c1", anna)
    assert first.stored

    assert await guards.revoke(CASE, 7)  # Anna released the case (from another socket)
    with pytest.raises(StaleToken):
        await chats.append(CASE, body("efter"), "anna:c2", anna)
    retry = await chats.append(CASE, body("hej"), "anna:c1", anna)  # her earlier message, retried
    assert (retry.id, retry.stored) == (first.id, False)

    assert await guards.grant(CASE, "bo", 8, LEASE_UNTIL, NOW)  # Bo claims it
    assert not await guards.grant(CASE, "anna", 7, LEASE_UNTIL, NOW)  # a late grant of an older token loses
    with pytest.raises(StaleToken):
        await chats.append(CASE, body("sent"), "anna:c3", Guard.lease(CASE, "anna", 7, NOW))
    await chats.append(CASE, body("bo här"), "bo:c1", Guard.lease(CASE, "bo", 8, NOW))
    assert await entries(fresh) == ["hej", "bo här"]


async def test_a_lapsed_lease_writes_nothing_until_a_heartbeat_extends_it(fresh: RedisClient) -> None:
    guards, chats = WriteGuards(fresh), Transcripts.for_client(fresh)
    await guards.grant(CASE, "anna", 3, LEASE_UNTIL, NOW)
    late = LEASE_UNTIL + 1
    with pytest.raises(StaleToken):
        await chats.append(CASE, body("för sent"), "anna:c1", Guard.lease(CASE, "anna", 3, late))
    assert not await guards.extend(CASE, "bo", 3, late + 60_000)  # not the holder
    assert await guards.extend(CASE, "anna", 3, late + 60_000)
    await chats.append(CASE, body("i tid"), "anna:c2", Guard.lease(CASE, "anna", 3, late))
    assert await entries(fresh) == ["i tid"]


async def test_nothing_is_written_into_a_case_whose_record_is_gone(fresh: RedisClient) -> None:
    guards, chats = WriteGuards(fresh), Transcripts.for_client(fresh)
    with pytest.raises(CaseGone):  # no lease was ever mirrored here: Redis lost it
        await chats.append(CASE, body("nurse"), "anna:c1", Guard.lease(CASE, "anna", 1, NOW))
    with pytest.raises(CaseGone):  # no case file
        await chats.append(CASE, body("citizen"), "erik:c1", Guard.file(CASE))
    with pytest.raises(CaseGone):
        await guards.publish(Guard.file(CASE), CASE, b"~typing")
    assert await entries(fresh) == []
    assert not await fresh.exists(keys.chat_epoch(CASE))  # no new epoch made for a write refused

    await fresh.hset(keys.case_file(CASE), "owner", "erik")
    await chats.append(CASE, body("citizen"), "erik:c1", Guard.file(CASE))
    assert await entries(fresh) == ["citizen"]


async def test_typing_read_markers_and_photos_are_fenced_like_messages(fresh: RedisClient) -> None:
    guards = WriteGuards(fresh)
    await guards.grant(CASE, "anna", 5, LEASE_UNTIL, NOW)
    stale = Guard.lease(CASE, "anna", 4, NOW)
    current = Guard.lease(CASE, "anna", 5, NOW)
    with pytest.raises(StaleToken):
        await guards.publish(stale, CASE, b"~read", ("s-anna", "1-0"))
    assert await fresh.hget(keys.chat_read(CASE), "s-anna") is None
    await guards.publish(current, CASE, b"~read", ("s-anna", "1-0"))
    assert await fresh.hget(keys.chat_read(CASE), "s-anna") == b"1-0"

    photo = keys.photo(CASE, "p1")
    with pytest.raises(StaleToken):
        await guards.set(stale, photo, b"image/jpeg\n...", 60)
    assert not await fresh.exists(photo)
    await guards.set(current, photo, b"image/jpeg\n...", 60)
    assert await fresh.exists(photo)
    await fresh.delete(photo)


async def test_a_call_step_is_written_only_under_the_current_lease(fresh: RedisClient) -> None:
    """A nurse who let the case go starts, accepts or ends no call on it (checked in the step's own script)."""
    await fresh.delete(keys.call(CASE))
    guards, calls = WriteGuards(fresh), CallStore(fresh, 3_600_000)
    nurse, limits = c.Actor("anna", "staff"), c.Limits(45_000, 30_000, 7_200_000)

    def propose(call: c.Call | None) -> c.Step:
        return c.step(call, c.Propose(nurse, "call1", "video"), NOW, CASE, limits)

    with pytest.raises(CaseGone):  # Redis lost the lease
        await calls.apply(CASE, propose, Guard.lease(CASE, "anna", 7, NOW))
    await guards.grant(CASE, "anna", 7, LEASE_UNTIL, NOW)
    await guards.revoke(CASE, 7)  # she released it on another socket
    with pytest.raises(StaleToken):
        await calls.apply(CASE, propose, Guard.lease(CASE, "anna", 7, NOW))
    assert await calls.load(CASE) is None

    await guards.grant(CASE, "anna", 8, LEASE_UNTIL, NOW)  # she claims it again
    step = await calls.apply(CASE, propose, Guard.lease(CASE, "anna", 8, NOW))
    assert step.changed and (await calls.load(CASE)) == step.call
