"""Bookings on real Redis, standalone and a 3-master Cluster (issue 24): a slot is taken once,
however many ask at once; cancel frees it; rebook moves it in one step; an owner's index."""

from __future__ import annotations

import asyncio
import datetime as dt
import tomllib
from collections import Counter

import pytest
from support import FakeClock, at

from direkt.queue.hours import SwedishHolidays
from direkt.queue.scripts import RedisClient
from direkt.server.booking.model import BookingClosed, NotInSchedule, SlotTaken
from direkt.server.booking.schedule import parse_schedules
from direkt.server.booking.service import Bookings, NewBooking
from direkt.server.booking.store import BookingStore
from direkt.server.errors import NotFound
from direkt.server.redis import keys

SCHEDULES = parse_schedules(
    tomllib.loads(
        """
[[schedule]]
unit = "vc-a"
profession = "nurse"
mode = "video"
hours = { mon-fri = "08:00-09:40" }
slot_minutes = 5
staff = "nurse-1"
"""
    ),
    frozenset({"vc-a"}),
)
MONDAY = at("2026-12-07 00:00")


@pytest.fixture
def bookings(redis_client: RedisClient) -> Bookings:
    holidays = SwedishHolidays()
    return Bookings(BookingStore(redis_client), lambda: SCHEDULES, lambda: holidays, FakeClock(MONDAY))


def request(start_ms: int, n: int = 0, **extra: str) -> NewBooking:
    fields = {"patient_pnr": "198105102381", "patient_name": "Maja Andersson", "owner_uid": f"u{n % 7}",
              "booked_by": "self", "dedupe": f"r{n}"} | extra  # fmt: skip
    return NewBooking("vc-a", "nurse", "video", start_ms, **fields)  # type: ignore[arg-type]


