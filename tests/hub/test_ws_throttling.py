"""Throttling and slow consumers against a real ``direkt serve``, real Redis and real sockets.

A flood is throttled while a bystander's chat keeps its pace, and closed with
1008 once its allowance is spent (over one socket or four); a user gets three
sockets and the fourth is refused; a reader that stops reading is closed with
1008 and resumes without a gap, while one behind a long replay gets all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from support import ServerProcess, timeout
from support_hub import (
    CLOSE_POLICY,
    GUARDIAN,
    LONG_TRANSCRIPT,
    PROTOCOL_SERVER_ENV,
    UNLISTED,
    await_close,
    barrier,
    citizen,
    decode,
    frames_until,
    kinds,
    open_chat,
    opened,
    raw,
    seed_transcript,
    ws_url,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from direkt.loadtests.client import MSGPACK, Client, Socket
from direkt.queue.scripts import RedisClient
from direkt.server.redis import keys
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

SERVER_ENV = PROTOCOL_SERVER_ENV  # the module's server (tests/hub/conftest.py)

FLOOD = 2500  # messages for a reader that stopped reading
THROTTLED_FLOOD_FRAMES = 500  # refused frames a socket may send before it is closed as a flood


@pytest.fixture(scope="module")
def throttled(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """5 frames a second per socket (bursts of 10), 500 refused frames before a flood is closed, 3 sockets per user."""
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_MESSAGE_RATE="5",
        DIREKT_FLOOD_FRAMES=str(THROTTLED_FLOOD_FRAMES),
        DIREKT_MAX_SOCKETS_PER_USER="3",
    )
    yield process
    process.stop()


# --- throttling ----------------------------------------------------------------------------------


async def test_a_flood_is_throttled_while_a_bystanders_chat_keeps_its_pace(throttled: ServerProcess) -> None:
    async with open_chat(throttled.base) as chat:
        flooder = await citizen(throttled.base, GUARDIAN)
        try:
            async with opened(flooder) as fsock:
                flood = asyncio.create_task(ping_flood(fsock, seconds=1.5))
                latencies = []
                for i in range(4):
                    started = asyncio.get_running_loop().time()
                    ack = await chat.cs.request({"t": "send", "case": chat.case, "cid": f"b{i}", "text": "hej"}, "ack")
                    latencies.append(asyncio.get_running_loop().time() - started)
                    assert ack["t"] == "ack"
                    await chat.ns.expect("msg", cid=f"b{i}")
                    await asyncio.sleep(0.3)
                replies = await flood
                await asyncio.sleep(0.5)  # throttled, not banned: after a pause the flooder is answered
                assert kinds(await barrier(fsock), "pong")
        finally:
            await flooder.aclose()
    assert max(latencies) < timeout(0.5), latencies
    codes = Counter(r.get("code", r["t"]) for r in replies)
    assert codes["rate_limited"] > 100 and 0 < codes["pong"] < 30, codes


async def ping_flood(sock: Socket, seconds: float) -> list[dict[str, Any]]:
    """Pings as fast as a busy client can for ``seconds``; returns every reply."""
    loop = asyncio.get_running_loop()
    end, sent = loop.time() + seconds, 0
    while loop.time() < end:
        await sock.send({"t": "ping", "ref": f"f{sent}"})
        sent += 1
        await asyncio.sleep(0.004)
    replies = [await sock.recv(timeout(5)) for _ in range(sent)]
    assert {r["ref"] for r in replies} == {f"f{i}" for i in range(sent)}
    return replies


async def test_a_flood_that_never_pauses_is_closed_with_1008_once_its_allowance_is_spent(
    throttled: ServerProcess,
) -> None:
    flooder = await citizen(throttled.base, GUARDIAN)
    try:
        async with opened(flooder) as sock:
            sent = await flood_until_closed(sock, pause=0.0)
            assert sock.close_code == CLOSE_POLICY and sock.ws.close_reason == "message flood"
    finally:
        await flooder.aclose()
    assert sent > THROTTLED_FLOOD_FRAMES  # every refused frame within the allowance was answered, not closed


async def test_a_sustained_flood_over_four_sockets_is_closed_with_1008_while_a_bystander_chats(
    throttled: ServerProcess,
) -> None:
    """~200 frames a second on each of four sockets, 40 times the rate: each is closed with 1008
    within seconds (it used to go on for good: every admitted frame forgave the flood); a
    bystander's chat keeps its pace throughout."""
    async with open_chat(throttled.base) as chat, contextlib.AsyncExitStack() as stack:
        flooders = [await citizen(throttled.base, GUARDIAN), await citizen(throttled.base, UNLISTED)]
        for client in flooders:
            stack.push_async_callback(client.aclose)
        socks = [await stack.enter_async_context(opened(client)) for client in flooders for _ in range(2)]
        floods = [asyncio.create_task(flood_until_closed(sock, pause=0.005)) for sock in socks]
        latencies = []
        while not all(flood.done() for flood in floods):
            started = asyncio.get_running_loop().time()
            cid = f"b{len(latencies)}"
            ack = await chat.cs.request({"t": "send", "case": chat.case, "cid": cid, "text": "hej"}, "ack")
            latencies.append(asyncio.get_running_loop().time() - started)
            assert ack["t"] == "ack", ack
            await chat.ns.expect("msg", cid=cid)
            await asyncio.wait(floods, timeout=0.3)  # the bystander writes within the rate
        sent = await asyncio.gather(*floods)
    assert all(sock.close_code == CLOSE_POLICY and sock.ws.close_reason == "message flood" for sock in socks)
    assert min(sent) > THROTTLED_FLOOD_FRAMES, sent
    assert latencies and max(latencies) < timeout(0.5), latencies


