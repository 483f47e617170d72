"""``pings.ping_round``: one socket's turn of the ping wheel (``server/ws/pings.py``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from direkt.server.ws.pings import ping_round


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
