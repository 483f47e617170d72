"""What uvicorn's websockets-sansio protocol keeps for an open socket's life and the hub does not need.

Each open socket holds uvicorn's protocol object. Two of its parts serve only
the handshake, or cost more than they need to (tracemalloc, per socket):

- ``writable``, an ``asyncio.Event``: its deque of waiters alone is 760 bytes,
  and the hub never waits on it (it writes frames to the transport itself,
  ``outbox``); ``Writable`` has the same four methods and makes a waiter
  only when someone waits;
- ``response``, the handshake's response with its headers: read only until
  the handshake is complete.
"""

from __future__ import annotations

import asyncio
from typing import Any


class Writable:
    """``asyncio.Event``'s ``set``, ``clear``, ``is_set`` and ``wait``, without a deque until someone waits."""

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: bool) -> None:
        self._value = value
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        self._value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._value = False

    async def wait(self) -> None:
        if self._value:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


def slim_protocol(proto: Any) -> None:
    """After accept: a lean ``writable``, and no handshake response. Other servers' protocols are left alone."""
    if not getattr(proto, "handshake_complete", False):
        return
    writable = getattr(proto, "writable", None)
    if type(writable) is asyncio.Event:
        proto.writable = Writable(writable.is_set())
    if hasattr(proto, "response"):
        proto.response = None
