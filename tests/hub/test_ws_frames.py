"""Hostile and odd frames against a real ``direkt serve``, real Redis and real sockets.

What a client notices: a malformed frame costs one ``error`` frame and never
the connection, a long text arrives whole, oversize frames close the socket
with 1009 without the server growing, compression is never agreed and a
deflate bomb is refused uninflated, and fuzzed frames only ever get typed
errors. Handshakes and authorisation are in test_ws_handshake.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import zlib
from collections import Counter
from typing import Any

import msgpack
import orjson
import psutil
import pytest
from support import ServerProcess, timeout
from support_hub import (
    A_CASE,
    CLOSE_TOO_BIG,
    FRAME_LIMIT,
    KNOWN_CODES,
    PROTOCOL_SERVER_ENV,
    await_close,
    barrier,
    citizen,
    kinds,
    open_chat,
    opened,
    staff,
    ws_url,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol
from websockets.utils import apply_mask

from direkt.loadtests.client import JSON, MSGPACK, Client, Socket

pytestmark = pytest.mark.slow

SERVER_ENV = PROTOCOL_SERVER_ENV  # the module's server (tests/hub/conftest.py)


# --- malformed frames ----------------------------------------------------------------------------

P = msgpack.packb
MALFORMED_MSGPACK = [
    pytest.param(b"\xc1\x00\xffnot msgpack", None, id="garbage"),
    pytest.param(b"", None, id="empty"),
    pytest.param(P([1, 2, 3]), None, id="array-not-map"),
    pytest.param(P("ping"), None, id="string-not-map"),
    pytest.param(P({"ref": "m1"}), "m1", id="no-type"),
    pytest.param(P({"t": "explode", "ref": "m2"}), "m2", id="unknown-type"),
    pytest.param(P({"t": "send", "ref": "m3"}), "m3", id="missing-fields"),
    pytest.param(P({"t": "ping", "ref": "m4", "admin": True}), "m4", id="unknown-field"),
    pytest.param(P({"t": "ping", "ref": "m5", "n": "one"}), "m5", id="wrong-type"),
    pytest.param(P({"t": "typing", "ref": "m6", "case": A_CASE, "on": "yes"}), "m6", id="wrong-type-bool"),
    pytest.param(P({"t": "send", "ref": "m7", "case": A_CASE, "cid": "c", "text": "x" * 4001}), "m7", id="text-4001"),
    pytest.param(P({"t": "join", "ref": "m8", "case": "../../etc/passwd"}), "m8", id="invalid-case-id"),
    pytest.param(P({"t": "join", "ref": "m9", "case": "t." + "A" * 200}), "m9", id="over-long-case-id"),
    pytest.param(P({"t": "send", "ref": "m10", "case": A_CASE, "cid": ""}), "m10", id="empty-client-id"),
    pytest.param(P({"t": "ping", "ref": 5}), None, id="ref-not-a-string"),
    pytest.param(P({"t": "ping", "ref": "r" * 65}), None, id="over-long-ref"),
    pytest.param(P({1: 2, "t": "ping"}), None, id="integer-key"),
]
MALFORMED_JSON = [
    pytest.param('{"t": "ping",', None, id="truncated"),
    pytest.param("not json at all", None, id="garbage"),
    pytest.param("[1, 2, 3]", None, id="array-not-object"),
    pytest.param('{"t": "ping", "ref": "j1", "n": 1.5}', "j1", id="float-for-int"),
    pytest.param('{"t": "ping", "ref": "j2", "n": true}', "j2", id="bool-for-int"),
    pytest.param('{"t": "ping", "ref": "j3", "n": null}', "j3", id="null-for-int"),
    pytest.param(
        orjson.dumps({"t": "send", "ref": "j4", "case": A_CASE, "cid": "c", "text": "å" * 4001}).decode(),
        "j4",
        id="text-4001",
    ),
    pytest.param('{"t": "join", "ref": "j5", "case": "t.01 OR 1=1"}', "j5", id="invalid-case-id"),
    pytest.param('{"t": "ping", "ref": "j6"} trailing', None, id="trailing-garbage"),
]


@pytest.mark.parametrize(
    ("subprotocol", "data", "ref"),
    [pytest.param(MSGPACK, *p.values, id=f"msgpack-{p.id}") for p in MALFORMED_MSGPACK]
    + [pytest.param(JSON, *p.values, id=f"json-{p.id}") for p in MALFORMED_JSON],
)
async def test_a_malformed_frame_gets_one_error_and_the_connection_stays_usable(
    erik: Client, subprotocol: str, data: bytes | str, ref: str | None
) -> None:
    async with opened(erik, subprotocol) as sock:
        await sock.ws.send(data)
        frames = await barrier(sock)  # a ping after it is answered
        [error] = frames[:-1]
        assert error["t"] == "error" and error["code"] == "bad_frame"
        assert error.get("ref") == ref
        assert error["message"]
        assert not sock.closed.is_set()


async def test_text_of_4000_characters_is_delivered_whole(server: ServerProcess) -> None:
    text = "ä" * 3999 + "!"  # 4000 characters, 8000 bytes of UTF-8
    async with open_chat(server.base) as chat:
        ack = await chat.cs.request({"t": "send", "case": chat.case, "cid": "long", "text": text}, "ack")
        assert ack["t"] == "ack"
        msg = await chat.ns.expect("msg", cid="long")
        assert msg["text"] == text and msg["id"] == ack["id"]


# --- oversize frames -----------------------------------------------------------------------------


async def oversize(server: ServerProcess, client: Client, payload: bytes | list[bytes]) -> int | None:
    """Open a socket, send ``payload`` (a list is sent as fragments), return the close code."""
    sock = await Socket.open(ws_url(server, await client.ticket()), client.origin)
    try:
        await sock.recv(timeout(5))
        with contextlib.suppress(ConnectionClosed):
            await sock.ws.send(payload)
        return await await_close(sock)
    finally:
        await sock.close()


# Each is wholly sent when the server refuses it: one write that fits the server's receive
# buffer, or fragments that cross the limit with the last one. (uvicorn closes the TCP
# connection right after its close frame: a client still sending gets a reset instead.)
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\x00" * (FRAME_LIMIT + 1), id="64KiB+1"),
        pytest.param(b"\x00" * (96 * 1024), id="96KiB"),
        pytest.param([b"\x01" * 30_000, b"\x01" * 30_000, b"\x01" * 5_537], id="fragmented-3"),
        pytest.param([b"\x02" * 1_024] * 64 + [b"\x02"], id="fragmented-65"),
    ],
)
async def test_a_message_over_64_kib_closes_the_socket_with_1009(
    server: ServerProcess, erik: Client, payload: bytes | list[bytes]
) -> None:
    assert await oversize(server, erik, payload) == CLOSE_TOO_BIG


async def test_a_message_of_exactly_64_kib_is_read_and_refused_politely(erik: Client) -> None:
    empty = len(P({"t": "ping", "ref": "big", "pad": ""}))
    frame = P({"t": "ping", "ref": "big", "pad": "x" * (FRAME_LIMIT - empty - 2)})  # str16 header: 2 more bytes
    assert len(frame) == FRAME_LIMIT
    async with opened(erik) as sock:
        await sock.ws.send(frame)
        [error, _pong] = await barrier(sock)
        assert (error["code"], error["ref"]) == ("bad_frame", "big")


def server_rss(server: ServerProcess) -> int:
    root = psutil.Process(server.process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


async def test_memory_stays_flat_over_a_thousand_oversize_messages(server: ServerProcess, erik: Client) -> None:
    """TARGETS 17: 1,000 tries, each closed with 1009, and the server's RSS grows by less than 5 MiB."""
    payloads: list[bytes | list[bytes]] = [
        b"\x00" * (FRAME_LIMIT + 1),
        [b"\x01" * 16_384] * 4 + [b"\x01"],
        b"\x02" * (96 * 1024),
    ]
    for i in range(60):  # warm up: allocator pools, code paths
        await oversize(server, erik, payloads[i % 3])
    before = server_rss(server)

    async def tries(first: int) -> list[int | None]:  # four sockets at a time (the user may have five)
        return [await oversize(server, erik, payloads[i % 3]) for i in range(first, 1000, 4)]

    codes = Counter(code for codes in await asyncio.gather(*(tries(i) for i in range(4))) for code in codes)
    grown = server_rss(server) - before
    assert codes == {CLOSE_TOO_BIG: 1000}
    assert grown < 5 * 2**20, f"the server grew by {grown / 2**20:.1f} MiB"
    async with opened(erik) as sock:  # and it still serves
        assert kinds(await barrier(sock), "pong")


