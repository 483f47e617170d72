"""The WebSocket protocol against a real ``direkt serve``, real Redis and real sockets.

What a client notices: which handshakes are refused (and why), that both
subprotocols work, that a malformed frame costs one ``error`` frame and never
the connection, that oversize frames close it with 1009 without the server
growing, that compression is never agreed and a deflate bomb is refused
uninflated, who may do what, throttling that spares a bystander, a slow reader
closed with 1008 that resumes without a gap, and logout closing sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgpack
import orjson
import psutil
import pytest
from support import ServerProcess, timeout
from support_hub import (
    GUARDIAN,
    KNOWN_CODES,
    LONG_TRANSCRIPT,
    UNLISTED,
    barrier,
    citizen,
    frames_until,
    kinds,
    open_chat,
    seed_transcript,
    staff,
    waiting_case,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol
from websockets.utils import apply_mask

from direkt.loadtests.client import JSON, MSGPACK, Client, Socket
from direkt.queue.scripts import RedisClient
from direkt.server.redis import keys
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

FRAME_LIMIT = 64 * 1024
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
CLOSE_SESSION_ENDED = 4001
FLOOD = 2500  # messages for a reader that stopped reading
THROTTLED_FLOOD_FRAMES = 500  # refused frames a socket may send before it is closed as a flood
A_CASE = "t.01JDQ4ZP2Y3KX8V7N6M5R4T3S2"  # well-formed, never submitted


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """A generous frame rate: fuzzing and floods from the other side are the point here."""
    process = ServerProcess(standalone_redis.url, DIREKT_MESSAGE_RATE="100000")
    yield process
    process.stop()


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


@contextlib.asynccontextmanager
async def opened(client: Client, subprotocol: str = MSGPACK) -> AsyncIterator[Socket]:
    """A socket past its ``welcome`` frame."""
    sock = await client.socket(subprotocol)
    try:
        assert (await sock.recv(timeout(5)))["t"] == "welcome"
        yield sock
    finally:
        await sock.close()


def ws_url(server: ServerProcess, ticket: str | None) -> str:
    url = server.base.replace("http", "ws", 1) + "/ws"
    return url if ticket is None else f"{url}?ticket={ticket}"


def raw(url: str, origin: str | None, offered: list[str], **options: Any) -> Any:
    return connect(
        url,
        origin=Origin(origin) if origin is not None else None,
        subprotocols=[Subprotocol(p) for p in offered] or None,
        compression=None,
        open_timeout=timeout(5),
        proxy=None,
        **options,
    )


async def refusal(url: str, origin: str | None, offered: list[str] | None = None) -> tuple[int, dict[str, Any]]:
    """The HTTP answer to a handshake that must not be accepted."""
    with pytest.raises(InvalidStatus) as refused:
        async with raw(url, origin, [JSON] if offered is None else offered):
            pass
    response = refused.value.response
    return response.status_code, orjson.loads(response.body)


async def await_close(sock: Socket) -> int | None:
    await asyncio.wait_for(sock.closed.wait(), timeout(5))
    return sock.close_code


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


def decode(data: str | bytes) -> dict[str, Any]:
    frame: dict[str, Any] = msgpack.unpackb(data) if isinstance(data, bytes) else orjson.loads(data)
    return frame


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
