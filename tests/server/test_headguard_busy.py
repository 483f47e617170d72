"""The head guard does not hold the server's own slowness against a client (``headguard.unread``).

A real uvicorn with the guard and uvloop, as ``direkt serve`` runs: a client
connects, and while the server is busy (one request blocks its loop for
longer than the head timeout, as a reconnect storm does), the client sends its
whole head. uvloop runs its timers before the next reads, so the guard's time
was up before the head, which had arrived on time, was read: the connection was
closed unanswered. Now the head gets one more period and is answered. A
client that stops sending mid-head is still answered 408.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from support import free_port, serve_in_thread, timeout

from direkt.server.http.headguard import GuardedHttp, HeadLimits

HEAD_TIMEOUT_S = 0.3
BUSY_S = 3 * HEAD_TIMEOUT_S
busy = threading.Event()


async def hello(_: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


async def block(_: Request) -> PlainTextResponse:
    """Busy the loop while it reads (a storm's thousands of reads): in a reader callback, not a task.

    uvloop reads in the same turn right after its tasks; after a reader it runs its timers first.
    """
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()

    def busy_reading() -> None:
        loop.remove_reader(ours.fileno())
        busy.set()
        time.sleep(BUSY_S)  # on purpose: the server's loop is busy, as in a storm
        ours.close()
        theirs.close()

    loop.add_reader(ours.fileno(), busy_reading)
    theirs.send(b"x")
    return PlainTextResponse("done")


GUARD = GuardedHttp(HeadLimits(timeout_s=HEAD_TIMEOUT_S, per_address=64))


@pytest.fixture
def port() -> Iterator[int]:
    app = Starlette(routes=[Route("/hello", hello), Route("/block", block)])
    found = free_port()
    with serve_in_thread(app, found, "guarded-http", http=GUARD, loop="uvloop"):
        yield found


def at_the_door(count: int) -> None:
    """Until the server has taken ``count`` connections from this address in (their head timers run)."""
    deadline = time.monotonic() + timeout(5)
    while GUARD._door is None or GUARD._door.waiting("127.0.0.1") < count:
        assert time.monotonic() < deadline, "the server did not take the connection"
        time.sleep(0.005)


def answer(sock: socket.socket) -> bytes:
    sock.settimeout(timeout(10))
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_head_sent_on_time_while_the_server_is_busy_is_answered(port: int) -> None:
    busy.clear()
    with socket.create_connection(("127.0.0.1", port)) as waiting, socket.create_connection(("127.0.0.1", port)) as b:
        at_the_door(2)  # both taken in: their head timers run from now
        b.sendall(b"GET /block HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        assert busy.wait(timeout(5))  # the loop is blocked now, for three head timeouts
        waiting.sendall(b"GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")  # on time
        assert answer(b).startswith(b"HTTP/1.1 200")
        got = answer(waiting)
    assert got.startswith(b"HTTP/1.1 200"), got
    assert got.endswith(b"hello")


def test_a_head_that_stops_midway_is_still_refused(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(b"GET /hello HTTP/1.1\r\nhost: x\r\n")  # and nothing more
        started = time.monotonic()
        got = answer(slow)
    assert got.startswith(b"HTTP/1.1 408"), got
    assert time.monotonic() - started < timeout(5)