async def flood_until_closed(sock: Socket, pause: float) -> int:
    """Pings (with a ``pause`` between them) until the server closes the socket; returns how many were sent.

    Every reply until the close is a pong or a ``rate_limited`` error for that ping.
    """
    loop = asyncio.get_running_loop()
    deadline, sent = loop.time() + timeout(30), 0
    with contextlib.suppress(ConnectionClosed):
        while not sock.closed.is_set():
            assert loop.time() < deadline, f"still open after {sent} frames"
            await sock.send({"t": "ping", "ref": f"f{sent}"})
            sent += 1
            await asyncio.sleep(pause)
    await asyncio.wait_for(sock.closed.wait(), timeout(5))
    replies = [sock.frames.get_nowait() for _ in range(sock.frames.qsize())]
    assert {r.get("code", r["t"]) for r in replies} <= {"pong", "rate_limited"}, Counter(r["t"] for r in replies)
    assert all(r["ref"].startswith("f") for r in replies)
    return sent


async def test_one_user_gets_three_sockets_and_the_fourth_is_refused(throttled: ServerProcess) -> None:
    erik = await citizen(throttled.base)
    try:
        first, second, third = [await erik.socket() for _ in range(3)]
        for sock in (first, second, third):
            assert (await sock.recv(timeout(5)))["t"] == "welcome"
        fourth = await erik.socket()
        error = await fourth.recv(timeout(5))
        assert (error["t"], error["code"]) == ("error", "rate_limited")
        assert await await_close(fourth) == CLOSE_POLICY
        assert kinds(await barrier(first), "pong")  # the others are untouched
        await first.close()
        fifth = await reopen_when_free(erik)
        for sock in (second, third, fourth, fifth):
            await sock.close()
    finally:
        await erik.aclose()


async def reopen_when_free(client: Client) -> Socket:
    """A new socket once the server has noticed a closed one (it frees the slot as it unregisters)."""
    for _ in range(50):
        sock = await client.socket()
        if (await sock.recv(timeout(5)))["t"] == "welcome":
            return sock
        await sock.close()
        await asyncio.sleep(0.05)
    raise AssertionError("the closed socket's slot was never freed")


