"""The waiting room against real Redis: embedded and a 3-master cluster.

Each test reads like something a nurse, a citizen or an operator would see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from redis.asyncio import RedisCluster
from support import FakeClock, at, timeout

from direkt.queue.keys import RegionKeys, events_channel
from direkt.queue.model import Directory, Skill
from direkt.queue.readings import POSITIONS_CHUNK
from direkt.queue.records import CaseRequest
from direkt.queue.scripts import RedisClient
from direkt.queue.urgency import HOUR_MS, MINUTE_MS, Urgency, deadline_ms
from direkt.queue.waitroom import Waitroom
from direkt.server.errors import (
    AtCapacity,
    CaseConflict,
    NotAllowed,
    RedisUnavailable,
    StaleToken,
    UnknownCase,
    UnknownQueue,
)

MONDAY_10 = at("2026-11-23 10:00")
NURSE = Skill.NURSE


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10)


@pytest.fixture
async def room(redis_client: RedisClient, directory: Directory, clock: FakeClock) -> AsyncIterator[Waitroom]:
    waitroom = Waitroom(redis_client, directory, clock=clock, lease_ms=60_000)
    await waitroom.load_scripts()
    yield waitroom


async def put(room: Waitroom, ref: str, unit: str = "vc-a1", urgency: Urgency = Urgency.SOON, **kw: object) -> str:
    region = room.directory.units[unit].region
    skill = kw.pop("skill", NURSE)
    submitted = kw.pop("submitted", room.clock())
    queued = await room.enqueue(f"{region}.{ref}", unit, skill, urgency, submitted, **kw)  # type: ignore[arg-type]
    return queued.case_id


async def test_enqueue_is_idempotent(room: Waitroom) -> None:
    first = await room.enqueue("a.R1", "vc-a1", NURSE, Urgency.SOON, MONDAY_10)
    again = await room.enqueue("a.R1", "vc-a1", NURSE, Urgency.IMMEDIATE, MONDAY_10 + 5000)
    assert first.created and not again.created
    assert again.deadline_ms == first.deadline_ms == deadline_ms(MONDAY_10, Urgency.SOON)
    assert [c.case_id for c in await room.waiting("vc-a1", NURSE)] == ["a.R1"]
    assert (await room.stats("a"))["enqueued"] == 1


async def test_submit_routes_and_keeps_meta_for_the_console(room: Waitroom, clock: FakeClock) -> None:
    clock.now = at("2026-11-23 17:00")  # the centre has closed; 1177 answers until 22:00
    queued = await room.submit(
        CaseRequest("R1", "vc-a1", NURSE, Urgency.IMMEDIATE, clock.now, meta={"reason": "fever", "age": 34})
    )
    assert (queued.case_id, queued.unit) == ("a.R1", "1177-a")
    (waiting,) = await room.waiting("1177-a", NURSE)
    assert waiting.meta == {"reason": "fever", "age": 34}
    assert waiting.urgency is Urgency.IMMEDIATE


async def test_submit_at_night_goes_to_the_other_region(room: Waitroom, clock: FakeClock) -> None:
    clock.now = at("2026-11-23 23:30")
    queued = await room.submit(CaseRequest("N1", "vc-a1", NURSE, Urgency.URGENT, clock.now))
    assert (queued.case_id, queued.unit) == ("b.N1", "1177-b")
    assert (await room.get("b.N1")).region == "b"


async def test_claim_next_serves_earliest_deadline_across_units(room: Waitroom, directory: Directory) -> None:
    routine = await put(room, "R1", "vc-a1", Urgency.DAYS)
    urgent = await put(room, "R2", "vc-a2", Urgency.URGENT)
    soon = await put(room, "R3", "vc-a1", Urgency.SOON)
    nurse = directory.staff["nurse-a12"]  # serves vc-a1 and vc-a2
    order = [(await room.claim_next(nurse)) for _ in range(3)]
    assert [lease.case_id for lease in order if lease] == [urgent, soon, routine]
    assert await room.claim_next(directory.staff["nurse-1177a"]) is None


async def test_equal_deadlines_go_to_the_older_case(room: Waitroom, directory: Directory) -> None:
    await put(room, "01B", "vc-a1", Urgency.SOON)
    await put(room, "01A", "vc-a2", Urgency.SOON)
    lease = await room.claim_next(directory.staff["nurse-a12"])
    assert lease is not None and lease.case_id == "a.01A"


async def test_claim_next_respects_the_parallel_chat_cap(room: Waitroom, directory: Directory) -> None:
    doctor = directory.staff["doc-a"]  # max_chats = 2
    for ref in ("D1", "D2", "D3"):
        await put(room, ref, "vc-a1", Urgency.SOON, skill=Skill.DOCTOR)
    assert await room.claim_next(doctor) and await room.claim_next(doctor)
    with pytest.raises(AtCapacity, match="doc-a"):
        await room.claim_next(doctor)
    assert len(await room.waiting("vc-a1", Skill.DOCTOR)) == 1


async def test_a_retried_claim_request_gets_the_same_lease(room: Waitroom, directory: Directory) -> None:
    for ref in ("R1", "R2"):
        await put(room, ref)
    nurse = directory.staff["nurse-a1"]
    first = await room.claim_next(nurse, request_id="req-1")
    again = await room.claim_next(nurse, request_id="req-1")
    assert first == again
    assert len(await room.waiting("vc-a1", NURSE)) == 1  # the retry did not lease a second case


async def test_claim_a_specific_case_from_the_list(room: Waitroom, directory: Directory) -> None:
    case = await put(room, "R1")
    nurse = directory.staff["nurse-a1"]
    lease = await room.claim(case, nurse)
    assert await room.claim(case, nurse) == lease  # repeating is harmless
    with pytest.raises(CaseConflict, match="claimed"):
        await room.claim(case, directory.staff["nurse-a12"])
    with pytest.raises(NotAllowed, match="vc-a1:nurse"):
        await room.claim(case, directory.staff["nurse-b"])


async def test_stale_tokens_are_refused_and_counted(room: Waitroom, directory: Directory) -> None:
    case = await put(room, "R1")
    first = await room.claim_next(directory.staff["nurse-a1"])
    assert first is not None
    await room.release(case, "nurse-a1", first.token)
    second = await room.claim_next(directory.staff["nurse-a12"])
    assert second is not None and second.token > first.token
    for action in (
        room.heartbeat(case, "nurse-a1", first.token),
        room.release(case, "nurse-a1", first.token),
        room.close(case, "nurse-a1", first.token, "self_care", assessed=True),
        room.close(case, "nurse-a12", first.token, "self_care", assessed=True),  # right person, old token
    ):
        with pytest.raises(StaleToken):
            await action
    assert (await room.stats("a"))["stale_refused"] == 4
    assert (await room.get(case)).holder == "nurse-a12"


async def test_release_returns_the_case_to_its_original_place(room: Waitroom, directory: Directory) -> None:
    first = await put(room, "R1", urgency=Urgency.URGENT)
    second = await put(room, "R2", urgency=Urgency.DAYS)
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None and lease.case_id == first
    assert (await room.position(second)).position == 1
    await room.release(first, "nurse-a1", lease.token)
    assert [c.case_id for c in await room.waiting("vc-a1", NURSE)] == [first, second]
    assert (await room.position(first)).deadline_ms == deadline_ms(MONDAY_10, Urgency.URGENT)


async def test_transfer_keeps_the_deadline_unless_retriaged(room: Waitroom, directory: Directory) -> None:
    case = await put(room, "R1", urgency=Urgency.DAYS)
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    moved = await room.transfer(case, "nurse-a1", lease.token, "vc-a2", NURSE)
    assert moved.deadline_ms == deadline_ms(MONDAY_10, Urgency.DAYS)
    lease = await room.claim_next(directory.staff["nurse-a12"])
    assert lease is not None and lease.unit == "vc-a2"
    retriaged = await room.transfer(case, "nurse-a12", lease.token, "vc-a1", Skill.DOCTOR, Urgency.URGENT)
    assert retriaged.deadline_ms == deadline_ms(MONDAY_10, Urgency.URGENT)  # from submission, not from now
    record = await room.get(case)
    assert (record.unit, record.skill, record.urgency, record.state) == ("vc-a1", "doctor", Urgency.URGENT, "waiting")


async def test_transfer_to_an_unknown_queue_is_refused_and_changes_nothing(
    room: Waitroom, directory: Directory
) -> None:
    case = await put(room, "R1")
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    with pytest.raises(UnknownQueue, match="no unit 'vc-nowhere'"):
        await room.transfer(case, "nurse-a1", lease.token, "vc-nowhere", NURSE)
    with pytest.raises(UnknownQueue, match="no midwife queue"):
        await room.transfer(case, "nurse-a1", lease.token, "vc-a1", Skill.MIDWIFE)
    assert (await room.get(case)).holder == "nurse-a1"


async def test_transfer_to_another_region_follows_the_case(room: Waitroom, directory: Directory) -> None:
    case = await put(room, "R1", urgency=Urgency.SOON)
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    await room.transfer(case, "nurse-a1", lease.token, "1177-b", NURSE)
    record = await room.get(case)
    assert (record.region, record.unit, record.state) == ("b", "1177-b", "waiting")
    assert record.deadline_ms == deadline_ms(MONDAY_10, Urgency.SOON)
    assert await room.waiting("vc-a1", NURSE) == []
    with pytest.raises(StaleToken):
        await room.release(case, "nurse-a1", lease.token)
    taken = await room.claim_next(directory.staff["nurse-b"])
    assert taken is not None and taken.case_id == case
    assert taken.token > lease.token  # fencing tokens keep increasing across regions
    # a fresh Waitroom (another server process) finds the case through the tombstone
    other = Waitroom(room.client, directory, clock=room.clock)
    assert (await other.get(case)).holder == "nurse-b"
    assert await other.close(case, "nurse-b", taken.token, "self_care", assessed=True)


async def test_an_interrupted_move_is_finished_by_the_reaper(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    case = await put(room, "R1")
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    keys = RegionKeys("a")
    # the first step only, as if the process died right after it
    deadline = deadline_ms(MONDAY_10, Urgency.SOON)
    args = (case, "nurse-a1", lease.token, "b", "1177-b", "nurse", int(Urgency.SOON), deadline)
    await room.scripts.call("transfer_out", keys, keys.case(case), clock(), *args)
    assert (await room.get(case)).state == "moving"
    clock.advance(11_000)
    report = await room.reap()
    assert report.moves_finished == 1
    (moved,) = await room.waiting("1177-b", NURSE)
    assert (moved.case_id, moved.deadline_ms) == (case, deadline)
    assert (await room.get(case)).region == "b"
    assert (await room.reap()).moves_finished == 0  # nothing left to re-drive


async def test_reprioritise_moves_a_waiting_case(room: Waitroom) -> None:
    first = await put(room, "R1", urgency=Urgency.SOON)
    second = await put(room, "R2", urgency=Urgency.TODAY)
    await room.reprioritise(second, Urgency.IMMEDIATE)
    assert [c.case_id for c in await room.waiting("vc-a1", NURSE)] == [second, first]


async def test_abandon_is_idempotent_and_frees_the_nurse(room: Waitroom, directory: Directory) -> None:
    waiting = await put(room, "R1")
    held = await put(room, "R2", urgency=Urgency.IMMEDIATE)
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None and lease.case_id == held
    assert await room.abandon(waiting) and await room.abandon(held)
    assert not await room.abandon(held)
    assert await room.waiting("vc-a1", NURSE) == []
    with pytest.raises(StaleToken):
        await room.heartbeat(held, "nurse-a1", lease.token)
    with pytest.raises(CaseConflict, match="abandoned"):
        await room.claim(waiting, directory.staff["nurse-a1"])
    assert (await room.stats("a"))["abandoned"] == 2


async def test_close_is_idempotent_for_the_holder(room: Waitroom, directory: Directory) -> None:
    case = await put(room, "R1")
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    assert await room.close(case, "nurse-a1", lease.token, "visit_booked", assessed=True)
    assert not await room.close(case, "nurse-a1", lease.token, "visit_booked", assessed=True)
    record = await room.get(case)
    assert (record.state, record.outcome, record.closed_ms) == ("closed", "visit_booked", MONDAY_10)
    assert (await room.stats("a"))["closed"] == 1


async def test_an_expired_lease_returns_the_case_at_its_original_deadline(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    case = await put(room, "R1", urgency=Urgency.URGENT)
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    clock.advance(59_000)
    assert (await room.reap()).expired == 0
    await room.heartbeat(case, "nurse-a1", lease.token)  # renewed: another 60 s
    clock.advance(59_000)
    assert (await room.reap()).expired == 0
    clock.advance(2_000)  # the nurse's console went silent
    assert (await room.reap()).expired == 1
    (back,) = await room.waiting("vc-a1", NURSE)
    assert (back.case_id, back.deadline_ms) == (case, deadline_ms(MONDAY_10, Urgency.URGENT))
    with pytest.raises(StaleToken):
        await room.heartbeat(case, "nurse-a1", lease.token)
    again = await room.claim_next(directory.staff["nurse-a12"])
    assert again is not None and again.token > lease.token


async def test_same_day_contact_guarantee(room: Waitroom, directory: Directory, clock: FakeClock) -> None:
    on_time = await put(room, "R1", urgency=Urgency.DAYS)
    late = await put(room, "R2", urgency=Urgency.DAYS)
    nurse = directory.staff["nurse-a1"]
    lease = await room.claim(on_time, nurse)
    await room.record_contact(on_time, "nurse-a1", lease.token)
    clock.now = at("2026-11-24 09:00")  # the next morning: R2 was never contacted on Monday
    report = await room.reap()
    assert (report.sameday_breaches, report.assessment_breaches) == (1, 0)
    assert (await room.get(late)).sameday_breached
    late_lease = await room.claim(late, nurse)
    await room.record_contact(late, "nurse-a1", late_lease.token)  # counted once, not again
    assert (await room.stats("a"))["breach_sameday"] == 1
    assert not (await room.get(on_time)).sameday_breached


async def test_assessment_guarantee_is_settled_by_an_assessing_close(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    assessed = await put(room, "R1", urgency=Urgency.DAYS)
    overdue = await put(room, "R2", urgency=Urgency.DAYS)
    admin = await put(room, "R3", urgency=Urgency.DAYS, skill=Skill.ADMINISTRATOR, new_problem=False)
    lease = await room.claim(assessed, directory.staff["nurse-a1"])
    clock.advance(2 * 24 * HOUR_MS)
    await room.close(assessed, "nurse-a1", lease.token, "self_care", assessed=True)
    clock.now = at("2026-11-27 00:00") + MINUTE_MS  # after the end of Thursday, three days later
    report = await room.reap()
    assert report.assessment_breaches == 1
    assert (await room.get(overdue)).assessment_breached
    assert not (await room.get(assessed)).assessment_breached
    assert not (await room.get(admin)).assessment_breached  # no medical assessment is owed


async def test_position_and_estimated_wait(room: Waitroom, directory: Directory, clock: FakeClock) -> None:
    cases = [await put(room, f"R{i}", urgency=Urgency.TODAY) for i in range(5)]
    assert (await room.position(cases[0])).estimated_wait_ms is None  # nothing served yet: no guess
    nurse = directory.staff["nurse-a12"]
    for _ in range(2):  # two cases served within the window
        lease = await room.claim_next(nurse)
        assert lease is not None
        await room.close(lease.case_id, nurse.id, lease.token, "self_care", assessed=True)
        clock.advance(5 * MINUTE_MS)
    position = await room.position(cases[4])
    assert (position.state, position.position, position.depth) == ("waiting", 3, 3)
    assert position.estimated_wait_ms == 3 * (30 * MINUTE_MS // 2)
    assert (await room.position(cases[0])).state == "closed"


async def test_many_positions_at_once_match_asking_one_by_one(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    # More cases than one positions call takes, two queues, a case that moved region, a claimed and a closed case.
    cases = [await put(room, f"R{i:03d}", urgency=Urgency.TODAY) for i in range(POSITIONS_CHUNK + 20)]
    cases += [await put(room, f"S{i}", unit="vc-a2", urgency=Urgency.SOON) for i in range(5)]
    nurse = directory.staff["nurse-a12"]
    closed = await room.claim_next(nurse)
    assert closed is not None
    await room.close(closed.case_id, nurse.id, closed.token, "self_care", assessed=True)
    claimed = await room.claim_next(nurse)
    assert claimed is not None
    mover = cases[POSITIONS_CHUNK + 19]  # the last of vc-a1
    lease = await room.claim(mover, directory.staff["nurse-a1"])
    await room.transfer(mover, "nurse-a1", lease.token, "1177-b", NURSE)
    clock.advance(MINUTE_MS)
    fresh = Waitroom(room.client, directory, clock=clock)  # knows nothing of the move yet
    await fresh.load_scripts()
    together = await fresh.positions([*cases, "a.NOSUCHCASE"])
    assert together == {case: await room.position(case) for case in cases}
    assert together[mover].state == "waiting" and together[mover].position == 1  # followed to region b
    assert together[closed.case_id].state == "closed" and together[claimed.case_id].position == 0
    in_a1 = [together[c] for c in cases[: POSITIONS_CHUNK + 19]]  # vc-a1 after the move, oldest first
    assert [p.position for p in in_a1] == list(range(1, len(in_a1) + 1))
    assert {p.depth for p in in_a1} == {len(in_a1)}


async def test_position_when_the_unit_is_closed_includes_the_wait_until_it_opens(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    clock.now = at("2026-11-23 15:50")
    case = await put(room, "R1", urgency=Urgency.DAYS)
    await put(room, "R0", urgency=Urgency.IMMEDIATE)
    assert await room.claim_next(directory.staff["nurse-a1"]) is not None  # one served at 15:50
    clock.now = at("2026-11-23 16:10")  # closed now; opens Tuesday 08:00
    position = await room.position(case)
    assert position.position == 1
    assert position.estimated_wait_ms == at("2026-11-24 08:00") - clock.now + 30 * MINUTE_MS
    clock.now = at("2026-11-23 16:30")
    assert (await room.position(case)).estimated_wait_ms is None  # nothing served recently: no guess


async def test_unknown_cases_and_queues_are_clear_errors(room: Waitroom, directory: Directory) -> None:
    with pytest.raises(UnknownCase, match="is not a case id"):
        await room.get("../../etc/passwd")
    with pytest.raises(UnknownCase, match=r"a\.NOPE"):
        await room.heartbeat("a.NOPE", "nurse-a1", 1)
    with pytest.raises(UnknownCase):
        await room.position("zz.NOPE")
    with pytest.raises(UnknownQueue, match="no unit 'vc-zz'"):
        await room.submit(CaseRequest("R1", "vc-zz", NURSE, Urgency.SOON, MONDAY_10))
    with pytest.raises(UnknownQueue, match="no doctor queue"):
        await room.enqueue("a.R1", "1177-a", Skill.DOCTOR, Urgency.SOON, MONDAY_10)
    with pytest.raises(UnknownQueue, match="another region"):
        await room.enqueue("b.R1", "vc-a1", NURSE, Urgency.SOON, MONDAY_10)


async def subscribed(client: RedisClient, channel: str) -> None:
    """Wait until Redis (any node of a cluster) counts a subscriber of ``channel``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(5)
    # A cluster answers PUBSUB NUMSUB per node: ask them all (their counts are summed).
    nodes = {"target_nodes": RedisCluster.ALL_NODES} if isinstance(client, RedisCluster) else {}
    while (await client.pubsub_numsub(channel, **nodes))[0][1] < 1:
        assert loop.time() < deadline, f"nobody subscribed to {channel}"
        await asyncio.sleep(0.01)


