"""What uvicorn's websockets-sansio protocol keeps for an open socket's life and the hub does not need.

Each open socket holds uvicorn's protocol object. Its ``writable``, an
``asyncio.Event`` set while the transport takes writes (flow control), holds
a deque of waiters of 760 bytes from the start (tracemalloc, per socket),
though a waiter is rare: only a slow consumer's writer waits
(``outbox.SansioWriter``). ``Writable`` has the same four methods and makes
a list of waiters only when someone waits. (The handshake's request and
response are dropped by ``outbox.SansioWriter.after_accept``, its headers by
``connection.forget_handshake``.)
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
    """After accept: a lean ``writable``. Other servers' protocols are left alone."""
    if not getattr(proto, "handshake_complete", False):
        return
    writable = getattr(proto, "writable", None)
    if type(writable) is asyncio.Event:
        proto.writable = Writable(writable.is_set())
