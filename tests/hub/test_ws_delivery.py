"""Delivery over real WebSockets, a real ``direkt serve`` and real Redis: what reaches whom, once
and in order.

Retries stored once, resumes that replay exactly the gap (or say plainly that
history is lost), transcripts of any length replayed whole, entries published
while the fan-out is down arriving late but once, a first contact told to the
holder only, and typing and read receipts. The queue and the nurse's workflow
(claims, positions, transfer, close, leases, notices) are in test_ws_workflow.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from support import ServerProcess, timeout
from support_hub import (
    DELIVERY_SERVER_ENV,
    ERIK,
    LONG_TRANSCRIPT,
    barrier,
    frames_until,
    joined_again,
    kinds,
    open_chat,
    rejoin,
    seed_transcript,
    send,
    staff,
    welcomed,
)

from direkt.queue.lookup import wall_clock_ms
from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog
from direkt.server.care.retention import RetentionJob
from direkt.server.redis import keys
from direkt.server.retentionrules import RetentionRules

pytestmark = pytest.mark.slow

SERVER_ENV = DELIVERY_SERVER_ENV  # the module's server (tests/hub/conftest.py)


def stream_order(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


# --- idempotent sends ----------------------------------------------------------------------------


async def test_a_retried_send_is_stored_once_and_delivered_once(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        frame = {"t": "send", "case": chat.case, "cid": "same-1", "text": "Jag har feber."}
        await chat.cs.send({**frame, "ref": "first"})
        await chat.cs.send({**frame, "ref": "retry"})  # the client timed out and sent it again
        first = await chat.cs.expect("ack", ref="first")
        retry = await chat.cs.expect("ack", ref="retry")
        assert retry["id"] == first["id"] and retry["epoch"] == first["epoch"]
        assert (first["dup"], retry["dup"]) == (False, True)
        later = await send(chat.cs, chat.case, "same-2", "Och ont i halsen.")

        seen = await frames_until(chat.ns, "msg", cid="same-2")
        assert [m["id"] for m in kinds(seen, "msg", cid="same-1")] == [first["id"]]
        assert stream_order(later["id"]) > stream_order(first["id"])
        # The same client id from another sender is another message.
        theirs = await send(chat.ns, chat.case, "same-1", "Hur hög feber?")
        assert theirs["id"] != first["id"] and theirs["dup"] is False

        replay = await rejoin(chat.citizen, chat.case)
        assert [m["text"] for m in kinds(replay, "msg") if m.get("role") != "system"] == [
            "Jag har feber.",
            "Och ont i halsen.",
            "Hur hög feber?",
        ]


# --- resume --------------------------------------------------------------------------------------


async def test_resume_replays_exactly_the_entries_after_the_position_in_order(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        acks = []
        for i in range(6):
            acks.append(await send(chat.cs if i % 2 == 0 else chat.ns, chat.case, f"m{i}", f"meddelande {i}"))
        ids = [a["id"] for a in acks]

        async with joined_again(chat.citizen, chat.case, epoch=acks[0]["epoch"], after=ids[2]) as (sock, frames):
            assert [m["id"] for m in kinds(frames, "msg")] == ids[3:]
            assert [m["text"] for m in kinds(frames, "msg")] == [f"meddelande {i}" for i in (3, 4, 5)]
            assert frames[-1]["t"] == "synced" and frames[-1]["last"] == ids[-1]
            # Then live, each entry once.
            live = await send(chat.ns, chat.case, "m6", "meddelande 6")
            assert [m["id"] for m in kinds(await frames_until(sock, "msg", cid="m6"), "msg")] == [live["id"]]

        everything = await rejoin(chat.citizen, chat.case)
        replayed = [m["id"] for m in kinds(everything, "msg")]
        assert replayed[-7:] == [*ids, live["id"]] and replayed == sorted(replayed, key=stream_order)


async def test_a_join_replays_a_transcript_of_any_length_every_entry_once_in_order_then_synced(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        first = await send(chat.ns, chat.case, "first", "Hej!")
        before = await redis_ids(redis, chat.case, first["id"])  # the chat opening, and "Hej!"
        ids = before + await seed_transcript(redis, chat.case, LONG_TRANSCRIPT)

        async with joined_again(chat.citizen, chat.case, after="") as (sock, frames):
            assert [m["id"] for m in kinds(frames, "msg")] == ids  # the whole transcript, not the first 10,000
            assert frames[-1]["t"] == "synced" and frames[-1]["last"] == ids[-1]
            assert kinds(frames, "msg")[-1]["text"] == str(LONG_TRANSCRIPT - 1)
            live = await send(chat.ns, chat.case, "live", "Är du kvar?")  # then live, once
            assert [m["id"] for m in kinds(await frames_until(sock, "msg", cid="live"), "msg")] == [live["id"]]


async def test_a_resume_from_the_middle_of_a_long_transcript_replays_the_rest_once_in_order(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        epoch = (await send(chat.ns, chat.case, "first", "Hej!"))["epoch"]
        ids = await seed_transcript(redis, chat.case, LONG_TRANSCRIPT)
        frames = await rejoin(chat.citizen, chat.case, epoch=epoch, after=ids[49])  # a client that had 50
        assert [m["id"] for m in kinds(frames, "msg")] == ids[50:]
        assert frames[-1]["t"] == "synced" and (frames[-1]["epoch"], frames[-1]["last"]) == (epoch, ids[-1])


async def redis_ids(redis: RedisClient, case: str, upto: str) -> list[str]:
    """The ids of the case's stream up to and including ``upto`` (the entries a test made by sending)."""
    entries: Any = await redis.xrange(keys.chat(case), "-", upto)
    return [stream_id.decode() for stream_id, _ in entries]


