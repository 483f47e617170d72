"""Slow request heads (TARGETS 20): a crowd trickling headers a byte at a time is dropped at
the head timeout while a normal client logs in, chats and gets its pages; past the cap of
connections per address still sending a head, one more is refused at once and the
connections already in keep going."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from support import ServerProcess, timeout
from support_hub import citizen, open_chat

from direkt.server.redis.embedded import EmbeddedRedis

HEAD_TIMEOUT_S = 2.0
CROWD = 200
PACE_S = 0.25  # one byte per connection every PACE_S: a head that never ends
CAP = 20
SLOW_HEAD = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@pytest.fixture(scope="module")
def crowd_server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """Heads within 2 s; a cap above the crowd, so that only the timeout is tested."""
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_HEAD_TIMEOUT_SECONDS=str(HEAD_TIMEOUT_S),
        DIREKT_PENDING_HEADS_PER_ADDRESS=str(4 * CROWD),
    )
    yield process
    process.stop()


@pytest.fixture(scope="module")
def capped_server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """At most CAP connections of one address sending a head; heads may take a minute (the cap, not the clock)."""
    process = ServerProcess(
        standalone_redis.url, DIREKT_HEAD_TIMEOUT_SECONDS="60", DIREKT_PENDING_HEADS_PER_ADDRESS=str(CAP)
    )
    yield process
    process.stop()


class SlowCrowd:
    """``size`` connections trickling a request head that never ends, each reopened when the server drops it.

    Records how long each connection lived until the server closed it, what the
    server answered, and the connections it never closed within ``give_up_s``.
    """

    def __init__(self, port: int, size: int, give_up_s: float) -> None:
        self.port, self.size, self.give_up_s = port, size, give_up_s
        self.lifetimes: list[float] = []
        self.answers: list[bytes] = []
        self.never_closed = 0
        self.open_now = 0
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> SlowCrowd:
        self._tasks = [asyncio.create_task(self._member()) for _ in range(self.size)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def until(self, seconds: float, condition: Callable[[SlowCrowd], bool]) -> None:
        """Wait until ``condition`` holds, with a deadline."""
        async with asyncio.timeout(timeout(seconds)):
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

    async def _member(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # timed from before the connect: the server's head timer cannot start earlier, while
            # this task may resume well after the connection was made on a busy machine
            opened = loop.time()
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            self._count(+1)
            trickle = asyncio.create_task(self._trickle(writer))
            try:
                answer = await asyncio.wait_for(_read_to_eof(reader), self.give_up_s)
                self.lifetimes.append(loop.time() - opened)
                self.answers.append(answer)
            except TimeoutError:
                self.never_closed += 1
            finally:
                trickle.cancel()
                self._count(-1)
                await _closed(writer)

    async def _trickle(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(SLOW_HEAD[:1])
            for byte in [SLOW_HEAD[i : i + 1] for i in range(1, len(SLOW_HEAD))] + [b"a"] * 10_000:
                await asyncio.sleep(PACE_S)  # pacing the attack, not waiting for anything
                writer.write(byte)
                await writer.drain()

    def _count(self, change: int) -> None:
        self.open_now += change
        self._changed.set()


def all_open(crowd: SlowCrowd) -> bool:
    return crowd.open_now >= crowd.size


def dropped_twice_over(crowd: SlowCrowd) -> bool:
    """As many drops as twice the crowd: every connection was dropped, and its successor too (about)."""
    return len(crowd.lifetimes) >= 2 * crowd.size


async def _closed(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def _read_to_eof(reader: asyncio.StreamReader) -> bytes:
    """What the server sends until it closes (a reset counts as closed)."""
    try:
        return await reader.read()
    except ConnectionResetError:
        return b""


async def test_a_slow_header_crowd_is_dropped_while_a_normal_client_chats(crowd_server: ServerProcess) -> None:
    async with SlowCrowd(crowd_server.port, CROWD, give_up_s=timeout(HEAD_TIMEOUT_S + 20)) as crowd:
        await crowd.until(10, all_open)
        async with open_chat(crowd_server.base) as chat:  # logins, triage, claim and join, all over HTTP and /ws
            await chat.cs.request({"t": "send", "case": chat.case, "cid": "c1", "text": "Hej"}, "ack")
            assert (await chat.ns.expect("msg", timeout(10), cid="c1"))["text"] == "Hej"
        async with httpx.AsyncClient(base_url=crowd_server.base) as http:
            assert (await http.get("/readyz", timeout=timeout(10))).status_code == 200
        assert crowd.open_now >= CROWD // 2  # the crowd was at the door all along
        await crowd.until(HEAD_TIMEOUT_S * 2 + 30, dropped_twice_over)
    assert crowd.never_closed == 0
    assert min(crowd.lifetimes) >= HEAD_TIMEOUT_S * 0.9  # dropped by the head timeout, not refused
    assert max(crowd.lifetimes) <= timeout(HEAD_TIMEOUT_S + 15)
    answered = [a for a in crowd.answers if a]  # a reset may swallow the answer
    assert answered and all(a.startswith(b"HTTP/1.1 408 ") for a in answered)
    assert b'"request_timeout"' in answered[0]


@contextlib.asynccontextmanager
async def waiting_heads(
    port: int, count: int
) -> AsyncIterator[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]:
    """``count`` connections that have sent part of a request head and wait."""
    held = []
    try:
        for _ in range(count):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(SLOW_HEAD)
            await writer.drain()
            held.append((reader, writer))
        yield held
    finally:
        for _, writer in held:
            await _closed(writer)


async def test_past_the_cap_one_more_connection_is_refused_at_once_and_those_inside_go_on(
    capped_server: ServerProcess,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        erik = await citizen(capped_server.base)
        stack.push_async_callback(erik.aclose)
        sock = await erik.socket()  # in before the crowd
        stack.push_async_callback(sock.close)
        await sock.expect("welcome")
        held = await stack.enter_async_context(waiting_heads(capped_server.port, CAP))

        reader, writer = await asyncio.open_connection("127.0.0.1", capped_server.port)
        try:  # sends nothing: the answer cannot be lost to a reset of unread bytes
            refusal = await asyncio.wait_for(reader.read(), timeout(5))
        finally:
            await _closed(writer)
        assert refusal.startswith(b"HTTP/1.1 429 ") and b'"rate_limited"' in refusal

        assert (await sock.request({"t": "ping", "n": 1}, "pong"))["n"] == 1  # the socket inside goes on
        assert not any(r.at_eof() for r, _ in held)
        first_reader, first_writer = held[0]
        first_writer.write(b"a\r\nConnection: close\r\n\r\n")  # a held head completes: it is answered
        answer = await asyncio.wait_for(first_reader.read(), timeout(10))
        assert answer.startswith(b"HTTP/1.1 200 ")
        async with httpx.AsyncClient(base_url=capped_server.base) as http:  # and its place at the door is free
            assert (await http.get("/readyz", timeout=timeout(10))).status_code == 200
