"""A join's first position (``PositionFeed.watch``): the cases watched at one moment are read together, in
one script call per chunk, and each watcher gets its frame; a case unwatched before the read gets none."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from direkt.queue.records import Position
from direkt.server.ws.positions import SWEEP_CHUNK, PositionFeed

WAITING = Position("waiting", 1, 1, 0, 60_000, unit="vc-t", skill="nurse")


class Waitroom:
    """Answers every case as waiting first in line; records each call's cases (one case: ``position``)."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.answered = asyncio.Event()  # set once a call has answered and its positions were told

    async def positions(self, case_ids: list[str]) -> dict[str, Position]:
        self.calls.append(list(case_ids))
        self.answered.set()  # its waiter runs after the caller's step: the positions were told by then
        return dict.fromkeys(case_ids, WAITING)

    async def position(self, case_id: str) -> Position:
        return (await self.positions([case_id]))[case_id]


class Out:
    def __init__(self, expected: int = 1) -> None:
        self.frames: list[dict[str, Any]] = []
        self.expected = expected
        self.told = asyncio.Event()

    def push(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        if len(self.frames) >= self.expected:
            self.told.set()


def feed(waitroom: Waitroom) -> PositionFeed:
    services = SimpleNamespace(
        client=None, waitroom=waitroom, clock=lambda: 1_700_000_000_000,
        settings=SimpleNamespace(position_interval_seconds=5.0),
    )  # fmt: skip
    return PositionFeed(services, set)  # type: ignore[arg-type]


def test_the_joins_of_one_moment_are_one_read_and_each_watcher_is_told() -> None:
    async def run() -> tuple[Waitroom, list[Out]]:
        waitroom = Waitroom()
        positions = feed(waitroom)
        outs = [Out(2), *(Out() for _ in range(SWEEP_CHUNK + 2))]
        for i, out in enumerate(outs):
            positions.watch(out, f"case-{i}")  # type: ignore[arg-type]
        positions.watch(outs[0], "case-1")  # type: ignore[arg-type]  # a second socket on one case
        await asyncio.wait_for(asyncio.gather(*(out.told.wait() for out in outs)), 10)
        return waitroom, outs

    waitroom, outs = asyncio.run(run())
    assert [len(call) for call in waitroom.calls] == [SWEEP_CHUNK, 3]  # not one call per join
    assert sorted(f["case"] for f in outs[0].frames) == ["case-0", "case-1"]
    assert all(len(out.frames) == 1 and out.frames[0]["t"] == "position" for out in outs[1:])


def test_a_case_unwatched_before_its_read_is_not_told() -> None:
    async def run() -> tuple[Out, PositionFeed]:
        waitroom = Waitroom()
        positions = feed(waitroom)
        out = Out()
        positions.watch(out, "case-0")  # type: ignore[arg-type]
        positions.unwatch(out, "case-0")  # type: ignore[arg-type]
        await asyncio.wait_for(waitroom.answered.wait(), 10)
        return out, positions

    out, positions = asyncio.run(run())
    assert out.frames == []
    assert positions.smoothed == {} and positions.queue_of == {}


class SlowWaitroom(Waitroom):
    """Holds every read until released: a read is under way when the feed stops."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def positions(self, case_ids: list[str]) -> dict[str, Position]:
        self.calls.append(list(case_ids))
        self.answered.set()
        await self.release.wait()
        return dict.fromkeys(case_ids, WAITING)


def test_stop_ends_a_first_read_under_way() -> None:
    async def run() -> list[asyncio.Task[Any]]:
        waitroom = SlowWaitroom()
        positions = feed(waitroom)
        positions.watch(Out(), "case-0")  # type: ignore[arg-type]
        await asyncio.wait_for(waitroom.answered.wait(), 10)  # the read is waiting on Redis
        await positions.stop()  # the hub stops: the read outlived it (and would have told the socket later)
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(run()) == []
