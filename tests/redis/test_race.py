"""Races: many staff claiming at once, on real Redis (TARGETS, queue 8 and 12).

Invariant: no case is held by two staff. Each claim is one Lua script, so
however the claims interleave, every case has exactly one winner.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace

import pytest
from support import FakeClock, at

from direkt.queue.model import Directory, Skill, Staff
from direkt.queue.records import Lease
from direkt.queue.scripts import RedisClient
from direkt.queue.urgency import Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.errors import CaseConflict

NURSE = Skill.NURSE


def racers(directory: Directory, count: int) -> list[Staff]:
    base = directory.staff["nurse-a12"]
    return [replace(base, id=f"racer-{i}", max_chats=12) for i in range(count)]


@pytest.fixture
async def room(redis_client: RedisClient, directory: Directory) -> Waitroom:
    waitroom = Waitroom(redis_client, directory, clock=FakeClock(at("2026-11-23 10:00")))
    await waitroom.load_scripts()
    return waitroom


async def test_ten_staff_claim_one_case_a_thousand_times(room: Waitroom, redis_client: RedisClient) -> None:
    rounds = 1000  # on the Cluster too (TARGETS 8)
    staff = racers(room.directory, 10)
    for round_no in range(rounds):
        case = (await room.enqueue(f"a.R{round_no:05d}", "vc-a1", NURSE, Urgency.SOON, room.clock())).case_id
        results = await asyncio.gather(*(room.claim_next(s) for s in staff))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, f"round {round_no}: {len(winners)} winners"
        (lease,) = winners
        assert lease.case_id == case
        holder = (await room.get(case)).holder
        assert holder == staff[results.index(lease)].id
        await room.close(case, holder, lease.token, "self_care", assessed=True)
    assert (await room.stats("a"))["claimed"] == rounds


async def test_specific_claims_race_with_claim_next(room: Waitroom) -> None:
    staff = racers(room.directory, 8)
    for round_no in range(200):
        case = (await room.enqueue(f"a.S{round_no:05d}", "vc-a1", NURSE, Urgency.SOON, room.clock())).case_id

        async def by_list(member: Staff, case: str = case) -> Lease | None:
            try:
                return await room.claim(case, member)
            except CaseConflict:
                return None

        calls = [by_list(s) if i % 2 else room.claim_next(s) for i, s in enumerate(staff)]
        winners = [r for r in await asyncio.gather(*calls) if r is not None]
        assert len(winners) == 1
        await room.close(case, (await room.get(case)).holder, winners[0].token, "self_care", assessed=True)


async def test_thousands_of_claims_each_case_exactly_once_in_deadline_order(room: Waitroom) -> None:
    rng = random.Random(1177)
    total = 2000
    for i in range(total):
        urgency = rng.choice(list(Urgency))
        submitted = room.clock() - rng.randrange(0, 3 * 3600_000)
        await room.enqueue(f"a.B{i:05d}", rng.choice(["vc-a1", "vc-a2"]), NURSE, urgency, submitted)
    claimed: list[Lease] = []

    async def worker(member: Staff) -> None:
        while (lease := await room.claim_next(member)) is not None:
            claimed.append(lease)
            await room.close(lease.case_id, member.id, lease.token, "self_care", assessed=True)

    await asyncio.gather(*(worker(s) for s in racers(room.directory, 20)))
    counts = Counter(lease.case_id for lease in claimed)
    assert len(counts) == total and max(counts.values()) == 1
    assert len({lease.token for lease in claimed}) == total  # every claim has its own fencing token
    # Claims are served in deadline order: tokens are issued in claim order, so
    # sorting by token must give non-decreasing deadlines up to the concurrency
    # window (20 claimers in flight at once).
    deadlines = [lease.deadline_ms for lease in sorted(claimed, key=lambda lease: lease.token)]
    out_of_order = sum(1 for i in range(len(deadlines) - 1) if deadlines[i] > deadlines[i + 1])
    assert out_of_order == 0
