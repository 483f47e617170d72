"""``pings.ping_round``: one socket's turn of the ping wheel (``server/ws/pings.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace
from typing import Any

from direkt.server.ws.pings import PingWheel, ping_round


class Transport:
    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        raise AssertionError("no new ping while one is unanswered")


def uvicorn_ping_pending() -> Any:
    """A protocol whose own ping (uvicorn's) was sent before the wheel took it: no ``ping_sent_at``."""
    timeouts: list[bool] = []
    proto = SimpleNamespace(
        close_sent=False, transport=Transport(), pending_ping_payload=b"abcd", ping_timeout=20.0, timeouts=timeouts
    )
    proto.keepalive_timeout = lambda: timeouts.append(True)
    return proto


def test_a_ping_uvicorn_sent_before_the_takeover_gets_its_whole_timeout_then_fails_the_socket() -> None:
    proto = uvicorn_ping_pending()
    ping_round(proto, 100.0)  # it raised AttributeError, which ended the wheel's task: no socket pinged again
    ping_round(proto, 119.0)
    assert proto.timeouts == []
    ping_round(proto, 120.0)
    assert proto.timeouts == [True]


def test_a_ping_unanswered_for_the_timeout_on_millisecond_clock_readings_fails_the_socket_at_that_turn() -> None:
    proto = uvicorn_ping_pending()
    proto.ping_sent_at = 262137.644  # uvloop's clock: whole milliseconds over 1000
    ping_round(proto, 262157.644)  # 20 s on, computed as 19.99999999997: it waited a whole extra turn
    assert proto.timeouts == [True]


class Pingable:
    """A uvicorn sansio protocol as the wheel sees it, recording the pings it is sent."""

    handshake_complete = True
    close_sent = False
    ping_interval = 0.02
    ping_timeout = 20.0

    def __init__(self) -> None:
        self.pending_ping_payload: bytes | None = None
        self.sent: list[bytes] = []
        self.transport = SimpleNamespace(is_closing=lambda: False, write=self.sent.append)
        self.conn = SimpleNamespace(send_ping=lambda payload: None, data_to_send=lambda: [b"ping"])

    def stop_keepalive(self) -> None:
        pass

    def keepalive_timeout(self) -> None:
        pass


class Broken(Pingable):
    """A member whose turn raises what no socket should: a bug, not a network failure."""

    @property  # type: ignore[override]
    def close_sent(self) -> bool:
        raise TypeError("a bug in one socket's turn")


async def pinged_twice(proto: Pingable, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while len(proto.sent) < 2:
        assert asyncio.get_running_loop().time() < deadline, "the wheel stopped pinging"
        proto.pending_ping_payload = None  # the pong came
        await asyncio.sleep(0.005)


async def test_a_bug_in_one_sockets_turn_leaves_the_others_pinged() -> None:
    wheel, good, broken = PingWheel(), Pingable(), Broken()
    try:
        assert wheel.add(good) and wheel.add(broken)
        await pinged_twice(good)  # the broken member's TypeError ended the wheel's task before
        assert wheel._task is not None and not wheel._task.done()
    finally:
        await wheel.stop()


async def test_a_wheel_whose_task_ended_is_started_again_by_the_next_socket() -> None:
    wheel, first, second = PingWheel(), Pingable(), Pingable()
    try:
        wheel.add(first)
        assert wheel._task is not None
        wheel._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wheel._task
        wheel.add(second)
        await pinged_twice(second)
    finally:
        await wheel.stop()
