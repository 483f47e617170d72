"""Set-up of the chats: a case an earlier run left waiting is closed, not taken for one of this run's.

``--runs 2`` with ``--url`` runs twice against one server; the first run's
waiting citizens are still in the unit's queue, first in line, and the
nurses' ``claim_next`` gave them out: the set-up failed with a ``KeyError``.
Fake nurses and citizens stand in for the wire (the scenarios' smoke runs
against a real server are test_scenarios.py's).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from direkt.loadtests.actors import Citizen, Nurse, Probe
from direkt.loadtests.scenarios import Spec, World, open_chats


class FakeCitizen:
    def __init__(self, case: str) -> None:
        self.case = case
        self.ready = asyncio.Event()
        self.ready.set()


class FakeNurse:
    def __init__(self, index: int, queue: list[str]) -> None:
        self.index = index
        self.queue = queue  # the unit's waiting cases, oldest first, shared by the nurses
        self.synced: dict[str, asyncio.Event] = {}
        self.closed: list[tuple[str, str]] = []

    async def claim(self, rid: str) -> str | None:
        if not self.queue:
            return None
        case = self.queue.pop(0)
        self.synced[case] = asyncio.Event()
        self.synced[case].set()
        return case

    async def close_case(self, case: str, outcome: str = "self_care_advice") -> bool:
        self.closed.append((case, outcome))
        return True


def world_of(nurses: list[FakeNurse], citizens: list[FakeCitizen], chats: int) -> World:
    spec = Spec(scenario="reconnect-storm", url="http://127.0.0.1:1", citizens=len(citizens), nurses=[], unit="u",
                chats=chats)  # fmt: skip
    world = World(spec=spec, probe=Probe(0.0), http=cast(Any, None))
    world.citizens = cast(list[Citizen], citizens)
    world.nurses = cast(list[Nurse], nurses)
    return world


def test_cases_left_by_an_earlier_run_are_closed_and_the_nurses_take_this_runs() -> None:
    queue = ["old-1", "old-2", "old-3", "new-1", "new-2", "new-3", "new-4"]
    nurses = [FakeNurse(0, queue), FakeNurse(1, queue)]
    citizens = [FakeCitizen(f"new-{i}") for i in range(1, 5)]
    world = world_of(nurses, citizens, chats=2)
    asyncio.run(open_chats(world))
    assert sorted(c.case for _, c in world.pairs) == ["new-1", "new-2", "new-3", "new-4"]
    assert all(sum(1 for n, _ in world.pairs if n is nurse) == 2 for nurse in cast(list[Any], nurses))
    closed = sorted(case for nurse in nurses for case, _ in nurse.closed)
    assert closed == ["old-1", "old-2", "old-3"]
    assert {outcome for nurse in nurses for _, outcome in nurse.closed} == {"no_contact"}
    assert world.probe.counters["leftovers_closed"] == 3
    assert not world.probe.errors
    assert world.setup["chats"] == 4


def test_a_nurse_stops_when_the_queue_is_empty() -> None:
    queue = ["old-1", "new-1"]
    nurse = FakeNurse(0, queue)
    world = world_of([nurse], [FakeCitizen("new-1")], chats=3)
    asyncio.run(open_chats(world))
    assert [c.case for _, c in world.pairs] == ["new-1"]
    assert nurse.closed == [("old-1", "no_contact")]
