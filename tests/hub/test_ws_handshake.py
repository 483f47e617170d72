"""Who may open a WebSocket and what they may do on it, against a real ``direkt serve``, real
Redis and real sockets.

Handshakes refused before accept (foreign, missing or look-alike origins;
missing, unknown, expired or reused tickets; only unknown subprotocols), each
subprotocol speaking its own frame kind, authorisation of frames (a citizen
sending staff frames, another citizen's case, staff of another unit, staff who
do not hold the case), and logout closing the user's sockets with 4001.
Malformed, oversize, compressed and fuzzed frames are in test_ws_frames.py;
throttling and slow readers in test_ws_throttling.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
from support import ServerProcess, timeout
from support_hub import (
    A_CASE,
    CLOSE_SESSION_ENDED,
    GUARDIAN,
    PROTOCOL_SERVER_ENV,
    await_close,
    barrier,
    citizen,
    decode,
    kinds,
    open_chat,
    opened,
    raw,
    refusal,
    staff,
    waiting_case,
    ws_url,
)

from direkt.loadtests.client import JSON, MSGPACK, Client, Socket
from direkt.queue.scripts import RedisClient
from direkt.server.redis import keys

pytestmark = pytest.mark.slow

SERVER_ENV = PROTOCOL_SERVER_ENV  # the module's server (tests/hub/conftest.py)


# --- handshake: refused before accept ------------------------------------------------------------

ORIGINS = [
    pytest.param("http://evil.example", id="foreign"),
    pytest.param(None, id="missing"),
    pytest.param("null", id="null"),
    pytest.param("http://127.0.0.1:{port}.evil.example", id="suffixed-host"),
    pytest.param("http://127.0.0.1.evil.example:{port}", id="prefixed-host"),
    pytest.param("http://127.0.0.1:{other}", id="other-port"),
    pytest.param("https://127.0.0.1:{port}", id="https"),
    pytest.param("ws://127.0.0.1:{port}", id="ws-scheme"),
    pytest.param("http://127.0.0.1:{port}/evil", id="with-path"),
]


@pytest.mark.parametrize("origin", ORIGINS)
async def test_a_foreign_missing_null_or_look_alike_origin_is_refused_before_accept(
    server: ServerProcess, erik: Client, origin: str | None
) -> None:
    ticket = await erik.ticket()
    shown = origin.format(port=server.port, other=server.port + 1) if origin else None
    status, body = await refusal(ws_url(server, ticket), shown)
    assert (status, body["error"]["code"]) == (403, "origin_refused")
    # Refused before the ticket was spent: from the right Origin the same ticket still opens a socket.
    sock = await Socket.open(ws_url(server, ticket), erik.origin)
    assert (await sock.recv(timeout(5)))["t"] == "welcome"
    await sock.close()


@pytest.mark.parametrize(
    "ticket",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("bm90LWEtdGlja2V0LWF0LWFsbC0xMjM0", id="unknown"),
        pytest.param("x" * 65, id="over-long"),
    ],
)
async def test_a_missing_or_unknown_ticket_is_refused(server: ServerProcess, ticket: str | None) -> None:
    status, body = await refusal(ws_url(server, ticket), server.base)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


async def test_an_expired_ticket_is_refused(server: ServerProcess, erik: Client, redis: RedisClient) -> None:
    ticket = await erik.ticket()
    assert await redis.pexpire(keys.ticket(ticket), 1)  # its 30 seconds have run out
    async with asyncio.timeout(timeout(5)):  # Redis expires it within a millisecond
        while await redis.exists(keys.ticket(ticket)):  # noqa: ASYNC110 - polls Redis, no event to wait on
            await asyncio.sleep(0.005)
    status, body = await refusal(ws_url(server, ticket), erik.origin)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


async def test_a_ticket_works_once(server: ServerProcess, erik: Client) -> None:
    url = ws_url(server, await erik.ticket())
    sock = await Socket.open(url, erik.origin)
    assert (await sock.recv(timeout(5)))["t"] == "welcome"
    status, body = await refusal(url, erik.origin)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")
    assert "already used" in body["error"]["message"]
    assert kinds(await barrier(sock), "pong")  # the first socket is unaffected
    await sock.close()


@pytest.mark.parametrize("offered", [["chat"], ["direkt.v2.msgpack", "json"]], ids=["one", "two"])
async def test_offering_only_unknown_subprotocols_is_refused(
    server: ServerProcess, erik: Client, offered: list[str]
) -> None:
    status, body = await refusal(ws_url(server, await erik.ticket()), erik.origin, offered)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert MSGPACK in body["error"]["message"] and JSON in body["error"]["message"]


@pytest.mark.parametrize(
    ("offered", "chosen", "frame_type"),
    [
        pytest.param([JSON], JSON, str, id="json"),
        pytest.param([MSGPACK], MSGPACK, bytes, id="msgpack"),
        pytest.param(["chat", JSON], JSON, str, id="first-known"),
        pytest.param([], None, bytes, id="none-offered-is-msgpack"),
    ],
)
async def test_each_subprotocol_speaks_its_own_frame_kind(
    server: ServerProcess, erik: Client, offered: list[str], chosen: str | None, frame_type: type
) -> None:
    async with raw(ws_url(server, await erik.ticket()), erik.origin, offered) as ws:
        assert ws.subprotocol == chosen
        welcome = await asyncio.wait_for(ws.recv(), timeout(5))
        assert isinstance(welcome, frame_type)
        binary = frame_type is bytes
        assert decode(welcome)["protocol"] == (MSGPACK if binary else JSON)
        await ws.send(msgpack.packb({"t": "ping", "n": 3}) if binary else '{"t": "ping", "n": 3}')
        pong = await asyncio.wait_for(ws.recv(), timeout(5))
        assert isinstance(pong, frame_type)
        assert decode(pong)["t"] == "pong" and decode(pong)["n"] == 3


@pytest.mark.parametrize(
    ("subprotocol", "wrong_kind"),
    [(MSGPACK, '{"t": "ping", "ref": "w1"}'), (JSON, msgpack.packb({"t": "ping", "ref": "w1"}))],
    ids=["text-on-msgpack", "binary-on-json"],
)
async def test_the_wrong_frame_kind_gets_an_error_frame_not_a_close(
    erik: Client, subprotocol: str, wrong_kind: str | bytes
) -> None:
    async with opened(erik, subprotocol) as sock:
        await sock.ws.send(wrong_kind)
        frames = await barrier(sock)
        [error] = kinds(frames, "error")
        assert (error["code"], error["ref"]) == ("bad_frame", "w1")
        assert subprotocol in error["message"]


# --- authorisation -------------------------------------------------------------------------------


async def test_a_citizen_may_not_send_staff_frames(server: ServerProcess, erik: Client) -> None:
    case = await waiting_case(erik)
    staff_frames: list[dict[str, Any]] = [
        {"t": "claim_next", "rid": "mine"},
        {"t": "claim", "case": case},
        {"t": "release", "case": case},
        {"t": "transfer", "case": case, "unit": "vc-other", "skill": "nurse", "note": "flytta mig"},
        {"t": "close", "case": case, "outcome": "no_contact"},
        {"t": "watch"},
    ]
    async with opened(erik) as sock:
        for frame in staff_frames:
            reply = await sock.request(frame, "never")
            assert (reply["t"], reply["code"]) == ("error", "forbidden"), frame
    status = await erik.call("GET", f"/api/cases/{case}")
    assert status["state"] == "waiting" and status["staff_name"] is None  # nothing happened to the case


async def test_another_citizens_case_is_not_found_and_nothing_leaks(server: ServerProcess, erik: Client) -> None:
    case = await waiting_case(erik)
    maja = await citizen(server.base, GUARDIAN)
    try:
        async with opened(maja) as sock:
            theirs = await sock.request({"t": "join", "case": case}, "case")
            nobodys = await sock.request({"t": "join", "case": A_CASE}, "case")
            frames = await barrier(sock)
    finally:
        await maja.aclose()
    assert (theirs["t"], theirs["code"]) == ("error", "not_found")
    # Exactly the answer for a case that does not exist: not even its existence is confirmed.
    assert (theirs["code"], theirs["message"]) == (nobodys["code"], nobodys["message"])
    assert not kinds(frames, "msg") and not kinds(frames, "case") and not kinds(frames, "position")


async def test_staff_of_another_unit_may_not_read_the_case_and_the_denial_is_audited(
    server: ServerProcess, erik: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    other = await staff(server.base, "nurse-other")
    try:
        async with opened(other) as sock:
            reply = await sock.request({"t": "join", "case": case}, "case")
            frames = await barrier(sock)
            claim = await sock.request({"t": "claim", "case": case}, "claimed")
    finally:
        await other.aclose()
    assert (reply["t"], reply["code"]) == ("error", "forbidden")
    assert "Erik" not in reply["message"] and not kinds(frames, "msg")
    assert claim["t"] == "error"  # nor take it
    records = [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in await redis.xrange("dk:audit")]
    denied = [r for r in records if r["action"] == "transcript.read" and r["case_id"] == case]
    assert [(r["actor"], r["outcome"]) for r in denied] == [("nurse-other", "denied")]  # one refusal, one record


async def test_sending_needs_a_joined_case_and_an_open_chat(server: ServerProcess, erik: Client) -> None:
    case = await waiting_case(erik)
    async with opened(erik) as sock:
        for frame in (
            {"t": "send", "case": case, "cid": "c1", "text": "hej"},
            {"t": "typing", "case": case},
            {"t": "read", "case": case, "id": "1-0"},
        ):
            reply = await sock.request(frame, "ack")
            assert (reply["t"], reply["code"]) == ("error", "conflict"), frame
            assert "join" in reply["message"]
        assert (await sock.request({"t": "join", "case": case}, "case"))["state"] == "waiting"
        early = await sock.request({"t": "send", "case": case, "cid": "c2", "text": "hallå?"}, "ack")
    assert (early["t"], early["code"]) == ("error", "conflict")
    assert "nurse" in early["message"]


async def test_staff_who_do_not_hold_the_case_may_read_but_not_write(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        olle = await staff(server.base, "nurse-2")
        try:
            async with opened(olle) as sock:
                assert (await sock.request({"t": "join", "case": chat.case}, "case"))["state"] == "claimed"
                reply = await sock.request({"t": "send", "case": chat.case, "cid": "x", "text": "Hej!"}, "ack")
                assert (reply["t"], reply["code"]) == ("error", "conflict")
        finally:
            await olle.aclose()
        assert not kinds(await barrier(chat.cs), "msg")


# --- logout --------------------------------------------------------------------------------------


async def test_logout_closes_the_users_sockets_with_4001_and_no_one_elses(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        second = await chat.citizen.socket()
        spare_ticket = await chat.citizen.ticket()
        await chat.citizen.call("POST", "/auth/logout")
        codes = await asyncio.gather(await_close(chat.cs), await_close(second))
        assert codes == [CLOSE_SESSION_ENDED, CLOSE_SESSION_ENDED]
        assert kinds(await barrier(chat.ns), "pong")  # the nurse's socket is not affected
        status, body = await refusal(ws_url(server, spare_ticket), chat.citizen.origin, [MSGPACK])
        assert (status, body["error"]["code"]) == (401, "unauthenticated")
        await second.close()
