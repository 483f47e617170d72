"""Redis lost its data, flushed or restarted empty (issue 19, point 3).

Every session, case file and lease went with it. The sockets opened under those
sessions end at once with 4001 (the apps send their users to log in again),
idle or not, and no write is acked into a case whose record is gone. Before,
the sockets kept working until their keepalive round, up to half a minute
later, and a message was acked under a new epoch into a case that, after
logging in again, read as ``not_found``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import pytest
from support import ServerProcess, free_port, short_tmpdir, timeout
from support_fault import flush, flushed
from support_hub import GUARDIAN, citizen, frames_until, joined_again, open_chat, staff, welcomed

from direkt.loadtests.client import Client, Socket
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

# A long lease: the sockets' keepalive rounds come every 30 s, so only the data watch ends them in time.
SERVER_ENV = {"DIREKT_LEASE_SECONDS": "600"}
PROMPTLY_S = 8.0  # the watch checks every 5 s


@dataclass
class Scene:
    case: str
    sockets: list[Socket]  # the citizen's and the nurse's chat sockets, then two idle ones
    chat_citizen: Socket
    chat_nurse: Socket


@asynccontextmanager
async def scene(base: str) -> AsyncIterator[Scene]:
    """A citizen and a nurse in a chat, a guardian and a second nurse with idle sockets."""
    async with AsyncExitStack() as stack:
        chat = await stack.enter_async_context(open_chat(base))
        maja = Client(base)
        stack.push_async_callback(maja.aclose)
        await maja.login_citizen(GUARDIAN)
        olle = await staff(base, "nurse-2")
        stack.push_async_callback(olle.aclose)
        idle = [await welcomed(maja), await welcomed(olle)]
        await frames_until(idle[1], "queue", 10)  # her console is set up: the socket is fully open
        for sock in idle:
            stack.push_async_callback(sock.close)
        yield Scene(chat.case, [chat.cs, chat.ns, *idle], chat.cs, chat.ns)


async def all_ended(sockets: list[Socket], seconds: float) -> list[int | None]:
    await asyncio.wait_for(asyncio.gather(*(s.closed.wait() for s in sockets)), timeout(seconds))
    return [s.close_code for s in sockets]


async def reply_or_close(sock: Socket, frame: dict[str, str]) -> str:
    """Send ``frame``: "ack", an error's code, or "closed" when the socket ended first."""
    await sock.send(frame)
    closed = asyncio.ensure_future(sock.closed.wait())
    try:
        while True:
            getter = asyncio.ensure_future(frames_until(sock, "ack", 10, ref=frame["ref"]))
            done, _ = await asyncio.wait({getter, closed}, timeout=timeout(10), return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                reply = getter.result()[-1]
                return "ack" if reply["t"] == "ack" else str(reply.get("code"))
            getter.cancel()
            assert closed in done, "no reply and the socket still open"
            return "closed"
    finally:
        closed.cancel()


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, **SERVER_ENV)
    yield process
    process.stop()


async def test_a_flushed_redis_ends_every_socket_of_the_lost_sessions_and_acks_no_write(
    standalone_redis: EmbeddedRedis, server: ServerProcess
) -> None:
    await flushed(standalone_redis.url)
    async with scene(server.base) as s:
        await flush(standalone_redis.url)  # the fault
        citizen_said = await reply_or_close(
            s.chat_citizen, {"t": "send", "case": s.case, "cid": "after-flush-c", "text": "Hallå?", "ref": "c1"}
        )
        nurse_said = await reply_or_close(
            s.chat_nurse, {"t": "send", "case": s.case, "cid": "after-flush-n", "text": "Är du kvar?", "ref": "n1"}
        )
        assert citizen_said != "ack" and nurse_said != "ack", (citizen_said, nurse_said)
        assert await all_ended(s.sockets, PROMPTLY_S) == [4001] * 4


async def test_a_redis_restarted_empty_ends_the_sockets_and_the_service_carries_on() -> None:
    port = free_port()
    first = EmbeddedRedis(short_tmpdir("dk-lost-"), port=port).start()
    server = ServerProcess(first.url, **SERVER_ENV)
    empty: EmbeddedRedis | None = None
    try:
        async with scene(server.base) as s:
            before = await s.chat_citizen.request({"t": "send", "case": s.case, "cid": "before", "text": "Hej"}, "ack")
            first.kill()  # its data directory is left behind: the new one starts from nothing
            empty = EmbeddedRedis(short_tmpdir("dk-lost-"), port=port).start()
            assert await all_ended(s.sockets, PROMPTLY_S) == [4001] * 4

        # Logged in again, the citizen's app resumes where it was: refused plainly, nothing replayed (TARGETS 4).
        erik = await citizen(server.base)
        try:
            async with joined_again(erik, s.case, epoch=before["epoch"], after=before["id"]) as (_, frames):
                assert [(f["t"], f.get("code")) for f in frames] == [("error", "not_found")], frames
            page = await erik.http.get(f"/api/cases/{s.case}/transcript")
            assert (page.status_code, page.json()["error"]["code"]) == (404, "not_found"), page.text
        finally:
            await erik.aclose()

        async with open_chat(server.base) as again:  # after logging in again, all works on the empty Redis
            ack = await again.cs.request({"t": "send", "case": again.case, "cid": "new", "text": "Hej igen"}, "ack")
            assert ack["t"] == "ack", ack
    finally:
        server.stop()
        first.stop()
        if empty is not None:
            empty.stop()
