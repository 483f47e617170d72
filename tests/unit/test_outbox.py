"""The per-connection outbox (``ws.outbox.Outbox``): bounded, taken whole, race-free room; frame headers."""

from __future__ import annotations

import asyncio

import pytest
from websockets.frames import Frame, Opcode

from direkt.server.ws.outbox import BINARY, TEXT, Outbox, frame_header


async def test_the_sender_takes_everything_queued_at_once_in_order() -> None:
    box = Outbox(10)
    for frame in (b"ack", b"msg", "text"):
        assert box.put(frame)
    assert await box.take() == [b"ack", b"msg", "text"]
    assert len(box) == 0


async def test_a_full_outbox_refuses_frames_but_always_takes_the_end_marker() -> None:
    box = Outbox(2)
    assert box.put(b"1") and box.put(b"2")
    assert not box.put(b"3")  # the caller closes the slow consumer
    assert box.put(None)
    assert await box.take() == [b"1", b"2", None]


async def test_a_waiting_sender_wakes_for_the_first_frame() -> None:
    box = Outbox(4)
    taking = asyncio.create_task(box.take())
    await asyncio.sleep(0)
    assert not taking.done()
    box.put(b"x")
    assert await asyncio.wait_for(taking, 1) == [b"x"]


async def test_room_is_never_missed_when_the_sender_takes_before_the_waiter_runs() -> None:
    # A replay fills the outbox and waits for room while the sender, already
    # woken, runs first: the waiter must still learn that the frames were taken.
    box = Outbox(4)
    sender = asyncio.create_task(box.take())
    await asyncio.sleep(0)
    for i in range(4):
        box.put(bytes([i]))
    taken = box.taken()  # made before anything else runs
    assert len(await sender) == 4
    await asyncio.wait_for(asyncio.shield(taken), 1)


async def test_wake_lets_a_room_waiter_go_when_the_connection_closes() -> None:
    box = Outbox(1)
    box.put(b"x")
    waiter = asyncio.ensure_future(asyncio.shield(box.taken()))
    box.wake()
    await asyncio.wait_for(waiter, 1)
    box.clear()
    assert len(box) == 0
    with pytest.raises(TimeoutError):  # nothing queued: a sender waits
        await asyncio.wait_for(box.take(), 0.05)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
@pytest.mark.parametrize(("first", "opcode"), [(BINARY, Opcode.BINARY), (TEXT, Opcode.TEXT)])
def test_our_frame_header_is_the_one_websockets_makes(size: int, first: int, opcode: Opcode) -> None:
    payload = b"a" * size
    assert frame_header(payload, first) + payload == Frame(opcode, payload).serialize(mask=False)


async def test_on_ready_is_told_once_per_batch_and_never_while_a_sender_waits() -> None:
    outbox, told = Outbox(8), []
    outbox.on_ready = lambda: told.append(len(outbox))
    outbox.put(b"a")
    outbox.put(b"b")  # the batch is already announced
    assert told == [1] and outbox.take_now() == [b"a", b"b"]
    outbox.put(None)  # the end marker starts a batch too
    assert told == [1, 1] and outbox.take_now() == [None]
    sender = asyncio.create_task(outbox.take())
    await asyncio.sleep(0)  # the sender now waits for a frame
    outbox.put(b"c")
    assert await sender == [b"c"] and told == [1, 1]  # the waiting sender took it: no callback
