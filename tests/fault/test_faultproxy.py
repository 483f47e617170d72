"""The fault proxy itself (tests/faultproxy.py), in front of the real embedded Redis.

Plain sockets speak RESP through it, so what each fault does to the bytes is
seen directly: pass-through, added latency, stalled bytes released in order
(even after the client gave up), a blackhole that stays dead, and resets.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from faultproxy import FaultProxy
from support import timeout

from direkt.server.redis.embedded import EmbeddedRedis

PING = b"*1\r\n$4\r\nPING\r\n"
PONG = b"+PONG\r\n"


def command(*words: str) -> bytes:
    return f"*{len(words)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in words)


@pytest.fixture
def proxy(standalone_redis: EmbeddedRedis) -> Iterator[FaultProxy]:
    with FaultProxy(standalone_redis.url) as made:
        yield made


def dial(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout(5))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def answer(sock: socket.socket, seconds: float) -> bytes:
    """What arrives within ``seconds`` (b"" for an orderly close); raises TimeoutError for silence."""
    sock.settimeout(seconds)
    return sock.recv(1024)


def ask(proxy: FaultProxy, *words: str) -> bytes:
    with dial(proxy) as sock:
        sock.sendall(command(*words))
        return answer(sock, timeout(5))


def test_bytes_pass_through_both_ways(proxy: FaultProxy) -> None:
    with dial(proxy) as sock:
        for _ in range(3):
            sock.sendall(PING)
            assert answer(sock, timeout(5)) == PONG
    assert proxy.accepted == 1


def test_delay_adds_latency_each_way(proxy: FaultProxy) -> None:
    with dial(proxy) as sock:
        proxy.delay(0.2)
        started = time.monotonic()
        sock.sendall(PING)
        assert answer(sock, timeout(5)) == PONG
        assert time.monotonic() - started >= 0.4  # 0.2 s out, 0.2 s back
        proxy.heal()
        started = time.monotonic()
        sock.sendall(PING)
        assert answer(sock, timeout(5)) == PONG
        assert time.monotonic() - started < 0.2


def test_a_stall_holds_bytes_until_healed_and_delivers_them_in_order(proxy: FaultProxy) -> None:
    with dial(proxy) as sock:
        proxy.stall()
        sock.sendall(command("INCR", "proxy:n") + command("INCR", "proxy:n"))
        with pytest.raises(TimeoutError):
            answer(sock, 0.3)
        proxy.heal()
        got = b""
        while got.count(b"\r\n") < 2:
            got += answer(sock, timeout(5))
        assert got == b":1\r\n:2\r\n"


def test_a_command_held_in_a_stall_still_runs_after_its_client_gave_up(proxy: FaultProxy) -> None:
    """The client times out and closes; its bytes were on the wire, so Redis runs them on healing."""
    ask(proxy, "DEL", "proxy:late")
    proxy.stall()
    with dial(proxy) as sock:
        sock.sendall(command("SET", "proxy:late", "ja"))
        with pytest.raises(TimeoutError):
            answer(sock, 0.2)
    proxy.heal()
    deadline = time.monotonic() + timeout(5)
    while ask(proxy, "GET", "proxy:late") != b"$2\r\nja\r\n":
        assert time.monotonic() < deadline, "the held SET never reached Redis"


def test_a_blackhole_accepts_answers_nothing_and_its_connections_stay_dead(proxy: FaultProxy) -> None:
    with dial(proxy) as old:
        old.sendall(PING)
        assert answer(old, timeout(5)) == PONG
        proxy.drop()
        old.sendall(PING)
        with dial(proxy) as new:  # accepted during the blackhole
            new.sendall(PING)
            with pytest.raises(TimeoutError):
                answer(new, 0.3)
        with pytest.raises(TimeoutError):
            answer(old, 0.1)
        proxy.heal()
        with pytest.raises(ConnectionResetError):  # reset, never a late or a partial reply
            answer(old, timeout(5))
    assert ask(proxy, "PING") == PONG  # new connections work again


def test_reset_closes_every_open_connection_and_new_ones_work(proxy: FaultProxy) -> None:
    socks = [dial(proxy) for _ in range(3)]
    for sock in socks:
        sock.sendall(PING)
        assert answer(sock, timeout(5)) == PONG
    assert proxy.open_connections() == 3
    proxy.reset()
    for sock in socks:
        with pytest.raises(ConnectionResetError):
            answer(sock, timeout(5))
        sock.close()
    assert ask(proxy, "PING") == PONG
