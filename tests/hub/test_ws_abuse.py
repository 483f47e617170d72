"""Hostile frames against a real ``direkt serve``: deep nesting and fuzzing (TARGETS 21).

What a client notices: a frame nested a thousand levels deep (or as deep as
fits in 64 KiB) costs one ``bad_frame`` error and the socket keeps working; it
used to kill the socket without a close frame (1006) and log a
``RecursionError`` traceback (issue 19). Deeper than fits is closed with 1009.
Random, truncated, mutated and deeply nested frames only ever get typed
errors, and the server does not grow.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import msgpack
import orjson
import psutil
import pytest
from support import ServerProcess, timeout
from support_hub import KNOWN_CODES, barrier, citizen, kinds, staff
from websockets.exceptions import ConnectionClosed

from direkt.loadtests.client import JSON, MSGPACK, Client, Socket
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

FRAME_LIMIT = 64 * 1024
CLOSE_TOO_BIG = 1009
A_CASE = "t.01JDQ4ZP2Y3KX8V7N6M5R4T3S2"  # well-formed, never submitted


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """A generous frame rate: the frames' content is under test here, not their rate."""
    process = ServerProcess(standalone_redis.url, DIREKT_MESSAGE_RATE="100000")
    yield process
    process.stop()


@contextlib.asynccontextmanager
async def opened(client: Client, subprotocol: str) -> AsyncIterator[Socket]:
    sock = await client.socket(subprotocol)
    try:
        assert (await sock.recv(timeout(5)))["t"] == "welcome"
        yield sock
    finally:
        await sock.close()