# --- slow consumers ------------------------------------------------------------------------------


async def paused_reader(server: ServerProcess, client: Client) -> ClientConnection:
    """A socket whose reader stops: tiny kernel receive buffer, one queued message, never read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.setblocking(False)
    ws: ClientConnection = await raw(ws_url(server, await client.ticket()), client.origin, [MSGPACK], max_queue=1,
                                     sock=sock)  # fmt: skip
    return ws


async def test_a_client_that_stops_reading_is_closed_with_1008_and_resumes_without_a_gap(
    server: ServerProcess,
) -> None:
    async with open_chat(server.base) as chat:
        ws = await paused_reader(server, chat.citizen)
        await ws.send(msgpack.packb({"t": "join", "case": chat.case}))
        had = [decode(await ws.recv())]  # reads until it has joined, then stops reading
        while had[-1]["t"] != "synced":
            had.append(decode(await asyncio.wait_for(ws.recv(), timeout(5))))
        synced = had[-1]
        text = "Hur mår du nu? " * 260  # about 4 kB a message, 10 MB in all: more than any socket buffers
        for i in range(FLOOD):
            await chat.ns.send({"t": "send", "case": chat.case, "cid": f"n{i}", "text": text})
        acked = [(await chat.ns.expect("ack", timeout(20), cid=f"n{i}"))["id"] for i in range(FLOOD)]

        with contextlib.suppress(ConnectionClosed):
            while True:
                had.append(decode(await asyncio.wait_for(ws.recv(), timeout(10))))
        assert ws.close_code == CLOSE_POLICY
        seen = [f["id"] for f in kinds(had, "msg") if f.get("cid", "").startswith("n")]
        assert seen == acked[: len(seen)] and len(seen) < len(acked)  # in order, then cut off

        async with opened(chat.citizen) as again:
            resume = {"t": "join", "case": chat.case, "epoch": synced["epoch"], "after": seen[-1], "ref": "resume"}
            await again.send(resume)
            replay = await frames_until(again, "synced", ref="resume")
        assert [f["id"] for f in kinds(replay, "msg")] == acked[len(seen) :]  # exactly the missing ones


async def test_a_reader_behind_a_long_replay_gets_all_of_it_once_and_is_not_closed(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        before: Any = await redis.xrange(keys.chat(chat.case))
        text = " Hur mår du nu?" * 100  # 1.5 kB a message, 15 MB in all: more than the socket buffers hold
        ids = [i.decode() for i, _ in before] + await seed_transcript(redis, chat.case, LONG_TRANSCRIPT, text)
        async with raw(ws_url(server, await chat.citizen.ticket()), chat.citizen.origin, [MSGPACK]) as ws:
            assert decode(await ws.recv())["t"] == "welcome"
            await ws.send(msgpack.packb({"t": "join", "case": chat.case, "ref": "long"}))
            # It reads nothing for a second (the slowness under test, not a wait for anything: well
            # under the 10 s a replay waits for its reader), and the nurse writes meanwhile.
            await asyncio.sleep(1.0)
            for i in range(100):
                sent = {"t": "send", "case": chat.case, "cid": f"l{i}", "text": "Hallå?"}
                ids.append((await chat.ns.request(sent, "ack"))["id"])

            got: list[dict[str, Any]] = []
            synced = last = False  # the live messages come in the replay or after it
            while not (synced and last):
                got.append(decode(await asyncio.wait_for(ws.recv(), timeout(10))))
                synced, last = synced or got[-1]["t"] == "synced", last or got[-1].get("cid") == "l99"
            assert ws.close_code is None
        assert [f["id"] for f in kinds(got, "msg")] == ids  # every entry once, in order, the live ones too
        [done] = kinds(got, "synced", ref="long")
        assert done["last"] in ids[len(before) + LONG_TRANSCRIPT - 1 :]  # not before the last seeded one
