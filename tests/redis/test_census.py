"""The waiting room's census for /metrics, against real Redis: embedded and a 3-master cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from support import FakeClock, at

from direkt.queue.model import Directory, Skill
from direkt.queue.scripts import RedisClient
from direkt.queue.urgency import MINUTE_MS, Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.metrics import UNSCANNED, QueueCount, waiting_census

MONDAY_10 = at("2026-11-23 10:00")
NURSE = Skill.NURSE


@pytest.fixture
async def room(redis_client: RedisClient, directory: Directory) -> AsyncIterator[Waitroom]:
    waitroom = Waitroom(redis_client, directory, clock=FakeClock(MONDAY_10))
    await waitroom.load_scripts()
    yield waitroom


async def test_an_empty_waiting_room_counts_every_queue_as_empty(room: Waitroom, directory: Directory) -> None:
    census = await room.census()
    assert set(census) == {(u.id, s) for u in directory.units.values() for s in u.skills}
    assert all(q.size == 0 and not any(q.waiting.values()) for q in census.values())


async def test_counts_by_urgency_and_the_oldest_of_each(room: Waitroom) -> None:
    for n, (urgency, minutes_ago) in enumerate([(Urgency.SOON, 30), (Urgency.SOON, 5), (Urgency.DAYS, 90)]):
        await room.enqueue(f"a.S{n}", "vc-a1", NURSE, urgency, MONDAY_10 - minutes_ago * MINUTE_MS)
    await room.enqueue("b.T1", "1177-b", NURSE, Urgency.IMMEDIATE, MONDAY_10 - MINUTE_MS)  # another region
    census = await room.census()
    queue = census[("vc-a1", NURSE)]
    assert queue.size == 3
    assert (queue.waiting[Urgency.SOON], queue.waiting[Urgency.DAYS], queue.waiting[Urgency.URGENT]) == (2, 1, 0)
    assert queue.oldest_submitted_ms[Urgency.SOON] == MONDAY_10 - 30 * MINUTE_MS
    assert queue.oldest_submitted_ms[Urgency.URGENT] == 0
    assert census[("1177-b", NURSE)].waiting[Urgency.IMMEDIATE] == 1
    labelled = waiting_census(census)
    assert labelled[("vc-a1", "nurse", "soon")] == QueueCount(2, MONDAY_10 - 30 * MINUTE_MS)
    assert len(labelled) == 5 * len(census)  # every urgency of every queue; none beyond the bound


async def test_a_queue_longer_than_the_bound_still_adds_up(room: Waitroom) -> None:
    for n in range(5):
        await room.enqueue(f"a.L{n}", "vc-a1", NURSE, Urgency.TODAY, MONDAY_10 - n * MINUTE_MS)
    queue = (await room.census(limit=3))[("vc-a1", NURSE)]
    assert (queue.size, queue.waiting[Urgency.TODAY]) == (5, 3)
    assert queue.oldest_submitted_ms[Urgency.TODAY] == MONDAY_10 - 4 * MINUTE_MS  # the oldest comes first
    labelled = waiting_census({("vc-a1", NURSE): queue})
    assert labelled[("vc-a1", "nurse", UNSCANNED)] == QueueCount(2, 0)
    assert sum(c.waiting for c in labelled.values()) == 5
