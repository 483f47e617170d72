"""A nurse who no longer holds a case cannot write to its citizen (issue 19, point 1; TARGETS 10).

Two real ``direkt serve`` processes on one Redis. The nurse lets the case go on
another socket, or her server freezes past the lease and another nurse claims the
case: her still-joined socket's message, typing and read marker are refused with a
typed error, audited, never stored and never shown; the socket is told the case
is no longer hers.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from support import ServerProcess
from support_hub import ask, audit_log, barrier, find, kinds, open_chat, staff, until_waiting, welcomed

from direkt.queue.scripts import RedisClient
from direkt.server.redis import keys
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

REFUSED = {("error", "stale_token"), ("error", "conflict")}
SHORT_LEASE = {"DIREKT_LEASE_SECONDS": "5", "DIREKT_REAP_INTERVAL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def servers(standalone_redis: EmbeddedRedis) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    first = ServerProcess(standalone_redis.url, **SHORT_LEASE)
    second = ServerProcess(standalone_redis.url, **SHORT_LEASE)
    yield first, second
    first.stop()
    second.stop()


async def transcript_texts(redis: RedisClient, case: str) -> list[str]:
    import msgpack

    raw: Any = await redis.xrange(keys.chat(case))
    return [msgpack.unpackb(fields[b"m"]).get("text", "") for _, fields in raw]


async def refused_writes(ns: Any, case: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A message, typing, a read marker and a call from ``ns``: the replies, and every frame before them."""
    replies, seen = [], []
    for frame, reply in (
        ({"t": "send", "case": case, "cid": "late-1", "text": "Är du kvar?"}, "ack"),
        ({"t": "typing", "case": case, "on": True}, "error"),
        ({"t": "read", "case": case, "id": "0-1"}, "error"),
        ({"t": "call_propose", "case": case, "media": "video"}, "call"),
    ):
        answer, before = await ask(ns, frame, reply)
        replies.append(answer)
        seen += before
    return replies, seen


async def test_a_nurse_who_let_the_case_go_on_another_socket_can_no_longer_write(
    servers: tuple[ServerProcess, ServerProcess], redis: RedisClient
) -> None:
    first, _ = servers
    async with open_chat(first.base) as chat:
        other = await welcomed(chat.nurse)  # the same nurse, a second tab
        assert (await other.request({"t": "release", "case": chat.case}, "done"))["state"] == "released"
        await other.close()

        replies, seen = await refused_writes(chat.ns, chat.case)
        # stale_token when the write outran the news of the release, conflict after it
        assert all((r["t"], r["code"]) in REFUSED for r in replies), replies
        assert (await find(chat.ns, seen, "done", case=chat.case))["state"] in {"released", "lost"}

        citizen_saw = await barrier(chat.cs)
        assert not kinds(citizen_saw, "msg", text="Är du kvar?") and not kinds(citizen_saw, "typing")
        assert not kinds(citizen_saw, "call")
        assert "Är du kvar?" not in await transcript_texts(redis, chat.case)
        denied = [
            r for r in await audit_log(redis)
            if r["action"] == "chat.write" and r["outcome"] == "denied" and r["case_id"] == chat.case
        ]  # fmt: skip
        assert len(denied) == 4, denied


async def test_a_nurse_whose_server_froze_past_the_lease_is_fenced_out_after_another_claims(
    servers: tuple[ServerProcess, ServerProcess], redis: RedisClient
) -> None:
    first, second = servers
    async with open_chat(first.base) as chat:
        olle = await staff(second.base, "nurse-2")
        try:
            osock = await welcomed(olle)
            os.kill(first.process.pid, signal.SIGSTOP)  # Nora's server stops: no heartbeats
            try:
                await until_waiting(osock, chat.case, seconds=5 + 5)
                claimed = await osock.request({"t": "claim", "case": chat.case}, "claimed")
                assert claimed.get("case") == chat.case, claimed
                assert (await osock.request({"t": "join", "case": chat.case}, "case"))["t"] == "case"
            finally:
                os.kill(first.process.pid, signal.SIGCONT)

            reply, seen = await ask(chat.ns, {"t": "send", "case": chat.case, "cid": "stale", "text": "Hallå?"}, "ack")
            assert (reply["t"], reply["code"]) in REFUSED, reply
            assert (await find(chat.ns, seen, "done", case=chat.case))["state"] == "lost"

            ack = await osock.request({"t": "send", "case": chat.case, "cid": "o1", "text": "Olle här."}, "ack")
            assert ack["t"] == "ack", ack
            await find(chat.cs, [], "msg", text="Olle här.")
            citizen_saw = await barrier(chat.cs)
            assert not kinds(citizen_saw, "msg", text="Hallå?")
            olle_saw = await barrier(osock)
            assert not kinds(olle_saw, "msg", text="Hallå?")
            assert "Hallå?" not in await transcript_texts(redis, chat.case)
            assert any(
                r["action"] == "chat.write" and r["outcome"] == "denied" and r["case_id"] == chat.case
                for r in await audit_log(redis)
            )
            await osock.close()
        finally:
            await olle.aclose()


async def test_the_holder_keeps_writing_from_every_socket_of_hers(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, _ = servers
    async with open_chat(first.base) as chat:
        another_tab = await welcomed(chat.nurse)  # the same nurse in a second tab, which never saw the claim
        assert (await another_tab.request({"t": "join", "case": chat.case}, "case"))["t"] == "case"
        for sock, cid in ((chat.ns, "a"), (another_tab, "b")):
            ack = await sock.request({"t": "send", "case": chat.case, "cid": cid, "text": f"hej {cid}"}, "ack")
            assert ack["t"] == "ack", ack
        for cid in "ab":
            await find(chat.cs, [], "msg", text=f"hej {cid}")
        await another_tab.close()