def server_rss(server: ServerProcess) -> int:
    root = psutil.Process(server.process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


# --- deep nesting --------------------------------------------------------------------------------


def deep(levels: int, subprotocol: str, maps: Callable[[int], bool] = lambda level: False) -> bytes | str:
    """A value nested ``levels`` deep: arrays, and maps at the levels ``maps`` picks. Written by
    hand: the encoders themselves refuse past a few hundred levels."""
    is_map = [maps(level) for level in range(levels)]
    if subprotocol == MSGPACK:
        return b"".join(b"\x81\xa1k" if m else b"\x91" for m in is_map) + b"\xc0"
    opens = "".join('{"k":' if m else "[" for m in is_map)
    return opens + "null" + "".join("}" if m else "]" for m in reversed(is_map))


def alternating(level: int) -> bool:
    return level % 2 == 1


def in_a_send(value: bytes | str, subprotocol: str) -> bytes | str:
    """A ``send`` frame with the nested value as its text: the type comes first, as clients write it."""
    if isinstance(value, bytes):
        return b"\x84\xa1t\xa4send\xa4case" + msgpack.packb(A_CASE) + b"\xa3cid\xa1c\xa4text" + value
    return '{"t":"send","case":"' + A_CASE + '","cid":"c","text":' + value + "}"


def before_the_type(value: bytes | str, subprotocol: str) -> bytes | str:
    """A ``ping`` frame with the nested value before its type: the decoder must skip it to find the type."""
    if isinstance(value, bytes):
        return b"\x82\xa1x" + value + b"\xa1t\xa4ping"
    return '{"x":' + value + ',"t":"ping"}'


def whole(value: bytes | str, subprotocol: str) -> bytes | str:
    return value


SHAPES = [whole, in_a_send, before_the_type]


@pytest.mark.parametrize("shape", SHAPES, ids=[s.__name__ for s in SHAPES])
@pytest.mark.parametrize(
    ("levels", "maps"),
    [(1_000, alternating), (32_000, lambda level: False)],  # 32,000 arrays: as deep as fits in 64 KiB
    ids=["1000-levels", "32000-levels"],
)
@pytest.mark.parametrize("subprotocol", [MSGPACK, JSON])
async def test_a_deeply_nested_frame_gets_bad_frame_and_the_socket_keeps_working(
    server: ServerProcess, erik: Client, subprotocol: str, levels: int, maps: Any, shape: Any
) -> None:
    frame = shape(deep(levels, subprotocol, maps), subprotocol)
    assert len(frame) <= FRAME_LIMIT
    async with opened(erik, subprotocol) as sock:
        await sock.ws.send(frame)
        [error, pong] = await barrier(sock)  # the ping after it is answered: the socket lives
        assert (error["t"], error["code"]) == ("error", "bad_frame"), error
        assert "nests deeper than 16 levels" in error["message"]
        assert pong["t"] == "pong"
        assert not sock.closed.is_set()
    assert "Traceback" not in server.output() and "RecursionError" not in server.output()


@pytest.mark.parametrize("subprotocol", [MSGPACK, JSON])
async def test_a_frame_nested_100000_levels_is_too_big_and_closed_with_1009(
    server: ServerProcess, erik: Client, subprotocol: str
) -> None:
    """A hundred thousand levels take at least 100 kB in either codec: over the frame limit, a clean close."""
    frame = deep(100_000, subprotocol)
    sock = await erik.socket(subprotocol)
    try:
        assert (await sock.recv(timeout(5)))["t"] == "welcome"
        with contextlib.suppress(ConnectionClosed):
            await sock.ws.send(frame)
        await sock.closed.wait()
        assert sock.close_code == CLOSE_TOO_BIG
    finally:
        await sock.close()
    async with opened(erik, subprotocol) as again:  # and the server still serves
        assert kinds(await barrier(again), "pong")
    assert "Traceback" not in server.output()


# --- fuzzing with a memory bound -----------------------------------------------------------------

GOOD_FRAMES: list[dict[str, Any]] = [
    {"t": "ping", "n": 3, "ref": "p"},
    {"t": "join", "case": A_CASE, "after": "1700000000000-0", "ref": "j"},
    {"t": "send", "case": A_CASE, "cid": "c1", "text": "Hej, jag har ont i halsen sedan i tisdags.", "ref": "s"},
    {"t": "typing", "case": A_CASE, "on": True},
    {"t": "read", "case": A_CASE, "id": "1700000000000-3"},
    {"t": "claim_next", "rid": "r1"},
    {"t": "call_propose", "case": A_CASE, "media": "video"},
    {"t": "sdp", "case": A_CASE, "call": "0123456789ab", "kind": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"},
    {"t": "ice", "case": A_CASE, "call": "0123456789ab", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"},
]


def encode(frame: Any, subprotocol: str) -> bytes | str:
    return msgpack.packb(frame) if subprotocol == MSGPACK else orjson.dumps(frame).decode()


def fuzzed(rng: random.Random, subprotocol: str) -> bytes | str:
    """One hostile frame: deeply nested (whole or in a field), truncated, mutated, or noise."""
    good = encode(rng.choice(GOOD_FRAMES), subprotocol)
    kind = rng.choice(("deep", "deep-in-field", "truncated", "mutated", "spliced", "noise"))
    maps = lambda level: rng.random() < 0.5  # noqa: E731
    levels = rng.choice((17, 100, 999, 1_000, 5_000, 10_000))  # 10,000 maps of JSON: 60 kB, under the limit
    if kind == "deep":
        frame = deep(levels, subprotocol, maps)
    elif kind == "deep-in-field":
        frame = rng.choice((in_a_send, before_the_type))(deep(levels, subprotocol, maps), subprotocol)
    elif kind == "truncated":
        frame = good[: rng.randrange(len(good))]
    elif kind == "mutated":
        frame = mutate(rng, good)
    elif kind == "spliced":  # a deep value cut short inside a good frame's field
        frame = in_a_send(deep(levels, subprotocol, maps), subprotocol)
        frame = frame[: rng.randrange(len(frame))]
    else:
        frame = rng.randbytes(rng.randrange(1, 400)) if subprotocol == MSGPACK else "".join(
            rng.choice('[]{}",:\\ 0ab') for _ in range(rng.randrange(1, 400))
        )  # fmt: skip
    if kind in ("deep", "deep-in-field") and rng.random() < 0.3:
        frame = frame[: rng.randrange(1, len(frame))]  # and truncated
    return frame


def mutate(rng: random.Random, frame: bytes | str) -> bytes | str:
    if isinstance(frame, bytes):
        data = bytearray(frame)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.choice((rng.randrange(256), 0x91, 0xDC, 0xDF, 0xC1, 0xDB))
        return bytes(data)
    text = list(frame)
    for _ in range(rng.randrange(1, 6)):
        text[rng.randrange(len(text))] = rng.choice('[]{}"\\:,\x00é')
    return "".join(text)


async def fuzz_round(sock: Socket, rng: random.Random, subprotocol: str, count: int) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    for i in range(count):
        await sock.ws.send(fuzzed(rng, subprotocol))
        if i % 100 == 99:
            replies += (await barrier(sock))[:-1]
    return replies


@pytest.mark.parametrize(("subprotocol", "role"), [(MSGPACK, "citizen"), (JSON, "citizen"), (MSGPACK, "staff")])
async def test_hostile_frames_only_get_typed_errors_and_the_server_does_not_grow(
    server: ServerProcess, subprotocol: str, role: str
) -> None:
    rng = random.Random(f"direkt-hostile-{subprotocol}-{role}")
    client = await (citizen(server.base) if role == "citizen" else staff(server.base))
    try:
        async with opened(client, subprotocol) as sock:
            await fuzz_round(sock, rng, subprotocol, 300)  # warm up: allocator pools, code paths
            before = server_rss(server)
            replies = await fuzz_round(sock, rng, subprotocol, 2_000)
            grown = server_rss(server) - before
            assert not sock.closed.is_set()
            assert kinds(await barrier(sock), "pong")
    finally:
        await client.aclose()
    assert {r["t"] for r in replies} <= {"error", "pong", "queue", "claimed"}, Counter(r["t"] for r in replies)
    codes = Counter(r["code"] for r in kinds(replies, "error"))
    assert set(codes) <= KNOWN_CODES, codes
    assert codes["bad_frame"] > 1_000, codes  # the hostile frames did reach the codec
    assert grown < 10 * 2**20, f"the server grew by {grown / 2**20:.1f} MiB over 2,000 hostile frames"
    assert server.process.poll() is None
    assert "Traceback" not in server.output()
