"""Redis stalls past the client's timeout and the client retries the same message (TARGETS 6).

A real ``direkt serve`` reaches the real embedded Redis through the fault
proxy (tests/faultproxy.py). While Redis's answers are held, the citizen's
app gives up waiting for the ack and sends the message again with the same
client id: whatever happens underneath, the message is stored once, both
attempts learn the same stream id, and the nurse sees it once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from support import ServerProcess, timeout
from support_fault import Faulty, flushed, stored
from support_hub import Chat, barrier, kinds, open_chat

from direkt.loadtests.client import Socket

pytestmark = pytest.mark.slow

REDIS_TIMEOUT_S = 2.0  # the server's DIREKT_REDIS_TIMEOUT_SECONDS here (5 by default)
CLIENT_TIMEOUT_S = 0.5  # how long the citizen's app waits for an ack before it sends again


@pytest.fixture(scope="module")
def server(faulty_redis: Faulty) -> Iterator[ServerProcess]:
    process = ServerProcess(faulty_redis.url, DIREKT_REDIS_TIMEOUT_SECONDS=str(REDIS_TIMEOUT_S))
    yield process
    process.stop()


@pytest.fixture
async def chat(faulty_redis: Faulty, server: ServerProcess) -> AsyncIterator[Chat]:
    await flushed(faulty_redis.direct_url, served_at=faulty_redis.url)
    try:
        async with open_chat(server.base) as opened:
            yield opened
    finally:
        faulty_redis.network.heal()


async def other_tab(chat: Chat) -> Socket:
    """The citizen's second socket on the same chat (another tab, or the app after a reconnect)."""
    sock = await chat.citizen.socket()
    assert (await sock.request({"t": "join", "case": chat.case}, "case"))["t"] == "case"
    return sock


def send(chat: Chat, cid: str, ref: str) -> dict[str, str]:
    return {"t": "send", "case": chat.case, "cid": cid, "text": f"Hej igen ({cid})", "ref": ref}


async def test_a_retry_during_a_stall_shorter_than_the_servers_timeout_is_stored_once(
    faulty_redis: Faulty, chat: Chat
) -> None:
    tab = await other_tab(chat)
    faulty_redis.network.stall()
    await chat.cs.send(send(chat, "c-1", "first"))
    with pytest.raises(TimeoutError):  # the app's own timeout: no ack comes
        await chat.cs.expect("ack", CLIENT_TIMEOUT_S)
    await tab.send(send(chat, "c-1", "retry"))
    faulty_redis.network.heal()

    first = await chat.cs.expect("ack", timeout(5), ref="first")
    retry = await tab.expect("ack", timeout(5), ref="retry")
    assert first["id"] == retry["id"]
    assert (first["dup"], retry["dup"]) == (False, True)
    assert [e.id for e in await stored(faulty_redis.direct_url, chat.case) if e.cid == "c-1"] == [first["id"]]
    await chat.ns.expect("msg", timeout(5), cid="c-1")
    assert not kinds(await barrier(chat.ns), "msg", cid="c-1")  # the nurse sees it once
    await tab.close()


async def test_a_send_refused_by_a_stall_past_the_servers_timeout_is_stored_once_when_retried(
    faulty_redis: Faulty, chat: Chat
) -> None:
    """The server gave up on Redis, but its command was already on the wire and ran when the
    network healed: "redis_unavailable" cannot promise that nothing was stored. The retry with
    the same cid finds the stored message and gets its id."""
    faulty_redis.network.stall()
    await chat.cs.send(send(chat, "c-2", "first"))
    refused = await chat.cs.expect("error", timeout(REDIS_TIMEOUT_S + 5), ref="first")
    assert refused["code"] == "redis_unavailable" and refused["message"]
    faulty_redis.network.heal()

    retry = await chat.cs.request(send(chat, "c-2", "retry"), "ack", timeout(5))
    assert (retry["t"], retry["dup"]) == ("ack", True), retry
    assert [e.id for e in await stored(faulty_redis.direct_url, chat.case) if e.cid == "c-2"] == [retry["id"]]
    await chat.ns.expect("msg", timeout(5), cid="c-2")
    assert not kinds(await barrier(chat.ns), "msg", cid="c-2")
    ok = await chat.cs.request(send(chat, "c-3", "after"), "ack", timeout(5))  # and the chat goes on
    assert ok["t"] == "ack" and not ok["dup"]
