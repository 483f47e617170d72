"""What one socket hears through the process's fan-out besides its cases' chats.

``UserListener``: the user's own channel (in-app notices, session
revocations). ``QueueListener``: a region's queue events, for a staff desk.
Each is one subscriber of ``Fanout``: ``on_message`` for a published message,
``on_resync`` after pub/sub dropped and came back.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

import msgpack

from direkt.server.background import spawn
from direkt.server.errors import DirektError
from direkt.server.ws import frames as f
from direkt.server.ws.outlet import Outlet
from direkt.server.ws.refusals import CLOSE_SESSION_ENDED


class UserListener:
    """A user's channel: in-app notices and session revocations."""

    __slots__ = ("out", "sid")

    def __init__(self, out: Outlet, sid: str) -> None:
        self.out = out
        self.sid = sid

    def on_message(self, channel: str, data: bytes) -> None:
        event = msgpack.unpackb(data)
        if event.get("t") == "revoked":
            if event.get("sid") in ("*", self.sid):
                spawn(self.out.close(CLOSE_SESSION_ENDED, "logged out"))
            return
        self.out.push(event)

    def on_resync(self) -> None:
        pass


class QueueDesk(Protocol):
    """The staff desk a queue listener reports to (``desk.StaffDesk``)."""

    def on_queue_event(self, event: dict[str, Any], token: int | None = None) -> None: ...

    async def on_watch(self, frame: f.Watch) -> None: ...


class QueueListener:
    """A region's queue events, filtered per staff connection."""

    def __init__(self, desk: QueueDesk) -> None:
        self.desk = desk

    def on_message(self, channel: str, data: bytes) -> None:
        event = msgpack.unpackb(data)
        event["region"] = channel.rsplit(":", 1)[1]
        token = event.pop("token", None)  # a fencing token is never sent to a client
        self.desk.on_queue_event(event, token if isinstance(token, int) else None)

    def on_resync(self) -> None:  # events may have been missed: send a fresh snapshot
        spawn(self._snapshot())

    async def _snapshot(self) -> None:
        with contextlib.suppress(DirektError):
            await self.desk.on_watch(f.Watch())