# --- compression: never negotiated, so a compressed frame is refused unread (TARGETS 18) --------------

CLOSE_PROTOCOL_ERROR = 1002


def deflated(size: int) -> bytes:
    """``size`` zero bytes as a permessage-deflate payload (raw DEFLATE, the final empty block dropped)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(2**20)
    out = b"".join(packer.compress(chunk) for _ in range(size // len(chunk)))
    return (out + packer.flush(zlib.Z_SYNC_FLUSH))[:-4]


def client_frame(payload: bytes, *, rsv1: bool, fin: bool = True, opcode: int = 0x2) -> bytes:
    """One masked client frame, built by hand: the websockets library will not set RSV1 unasked."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    size = len(payload)
    if size < 126:
        head = bytes([first, 0x80 | size])
    elif size < 2**16:
        head = bytes([first, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([first, 0x80 | 127]) + size.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)


async def compressed(server: ServerProcess, client: Client, frames: list[bytes]) -> tuple[int | None, bool]:
    """Open a socket offering permessage-deflate, write ``frames`` raw; the close code and
    whether the server agreed to compression."""
    url, offered = ws_url(server, await client.ticket()), [Subprotocol(MSGPACK)]
    ws = await connect(url, origin=Origin(client.origin), subprotocols=offered, compression="deflate", proxy=None)
    sock = Socket(ws, MSGPACK)
    try:
        agreed = sock.ws.response is not None and "Sec-WebSocket-Extensions" in sock.ws.response.headers
        assert (await sock.recv(timeout(5)))["t"] == "welcome"
        for frame in frames:
            sock.ws.transport.write(frame)
        return await await_close(sock), agreed
    finally:
        await sock.close()


async def test_a_deflate_bomb_and_rsv1_frames_are_refused_without_inflating_them(
    server: ServerProcess, erik: Client
) -> None:
    """The server never agrees to permessage-deflate; frames claiming compression (RSV1) are
    refused (1002) before anything is inflated, a bomb over 64 KiB by its size (1009), and
    the server's memory stays where it was: 100 MiB never gets made."""
    bomb = deflated(100 * 2**20)  # about 100 KiB of DEFLATE
    small_bomb = deflated(60 * 2**20)  # under 64 KiB: passes the size limit
    ping = zlib.compressobj(9, zlib.DEFLATED, -15)
    ping_deflated = (ping.compress(msgpack.packb({"t": "ping", "ref": "z"})) + ping.flush(zlib.Z_SYNC_FLUSH))[:-4]
    assert len(small_bomb) < FRAME_LIMIT < len(bomb)
    cases = {
        "a compressed ping": [client_frame(ping_deflated, rsv1=True)],
        "a 60 MiB bomb in one frame": [client_frame(small_bomb, rsv1=True)],
        "a 100 MiB bomb in one frame": [client_frame(bomb, rsv1=True)],
        # refused at its first fragment (sending on would only earn a TCP reset in place of the close frame)
        "a 100 MiB bomb in fragments": [client_frame(bomb[:16_384], rsv1=True, fin=False)],
    }
    await compressed(server, erik, cases["a 60 MiB bomb in one frame"])  # warm up
    before = server_rss(server)
    outcomes = {name: [await compressed(server, erik, frames) for _ in range(5)] for name, frames in cases.items()}
    grown = server_rss(server) - before
    assert all(agreed is False for tries in outcomes.values() for _, agreed in tries), outcomes
    assert {name: {code for code, _ in tries} for name, tries in outcomes.items()} == {
        "a compressed ping": {CLOSE_PROTOCOL_ERROR},
        "a 60 MiB bomb in one frame": {CLOSE_PROTOCOL_ERROR},
        "a 100 MiB bomb in one frame": {CLOSE_TOO_BIG},
        "a 100 MiB bomb in fragments": {CLOSE_PROTOCOL_ERROR},
    }
    assert grown < 10 * 2**20, f"the server grew by {grown / 2**20:.1f} MiB"
    async with opened(erik) as sock:  # and it still serves
        assert kinds(await barrier(sock), "pong")


# --- fuzzing -------------------------------------------------------------------------------------

FRAME_TYPES = ("join", "leave", "send", "typing", "read", "ping", "claim_next", "claim", "release", "transfer",
               "close", "watch", "", "pong", "JOIN", "send\x00", "call_propose", "call_accept", "call_decline",
               "call_hangup", "call_report", "call_ice_servers", "sdp", "ice")  # fmt: skip
FIELDS = ("t", "ref", "case", "cid", "text", "template", "photo", "on", "id", "n", "rid", "unit", "skill", "note",
          "outcome", "epoch", "after", "vis", "staff_only", "call", "media", "kind", "sdp", "candidate", "mid",
          "mline", "state", "reason")  # fmt: skip


def fuzz_text(rng: random.Random) -> str:
    size = rng.choice((0, 1, 3, 8, 40, 64, 65, 200, 4000, 4001, 5000))
    alphabet = rng.choice(("ascii", "unicode", "case", "id"))
    if alphabet == "case":
        return rng.choice(("t.", "vc-t.", "", "T.")) + "".join(rng.choices("0123456789ABCDEFGHJKMNPQRSTVWXYZ", k=26))
    if alphabet == "id":
        return f"{rng.randrange(-5, 2**45)}-{rng.randrange(-1, 2**20)}"
    if alphabet == "ascii":
        return "".join(chr(rng.randrange(0, 128)) for _ in range(size))
    return "".join(chr(rng.choice((rng.randrange(0x80, 0xD800), rng.randrange(0xE000, 0x110000)))) for _ in range(size))


def fuzz_value(rng: random.Random, binary: bool, depth: int = 0) -> Any:
    makers: dict[str, Any] = {
        "none": lambda: None,
        "bool": lambda: rng.random() < 0.5,
        "int": lambda: rng.choice((0, 1, -1, 2**31, -(2**63), 2**63 - 1, rng.randrange(-(10**6), 10**6))),
        "float": lambda: rng.choice((0.0, -1.5, 1e308, float("inf"), rng.random())),
        "text": lambda: fuzz_text(rng),
    }
    if binary:
        makers["bytes"] = lambda: rng.randbytes(rng.randrange(0, 100))
    if depth < 3:
        makers["list"] = lambda: [fuzz_value(rng, binary, depth + 1) for _ in range(rng.randrange(0, 5))]
        makers["map"] = lambda: {
            fuzz_text(rng)[:30]: fuzz_value(rng, binary, depth + 1) for _ in range(rng.randrange(0, 5))
        }
        makers["frame"] = lambda: fuzz_frame(rng, binary, depth)
    return makers[rng.choice(sorted(makers))]()


def fuzz_frame(rng: random.Random, binary: bool, depth: int) -> dict[str, Any]:
    """A map that looks like a client frame: a known (or nearly known) type and known field names."""
    frame: dict[str, Any] = {"t": rng.choice(FRAME_TYPES)}
    for name in rng.sample(FIELDS, rng.randrange(0, 6)):
        frame[name] = fuzz_value(rng, binary, depth + 1) if rng.random() < 0.5 else fuzz_text(rng)
    return frame


def fuzz_payload(rng: random.Random, binary: bool) -> bytes | str:
    if rng.random() < 0.1:  # not even the codec's format
        return rng.randbytes(rng.randrange(1, 300)) if binary else fuzz_text(rng) or "{"
    value = fuzz_value(rng, binary)
    return msgpack.packb(value) if binary else orjson.dumps(value).decode()


@pytest.mark.parametrize(
    ("subprotocol", "role"), [(MSGPACK, "citizen"), (JSON, "citizen"), (MSGPACK, "staff"), (JSON, "staff")]
)
async def test_fuzzed_frames_only_ever_get_typed_errors(server: ServerProcess, subprotocol: str, role: str) -> None:
    rng = random.Random(f"direkt-fuzz-{subprotocol}-{role}")
    client = await (citizen(server.base) if role == "citizen" else staff(server.base))
    frames: list[dict[str, Any]] = []
    try:
        async with opened(client, subprotocol) as sock:
            for i in range(300):
                await sock.ws.send(fuzz_payload(rng, binary=subprotocol == MSGPACK))
                if i % 50 == 49:
                    frames += await barrier(sock)
            assert not sock.closed.is_set()
    finally:
        await client.aclose()
    replies = Counter(f["t"] for f in frames)
    assert set(replies) <= {"error", "pong", "queue", "claimed"}, replies
    codes = Counter(f["code"] for f in kinds(frames, "error"))
    assert set(codes) <= KNOWN_CODES, codes
    assert codes["bad_frame"] > 100  # the fuzzer did reach the validator
    assert server.process.poll() is None
    assert "Traceback" not in server.output()