async def test_resume_from_a_future_or_unknown_position_is_refused_and_replays_nothing(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        acks = [await send(chat.cs, chat.case, f"m{i}", "hej") for i in range(3)]
        ids, epoch = [a["id"] for a in acks], acks[0]["epoch"]
        ms, seq = (int(x) for x in ids[-1].split("-"))
        for after in (f"{ms + 60_000}-0", f"{ms}-{seq + 1}", "1-0", f"{ms}-{seq}-1", "not-an-id"):
            async with joined_again(chat.citizen, chat.case, epoch=epoch, after=after) as (sock, frames):
                [error] = frames
                assert (error["t"], error["code"]) == ("error", "bad_position"), after
                # Not following the case either: the next entry does not reach this socket.
                await send(chat.ns, chat.case, f"probe-{after}", "hallå")
                await frames_until(chat.cs, "msg", cid=f"probe-{after}")
                assert not kinds(await barrier(sock), "msg")


async def test_a_wrong_epoch_gets_history_lost_and_the_whole_transcript_never_a_part(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        acks = [await send(chat.cs, chat.case, f"m{i}", f"meddelande {i}") for i in range(4)]
        full = await rejoin(chat.citizen, chat.case)
        everything = [m["id"] for m in kinds(full, "msg")]

        frames = await rejoin(chat.citizen, chat.case, epoch="0badc0ffee00", after=acks[1]["id"])
        assert frames[0]["t"] == "history_lost" and frames[0]["epoch"] == acks[0]["epoch"]
        assert [m["id"] for m in kinds(frames, "msg")] == everything  # from the start, not from acks[1]
        assert frames[-1]["t"] == "synced" and frames[-1]["epoch"] == acks[0]["epoch"]


async def test_a_transcript_lost_in_redis_gets_history_lost_with_a_new_epoch(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        acks = [await send(chat.cs, chat.case, f"m{i}", f"meddelande {i}") for i in range(4)]
        old = acks[0]["epoch"]
        await redis.delete(keys.chat(chat.case), keys.chat_epoch(chat.case))  # Redis restarted empty

        async with joined_again(chat.citizen, chat.case, epoch=old, after=acks[-1]["id"]) as (sock, frames):
            lost, synced = frames
            assert lost["t"] == "history_lost" and lost["epoch"] != old
            assert synced["t"] == "synced" and synced["epoch"] == lost["epoch"] and synced["last"] == "0-0"

            # Sockets that were following are told too, as the next entry arrives under the new epoch.
            ack = await send(chat.ns, chat.case, "after-loss", "Är du kvar?")
            assert ack["epoch"] == lost["epoch"]
            following = await frames_until(chat.cs, "msg", cid="after-loss")
            [told] = kinds(following, "history_lost", epoch=lost["epoch"])
            assert [m["id"] for m in kinds(following[following.index(told) :], "msg")] == [ack["id"]]
            assert [m["id"] for m in kinds(await frames_until(sock, "msg", cid="after-loss"), "msg")] == [ack["id"]]


async def test_entries_published_while_the_fanout_is_down_arrive_late_once_and_in_order(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        await send(chat.ns, chat.case, "before", "Hej!")
        await frames_until(chat.cs, "msg", cid="before")
        for i in range(40):  # a nurse typing fast; the server's subscriber connection drops midway
            await chat.ns.send({"t": "send", "case": chat.case, "cid": f"p{i}", "text": f"del {i}"})
            if i == 10:
                assert await redis.client_kill_filter(_type="pubsub") >= 1
        acks = [(await chat.ns.expect("ack", cid=f"p{i}"))["id"] for i in range(40)]
        frames = await frames_until(chat.cs, "msg", 10.0, cid="p39")
        assert [m["id"] for m in kinds(frames, "msg")] == acks  # each once, in order, none lost
        later = await send(chat.ns, chat.case, "after", "Är du där?")  # and live delivery is back
        assert [m["id"] for m in kinds(await frames_until(chat.cs, "msg", cid="after"), "msg")] == [later["id"]]


async def test_a_first_contact_is_told_to_the_holder_only(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        olle = await staff(server.base, "nurse-2")  # serves the same unit, holds nothing
        osock = await welcomed(olle)
        try:
            assert (await osock.recv(timeout(5)))["t"] == "queue"
            await send(chat.ns, chat.case, "first", "Hej! Jag heter Nora.")
            contact = await chat.ns.expect("queue_event", timeout(5))
            assert (contact["event"]["t"], contact["event"]["case"]) == ("contact", chat.case)
            await send(chat.cs, chat.case, "c1", "Hej!")
            assert not [f for f in await barrier(osock) if f["t"] == "queue_event"]
        finally:
            await osock.close()
            await olle.aclose()


# --- typing, read receipts ----------------------------------------------------------------------


async def test_typing_and_read_receipts_reach_the_other_side_only(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        await chat.cs.send({"t": "typing", "case": chat.case, "on": True})
        typing = await chat.ns.expect("typing")
        assert (typing["case"], typing["role"], typing["on"]) == (chat.case, "citizen", True)
        assert typing["from"].startswith("c-") and ERIK not in str(typing)  # a pseudonym, not the personnummer
        assert not kinds(await barrier(chat.cs), "typing")  # fan-out reached both sockets by now

        ack = await send(chat.cs, chat.case, "c1", "Jag har skrivit klart.")
        await chat.ns.expect("msg", cid="c1")
        await chat.ns.send({"t": "read", "case": chat.case, "id": ack["id"]})
        read = await chat.cs.expect("read")
        assert (read["id"], read["from"], read["role"]) == (ack["id"], "s-nurse-1", "nurse")
        assert not kinds(await barrier(chat.ns), "read")


async def test_a_join_tells_the_reader_how_far_it_has_read_never_moving_back(server: ServerProcess) -> None:
    """A page opened afresh places its "first unread" marker from the server's read position."""
    async with open_chat(server.base) as chat:
        first = await send(chat.ns, chat.case, "n1", "Första.")
        second = await send(chat.ns, chat.case, "n2", "Andra.")
        for position in (second["id"], first["id"]):  # a tab still behind reports an older position last
            await chat.cs.send({"t": "read", "case": chat.case, "id": position})
            await chat.ns.expect("read", id=position)
        synced = (await rejoin(chat.citizen, chat.case))[-1]
        assert (synced["t"], synced["read"]) == ("synced", second["id"]), synced
        never = (await rejoin(chat.nurse, chat.case))[-1]  # the nurse has read nothing yet
        assert (never["t"], never["read"]) == ("synced", ""), never


# --- an expired position: the retention job removed the transcript (TARGETS 5) ---------------------

ELEVEN_YEARS_MS = 11 * 365 * 86_400_000


async def expire(redis: RedisClient, rules: RetentionRules) -> None:
    """The retention job as the server runs it, eleven years on: past the record's 10-year floor."""
    job = RetentionJob(redis, rules, ("a", "b"), AuditLog(redis, None))
    assert await job.run(wall_clock_ms() + ELEVEN_YEARS_MS) is not None


async def test_a_position_in_a_transcript_that_has_expired_gets_history_lost_never_an_empty_success(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        acks = [await send(chat.cs, chat.case, f"m{i}", f"meddelande {i}") for i in range(3)]
        old, last = acks[0]["epoch"], acks[-1]["id"]
        await expire(redis, RetentionRules(case_files=RetentionRules().case_files + 400))  # the file outlives it
        assert not await redis.exists(keys.chat(chat.case)) and await redis.exists(keys.case_file(chat.case))

        async with joined_again(chat.citizen, chat.case, epoch=old, after=last) as (_, frames):
            lost, synced = frames
            assert lost["t"] == "history_lost" and lost["epoch"] != old
            assert (synced["t"], synced["last"], synced["epoch"]) == ("synced", "0-0", lost["epoch"])
        page = await chat.citizen.http.get(f"/api/cases/{chat.case}/transcript", params={"epoch": old, "after": last})
        assert (page.status_code, page.json()["error"]["code"]) == (409, "history_lost"), page.text


async def test_a_position_in_a_case_whose_record_has_expired_is_refused_and_nothing_is_replayed(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        acks = [await send(chat.cs, chat.case, f"m{i}", f"meddelande {i}") for i in range(3)]
        await expire(redis, RetentionRules())  # transcript and case file alike
        assert not await redis.exists(keys.chat(chat.case), keys.case_file(chat.case))

        async with joined_again(chat.citizen, chat.case, epoch=acks[0]["epoch"], after=acks[-1]["id"]) as (_, frames):
            [refused] = frames
            assert (refused["t"], refused["code"]) == ("error", "not_found"), refused
        page = await chat.citizen.http.get(f"/api/cases/{chat.case}/transcript")
        assert page.status_code == 404, page.text
        assert not await redis.exists(keys.chat_epoch(chat.case)), "a read brought back a key the retention removed"
