"""The keepalive wheel: every socket gets its round once per interval, by one task."""

from __future__ import annotations

import asyncio

from direkt.server.keepalive import SLOTS, Wheel

INTERVAL = 0.3


class Member:
    def __init__(self, fail: bool = False) -> None:
        self.rounds = 0
        self.fail = fail

    async def keepalive_round(self) -> None:
        self.rounds += 1
        if self.fail:
            raise RuntimeError("Redis said no")


async def test_every_member_has_a_round_each_interval_and_none_after_removal() -> None:
    wheel = Wheel(lambda: INTERVAL)
    members = [Member() for _ in range(3 * SLOTS)]
    broken = Member(fail=True)
    for m in [*members, broken]:
        wheel.add(m)
    wheel.start()
    try:
        await asyncio.sleep(2.2 * INTERVAL)
        assert all(m.rounds in (2, 3) for m in members), sorted(m.rounds for m in members)
        assert broken.rounds in (2, 3)  # failing rounds go on, and do not stop the others
        gone = members.pop()
        wheel.remove(gone)
        before = gone.rounds
        await asyncio.sleep(1.2 * INTERVAL)
        assert gone.rounds == before
        assert len(wheel) == len(members) + 1
    finally:
        await wheel.stop()
