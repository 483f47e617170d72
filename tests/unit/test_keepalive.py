"""The keepalive wheel: every socket gets its round once per interval, by one task."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from support import timeout

from direkt.server.ws.keepalive import SLOTS, Wheel

INTERVAL = 0.3


class Member:
    def __init__(self, ticked: asyncio.Event, fail: bool = False) -> None:
        self.rounds: list[float] = []  # when each round ran (loop time)
        self.ticked = ticked
        self.fail = fail

    async def keepalive_round(self) -> None:
        self.rounds.append(asyncio.get_running_loop().time())
        self.ticked.set()
        if self.fail:
            raise RuntimeError("Redis said no")


async def until(ticked: asyncio.Event, condition: Callable[[], bool], seconds: float) -> None:
    """Wait for rounds until ``condition`` holds; fail after ``seconds``."""
    async with asyncio.timeout(timeout(seconds)):
        while not condition():
            ticked.clear()
            await ticked.wait()


async def test_every_member_has_a_round_each_interval_and_none_after_removal() -> None:
    wheel, ticked = Wheel(lambda: INTERVAL), asyncio.Event()
    members = [Member(ticked) for _ in range(3 * SLOTS)]
    broken = Member(ticked, fail=True)
    for m in [*members, broken]:
        wheel.add(m)
    wheel.start()
    try:
        everyone = [*members, broken]  # failing rounds go on, and do not stop the others
        await until(ticked, lambda: all(len(m.rounds) >= 3 for m in everyone), 10 * INTERVAL)
        gaps = [later - earlier for m in everyone for earlier, later in itertools.pairwise(m.rounds)]
        assert min(gaps) > 0.8 * INTERVAL, "a member had two rounds in one interval"
        gone = members.pop()
        wheel.remove(gone)
        before = len(gone.rounds)
        after = {id(m): len(m.rounds) for m in members}
        # two more rounds of every other member: the wheel has turned at least once since
        await until(ticked, lambda: all(len(m.rounds) >= after[id(m)] + 2 for m in members), 10 * INTERVAL)
        assert len(gone.rounds) == before
        assert len(wheel) == len(members) + 1
    finally:
        await wheel.stop()
