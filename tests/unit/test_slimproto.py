"""After accept, uvicorn's protocol keeps a lean ``writable`` (memory per socket)."""

from __future__ import annotations

import asyncio

import pytest

from direkt.server.ws.slimproto import Writable, slim_protocol


class Proto:
    def __init__(self, complete: bool) -> None:
        self.handshake_complete = complete
        self.writable = asyncio.Event()


async def test_a_waiter_waits_while_clear_and_wakes_on_set_like_an_event() -> None:
    writable = Writable(True)
    await writable.wait()  # set: no wait
    writable.clear()
    waiting = writable.wait()  # driven by hand: each step is explicit, no sleeps
    future = waiting.send(None)  # it waits on its future
    assert isinstance(future, asyncio.Future) and not future.done()
    writable.set()
    assert future.done()
    with pytest.raises(StopIteration):
        waiting.send(None)
    assert writable.is_set()


async def test_a_cancelled_waiter_is_forgotten() -> None:
    writable = Writable(False)
    waiting = writable.wait()
    waiting.send(None)
    with pytest.raises(asyncio.CancelledError):
        waiting.throw(asyncio.CancelledError())
    assert writable._waiters == []
    writable.set()  # no error for the cancelled one
    assert writable.is_set()


async def test_after_the_handshake_the_event_becomes_lean_with_its_state() -> None:
    proto = Proto(complete=True)
    proto.writable.clear()  # paused at accept: stays paused
    slim_protocol(proto)
    assert isinstance(proto.writable, Writable)
    assert not proto.writable.is_set()


async def test_before_the_handshake_or_another_server_nothing_changes() -> None:
    proto = Proto(complete=False)
    slim_protocol(proto)
    assert isinstance(proto.writable, asyncio.Event)
    slim_protocol(None)
    slim_protocol(object())
