"""Bookings in Redis: one Lua script per operation, on one unit's hash tag (``dk:{bk:<unit>}:…``).

A slot is taken by writing its field in the unit's slot map only when it is free, in the same
script that writes the booking: two requests for one slot cannot both succeed, on a standalone
Redis or a Cluster (all of a unit's keys are in one slot). The owner's index lives in another
slot on a Cluster: it is written first (idempotently) and read skipping ids without a booking, so
a booking is never missing from it and a failed one only leaves a dangling id.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from redis.exceptions import ResponseError

from direkt.queue.scripts import REDIS_FAILURES, RedisClient, redis_errors, unavailable
from direkt.server.booking.model import Booking, BookingClosed, SlotTaken, from_hash, to_hash, unit_of
from direkt.server.errors import DirektError, NotFound, RedisUnavailable
from direkt.server.redis import keys

LUA_DIR = Path(__file__).parent / "lua"
NAMES = ("book", "cancel", "rebook")

_REFUSALS: dict[str, tuple[type[DirektError], str]] = {
    "slot_taken": (SlotTaken, "the time is no longer free; choose another"),
    "no_booking": (NotFound, "no such booking"),
    "booking_closed": (BookingClosed, "the booking is cancelled"),
    "visit_opened": (BookingClosed, "the video visit has been opened; it can no longer be moved"),
}


def _translate(exc: ResponseError) -> DirektError:
    code = str(exc).partition(" ")[0]
    if code in _REFUSALS:
        cls, message = _REFUSALS[code]
        return cls(message)
    return RedisUnavailable(f"Redis refused the operation: {code}")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class BookingStore:
    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self._scripts = {n: client.register_script((LUA_DIR / f"{n}.lua").read_text()) for n in NAMES}

    async def _run(self, name: str, unit: str, booking_id: str, args: Sequence[Any]) -> Any:
        route = [keys.booking_slots(unit), keys.booking(unit, booking_id), keys.booking_calendar(unit)]
        if name == "book":
            route.append(keys.booking_dedupe(unit))
        try:
            return await self._scripts[name](keys=route, args=list(args))
        except ResponseError as exc:
            raise _translate(exc) from None
        except REDIS_FAILURES as exc:
            raise unavailable(exc) from None

    async def book(self, booking: Booking, slot_field: str) -> tuple[str, bool]:
        """Take ``slot_field`` for ``booking``: (the id holding it, whether it is a new booking).

        Raises:
            SlotTaken: another booking holds the slot.
        """
        with redis_errors():
            await self.client.zadd(keys.user_bookings(booking.owner_uid), {booking.id: booking.created_ms}, nx=True)
        pairs = [x for kv in to_hash(booking).items() for x in kv]
        args = [slot_field, booking.id, booking.dedupe, booking.start_ms, *pairs]
        try:
            outcome, holder = await self._run("book", booking.unit, booking.id, args)
        except SlotTaken:
            with redis_errors():
                await self.client.zrem(keys.user_bookings(booking.owner_uid), booking.id)
            raise
        holder = _text(holder)
        if holder != booking.id:  # a replay: the first request's booking stands, this id never existed
            with redis_errors():
                await self.client.zrem(keys.user_bookings(booking.owner_uid), booking.id)
        return holder, _text(outcome) == "booked"

    async def cancel(self, booking_id: str, now_ms: int, by: str) -> bool:
        unit = self._unit(booking_id)
        return bool(await self._run("cancel", unit, booking_id, [booking_id, now_ms, by]))

    async def rebook(self, booking_id: str, start_ms: int, end_ms: int, staff: str) -> bool:
        unit = self._unit(booking_id)
        return bool(await self._run("rebook", unit, booking_id, [booking_id, start_ms, end_ms, staff]))

    async def get(self, booking_id: str) -> Booking | None:
        unit = unit_of(booking_id)
        if unit is None:
            return None
        with redis_errors():
            raw = await self.client.hgetall(keys.booking(unit, booking_id))
        return from_hash(raw) if raw else None

    async def taken(self, unit: str, fields: Sequence[str]) -> set[str]:
        """Which of the slot fields are held by a booking."""
        if not fields:
            return set()
        with redis_errors():
            held = await self.client.hmget(keys.booking_slots(unit), list(fields))
        return {f for f, h in zip(fields, held, strict=True) if h is not None}

    async def of_owner(self, uid: str, limit: int = 100) -> list[Booking]:
        with redis_errors():
            ids = await self.client.zrevrange(keys.user_bookings(uid), 0, limit - 1)
        found = [await self.get(_text(i)) for i in ids]
        return [b for b in found if b is not None and b.owner_uid == uid]

    async def of_unit(self, unit: str, from_ms: int, to_ms: int) -> list[Booking]:
        """The unit's booked visits starting in [from_ms, to_ms), by start."""
        with redis_errors():
            ids = await self.client.zrangebyscore(keys.booking_calendar(unit), from_ms, f"({to_ms}")
        found = [await self.get(_text(i)) for i in ids]
        return [b for b in found if b is not None and b.status == "booked"]

    async def set_visit_case(self, booking: Booking, case_id: str) -> str:
        """Name the case a video visit is opened from, once: the first one named stays (returned)."""
        key = keys.booking(booking.unit, booking.id)
        with redis_errors():
            await self.client.hsetnx(key, "visit_case", case_id)
            stored = await self.client.hget(key, "visit_case")
        return _text(stored) if stored else case_id

    def _unit(self, booking_id: str) -> str:
        unit = unit_of(booking_id)
        if unit is None:
            raise NotFound("no such booking")
        return unit