async def test_consoles_get_live_events_in_order(room: Waitroom, directory: Directory) -> None:
    received: list[dict[str, object]] = []
    ready = asyncio.Event()

    async def listen() -> None:
        events = room.events(["a"])
        ready.set()
        async for event in events:
            received.append(event)
            if len(received) == 3:
                return

    listener = asyncio.create_task(listen())
    await ready.wait()
    await subscribed(room.client, events_channel("a"))
    case = await put(room, "R1")
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    await room.close(case, "nurse-a1", lease.token, "self_care", assessed=True)
    await asyncio.wait_for(listener, timeout(5))
    assert [e["t"] for e in received] == ["enqueued", "claimed", "closed"]
    assert [e["case"] for e in received] == [case] * 3
    seqs = [int(e["seq"]) for e in received]  # type: ignore[call-overload]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert received[1]["staff"] == "nurse-a1" and received[0]["region"] == "a"


async def test_a_guarantee_already_overdue_is_counted_however_the_case_ends(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    no_answer = await put(room, "R1", urgency=Urgency.DAYS)
    withdrawn = await put(room, "R2", urgency=Urgency.DAYS)
    clock.now = at("2026-11-24 09:00")  # Monday's same-day deadline has passed; no sweep has run
    lease = await room.claim(no_answer, directory.staff["nurse-a1"])
    await room.close(no_answer, "nurse-a1", lease.token, "no_contact", assessed=False)
    await room.abandon(withdrawn)
    assert (await room.stats("a"))["breach_sameday"] == 2
    assert (await room.reap()).sameday_breaches == 0  # nothing left for the sweeper to count twice


async def test_a_retried_cross_region_claim_gets_the_same_lease(room: Waitroom, directory: Directory) -> None:
    await put(room, "X1", "1177-b", Urgency.URGENT)
    await put(room, "Y1", "1177-a", Urgency.SOON)
    nurse = replace(directory.staff["nurse-ab"], max_chats=1)  # serves 1177-a and 1177-b
    first = await room.claim_next(nurse, request_id="req-9")
    again = await room.claim_next(nurse, request_id="req-9")  # the first reply was lost
    assert first is not None and first.case_id == "b.X1"
    assert again == first
    assert len(await room.waiting("1177-a", NURSE)) == 1


async def test_claiming_from_the_list_counts_chats_held_in_other_regions(room: Waitroom, directory: Directory) -> None:
    await put(room, "P1", "1177-a")
    other = await put(room, "P2", "1177-b")
    nurse = replace(directory.staff["nurse-ab"], max_chats=1)
    assert await room.claim_next(nurse) is not None
    with pytest.raises(AtCapacity):
        await room.claim(other, nurse)


async def test_a_late_redrive_of_an_old_move_neither_duplicates_nor_undoes(
    room: Waitroom, directory: Directory, clock: FakeClock
) -> None:
    case = await put(room, "M1", "vc-a1", Urgency.SOON)
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    keys_a = RegionKeys("a")
    deadline = deadline_ms(MONDAY_10, Urgency.SOON)
    args = (case, "nurse-a1", lease.token, "b", "1177-b", "nurse", int(Urgency.SOON), deadline)
    record = await room.scripts.call("transfer_out", keys_a, keys_a.case(case), clock(), *args)
    keys_b = RegionKeys("b")
    await room.scripts.call("adopt", keys_b, keys_b.case(case), clock(), case, record)  # then the process died
    in_b = await room.claim_next(directory.staff["nurse-b"])
    assert in_b is not None and in_b.case_id == case
    await room.transfer(case, "nurse-b", in_b.token, "vc-a2", NURSE)  # back to region a, another unit
    clock.advance(11_000)
    await room.reap()  # re-drives nothing stale: the newer move already replaced it
    assert [c.case_id for c in await room.waiting("vc-a2", NURSE)] == [case]
    assert await room.waiting("1177-b", NURSE) == [] and await room.waiting("vc-a1", NURSE) == []
    assert (await room.get(case)).unit == "vc-a2"


async def test_redis_refusing_writes_is_reported_not_crashed(room: Waitroom, redis_client: RedisClient) -> None:
    await put(room, "R1")
    nodes = {"target_nodes": RedisCluster.PRIMARIES} if isinstance(redis_client, RedisCluster) else {}
    await redis_client.config_set("maxmemory", 1, **nodes)
    try:
        with pytest.raises(RedisUnavailable, match="refused"):
            await put(room, "R2")
    finally:
        await redis_client.config_set("maxmemory", 0, **nodes)
    assert [c.case_id for c in await room.waiting("vc-a1", NURSE)] == ["a.R1"]


async def test_a_retried_submission_keeps_its_first_route(room: Waitroom, clock: FakeClock) -> None:
    first = await room.submit(CaseRequest("S1", "vc-a1", NURSE, Urgency.IMMEDIATE, clock()))
    assert (first.case_id, first.unit, first.created) == ("a.S1", "vc-a1", True)
    # the retry arrives with inputs that would now route elsewhere (night: region b)
    again = await room.submit(CaseRequest("S1", "vc-a1", NURSE, Urgency.IMMEDIATE, at("2026-11-23 23:30")))
    assert (again.case_id, again.unit, again.created) == ("a.S1", "vc-a1", False)
    assert await room.waiting("1177-b", NURSE) == []