async def test_a_hundred_concurrent_bookings_of_twenty_slots_give_twenty(bookings: Bookings) -> None:
    free = await bookings.free_slots("vc-a", "nurse", "video", MONDAY, MONDAY + 86_400_000)
    assert len(free) == 20  # 08:00-09:40 in 5-minute slots
    wanted = [free[n % 20].start_ms for n in range(100)]
    results = await asyncio.gather(*(bookings.book(request(s, n)) for n, s in enumerate(wanted)),
                                   return_exceptions=True)  # fmt: skip
    made = [r.booking for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 20 and all(isinstance(r, SlotTaken) for r in refused) and len(refused) == 80
    assert Counter(b.start_ms for b in made) == Counter({s.start_ms: 1 for s in free})  # one per slot
    assert await bookings.free_slots("vc-a", "nurse", "video", MONDAY, MONDAY + 86_400_000) == []
    stored = [await bookings.get(b.id) for b in made]
    assert {b.start_ms for b in stored} == {s.start_ms for s in free} and {b.staff for b in stored} == {"nurse-1"}
    owned = [b for uid in {b.owner_uid for b in made} for b in await bookings.of_user(uid)]
    assert sorted(b.id for b in owned) == sorted(b.id for b in made)  # the losers left no index entry


async def test_the_same_request_again_is_the_same_booking(bookings: Bookings) -> None:
    start = at("2026-12-07 08:10")
    first = await bookings.book(request(start, 1))
    again = await bookings.book(request(start, 1))
    assert first.created and not again.created and again.booking.id == first.booking.id
    with pytest.raises(SlotTaken):
        await bookings.book(request(start, 2))
    assert [b.id for b in await bookings.of_user("u1")] == [first.booking.id]


async def test_cancel_frees_the_slot(bookings: Bookings) -> None:
    start = at("2026-12-07 08:15")
    booked = (await bookings.book(request(start, 1))).booking
    cancelled = await bookings.cancel(booked.id, "self")
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == "self"
    assert (await bookings.cancel(booked.id, "self")).cancelled_ms == cancelled.cancelled_ms  # idempotent
    assert (await bookings.book(request(start, 2))).created
    with pytest.raises(BookingClosed):
        await bookings.rebook(booked.id, at("2026-12-07 08:20"), "self")


async def test_rebook_takes_the_new_slot_and_frees_the_old_together(bookings: Bookings) -> None:
    old, new, other = at("2026-12-07 08:00"), at("2026-12-07 09:00"), at("2026-12-07 09:05")
    mine = (await bookings.book(request(old, 1))).booking
    theirs = (await bookings.book(request(other, 2))).booking
    with pytest.raises(SlotTaken):
        await bookings.rebook(mine.id, theirs.start_ms, "self")
    assert (await bookings.get(mine.id)).start_ms == old  # refused: nothing moved
    moved = await bookings.rebook(mine.id, new, "self")
    assert (moved.start_ms, moved.end_ms) == (new, new + 5 * 60_000)
    free = {s.start_ms for s in await bookings.free_slots("vc-a", "nurse", "video", MONDAY, MONDAY + 86_400_000)}
    assert old in free and new not in free
    assert [b.id for b in await bookings.of_units_on(["vc-a"], dt.date(2026, 12, 7))] == [mine.id, theirs.id]


async def test_times_outside_the_schedule_or_past_are_refused(bookings: Bookings) -> None:
    with pytest.raises(NotInSchedule):
        await bookings.book(request(at("2026-12-07 08:02")))
    with pytest.raises(NotInSchedule):
        await bookings.book(request(at("2026-12-07 10:00")))
    with pytest.raises(BookingClosed):
        await bookings.book(request(at("2026-12-04 08:00")))  # the Friday before "now"
    with pytest.raises(NotFound):
        await bookings.get("vc-a.nosuchbooking")
    with pytest.raises(NotFound):
        await bookings.cancel("not a booking id", "self")


async def _holders_are_consistent(bookings: Bookings, redis_client: RedisClient) -> dict[str, str]:
    """Every slot field is held by one booked booking that starts there; every booked one holds its slot."""
    raw = await redis_client.hgetall(keys.booking_slots("vc-a"))
    held = {_text(f): _text(i) for f, i in raw.items()}
    assert len(set(held.values())) == len(held)  # no booking holds two slots
    for field, holder in held.items():
        booking = await bookings.get(holder)
        assert booking.status == "booked", f"{field} is held by a cancelled booking"
        assert field == f"nurse:video:{booking.start_ms}"
    return held


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_rebook_and_book_of_the_same_slot_at_once_give_it_to_one(
    bookings: Bookings, redis_client: RedisClient
) -> None:
    free = await bookings.free_slots("vc-a", "nurse", "video", MONDAY, MONDAY + 86_400_000)
    movers = [(await bookings.book(request(s.start_ms, n))).booking for n, s in enumerate(free[:10])]
    targets = [s.start_ms for s in free[10:20]]
    results = await asyncio.gather(
        *(op for m, (n, t) in zip(movers, enumerate(targets, 100), strict=True)
          for op in (bookings.rebook(m.id, t, "self"), bookings.book(request(t, n)))),
        return_exceptions=True,
    )  # fmt: skip
    assert all(isinstance(r, SlotTaken) for r in results if isinstance(r, BaseException))
    held = await _holders_are_consistent(bookings, redis_client)
    assert all(f"nurse:video:{t}" in held for t in targets)  # each target went to exactly one of the two
    assert sum(not isinstance(r, BaseException) for r in results) == 10
    for m in movers:  # a mover that lost still holds its old slot
        assert held[f"nurse:video:{(await bookings.get(m.id)).start_ms}"] == m.id


async def test_cancel_and_rebook_at_once_leave_no_slot_to_the_cancelled(
    bookings: Bookings, redis_client: RedisClient
) -> None:
    free = await bookings.free_slots("vc-a", "nurse", "video", MONDAY, MONDAY + 86_400_000)
    mine = [(await bookings.book(request(s.start_ms, n))).booking for n, s in enumerate(free[:10])]
    targets = [s.start_ms for s in free[10:20]]
    results = await asyncio.gather(
        *(op for b, t in zip(mine, targets, strict=True)
          for op in (bookings.cancel(b.id, "self"), bookings.rebook(b.id, t, "self"))),
        return_exceptions=True,
    )  # fmt: skip
    assert all(isinstance(r, BookingClosed) for r in results if isinstance(r, BaseException))
    assert [(await bookings.get(b.id)).status for b in mine] == ["cancelled"] * 10
    assert await _holders_are_consistent(bookings, redis_client) == {}  # every slot free again
    assert len(await bookings.free_slots("vc-a", "nurse", "video", MONDAY, MONDAY + 86_400_000)) == 20


async def test_an_opened_video_visit_is_not_moved_even_by_a_rebook_already_under_way(bookings: Bookings) -> None:
    booked = (await bookings.book(request(at("2026-12-07 08:30"), 1))).booking
    assert await bookings.set_visit_case(booked, "vm.visit1") == "vm.visit1"
    with pytest.raises(BookingClosed):
        await bookings.rebook(booked.id, at("2026-12-07 08:35"), "self")
    with pytest.raises(BookingClosed):  # the script's own check: a rebook that read the booking before the open
        await bookings.store.rebook(booked.id, at("2026-12-07 08:35"), at("2026-12-07 08:40"), "nurse-1")
    assert (await bookings.get(booked.id)).start_ms == at("2026-12-07 08:30")
