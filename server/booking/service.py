"""``Bookings``: the rules of booking over the store: a slot must be in the schedule and ahead,
free to take; a booking is cancelled or moved only before its visit.

Who may book, read or change a booking (the case's holder, the citizen and her guardian) is the
HTTP layer's check (``server/http/bookings.py``); this service trusts its caller on that.
"""

from __future__ import annotations

import datetime as dt
import os
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from direkt.queue.hours import HolidayCalendar, instant_ms
from direkt.server.booking.model import Booking, BookingClosed, NotInSchedule, SlotTaken
from direkt.server.booking.schedule import MAX_DAYS, MODES, Schedules, Slot, find_slot, slots
from direkt.server.booking.store import BookingStore
from direkt.server.errors import BadRequest, NotFound

_ALPHABET = string.ascii_letters + string.digits
DAY_MS = 86_400_000
AHEAD_DAYS = 400  # the furthest ahead a time may be asked for or booked
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the days a question may name


def check_day(day: dt.date) -> dt.date:
    """``day`` when it is in the years a calendar question may name.

    Raises:
        BadRequest: outside 2000-2100.
    """
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadRequest(f"ask for a day in {FIRST_YEAR}-{LAST_YEAR}")
    return day


def new_booking_id(unit: str) -> str:
    """``<unit>.<16 random letters and digits>``: the unit is the booking's hash tag."""
    raw = os.urandom(16)
    return f"{unit}." + "".join(_ALPHABET[b % len(_ALPHABET)] for b in raw)


@dataclass(frozen=True)
class Booked:
    booking: Booking
    created: bool  # False: the same request was made before, and this is its booking


@dataclass(frozen=True)
class NewBooking:
    unit: str
    profession: str
    mode: str
    start_ms: int
    patient_pnr: str
    patient_name: str
    owner_uid: str
    booked_by: str  # a staff id, or "self"
    case: str = ""
    vaccine: str = ""
    dedupe: str = ""  # the same dedupe for the same slot returns the first booking (a replayed request)
    staff: str = ""  # who does the visit when the schedule names nobody
    guardian_pnr: str = ""  # a guardian acting for the child


class Bookings:
    def __init__(
        self,
        store: BookingStore,
        schedules: Callable[[], Schedules],
        calendar: Callable[[], HolidayCalendar],
        clock: Callable[[], int],
    ) -> None:
        self.store = store
        self._schedules = schedules
        self._calendar = calendar
        self.clock = clock

    @property
    def schedules(self) -> Schedules:
        return self._schedules()

    def offers(self, unit: str) -> list[tuple[str, str]]:
        return self.schedules.offers(unit)

    def check_ahead(self, at_ms: int) -> int:
        """``at_ms`` when it is at most ``AHEAD_DAYS`` days ahead (a time far off is a mistake, and past
        year 9999 the calendar arithmetic fails).

        Raises:
            BadRequest: further ahead.
        """
        if at_ms > self.clock() + AHEAD_DAYS * DAY_MS:
            raise BadRequest(f"ask for a time at most {AHEAD_DAYS} days ahead")
        return at_ms

    def _check(self, unit: str, profession: str, mode: str) -> None:
        if mode not in MODES:
            raise BadRequest(f"mode is one of {list(MODES)}")
        if (profession, mode) not in self.offers(unit):
            raise NotInSchedule(f"{unit} takes no booked {mode} visits with {profession}")

    async def free_slots(self, unit: str, profession: str, mode: str, from_ms: int, to_ms: int) -> list[Slot]:
        """The free slots ahead (starting after now) in [from_ms, to_ms), at most ``MAX_DAYS`` days."""
        self._check(unit, profession, mode)
        self.check_ahead(from_ms)
        if to_ms - from_ms > MAX_DAYS * DAY_MS:
            raise BadRequest(f"ask for at most {MAX_DAYS} days at a time")
        start = max(from_ms, self.clock())
        found = slots(self.schedules, self._calendar(), unit, profession, mode, start, to_ms)
        taken = await self.store.taken(unit, [s.key for s in found])
        return [s for s in found if s.key not in taken]

    def slot(self, unit: str, profession: str, mode: str, start_ms: int) -> Slot:
        """The schedule's slot at ``start_ms``, ahead of now.

        Raises:
            NotInSchedule: no such slot; BookingClosed: it has started.
        """
        self._check(unit, profession, mode)
        self.check_ahead(start_ms)
        slot = find_slot(self.schedules, self._calendar(), unit, profession, mode, start_ms)
        if slot is None:
            raise NotInSchedule("there is no such time in the unit's schedule")
        if slot.start_ms <= self.clock():
            raise BookingClosed("that time has passed; choose a later one")
        return slot

    async def book(self, new: NewBooking) -> Booked:
        """Take the slot for a new booking (the same ``dedupe`` again: the first booking, not a refusal).

        Raises:
            NotInSchedule, BookingClosed (the time has passed), SlotTaken.
        """
        slot = self.slot(new.unit, new.profession, new.mode, new.start_ms)
        booking = Booking(
            id=new_booking_id(new.unit),
            unit=new.unit,
            profession=new.profession,
            mode=new.mode,
            start_ms=slot.start_ms,
            end_ms=slot.end_ms,
            status="booked",
            patient_pnr=new.patient_pnr,
            patient_name=new.patient_name,
            owner_uid=new.owner_uid,
            case=new.case,
            booked_by=new.booked_by,
            vaccine=new.vaccine,
            created_ms=self.clock(),
            staff=slot.staff or new.staff,
            dedupe=new.dedupe,
            guardian_pnr=new.guardian_pnr,
        )
        holder, created = await self.store.book(booking, slot.key)
        return Booked(booking if created else await self.get(holder), created)

    async def get(self, booking_id: str) -> Booking:
        found = await self.store.get(booking_id)
        if found is None:
            raise NotFound("no such booking")
        return found

    async def cancel(self, booking_id: str, by: str) -> Booking:
        """Cancel before the visit's end (idempotent: a cancelled booking stays as it is)."""
        booking = await self.get(booking_id)
        if booking.status == "booked" and booking.end_ms <= self.clock():
            raise BookingClosed("the visit is over; it can no longer be cancelled")
        await self.store.cancel(booking_id, self.clock(), by)
        return await self.get(booking_id)

    async def rebook(self, booking_id: str, start_ms: int, by: str) -> Booking:
        """Move to another free slot of the same unit, profession and mode, before the visit starts.

        Raises:
            NotFound, BookingClosed (cancelled or started), NotInSchedule, SlotTaken.
        """
        booking = await self.get(booking_id)
        if booking.status != "booked":
            raise BookingClosed("the booking is cancelled")
        if booking.start_ms <= self.clock():
            raise BookingClosed("the visit has started; it can no longer be moved")
        if booking.visit_case:  # checked again in the script, atomically with an open
            raise BookingClosed("the video visit has been opened; it can no longer be moved")
        slot = self.slot(booking.unit, booking.profession, booking.mode, start_ms)
        await self.store.rebook(booking_id, slot.start_ms, slot.end_ms, slot.staff or booking.staff)
        return await self.get(booking_id)

    async def is_of(self, booking_id: str, patient_pnr: str) -> bool:
        """Whether ``booking_id`` is a booking (booked, not cancelled) of this patient: a close names only such."""
        found = await self.store.get(booking_id)
        return found is not None and found.patient_pnr == patient_pnr and found.status == "booked"

    async def of_user(self, uid: str) -> list[Booking]:
        """A citizen account's bookings (own and her children's), newest first."""
        return await self.store.of_owner(uid)

    async def of_units_on(self, units: Iterable[str], day: dt.date) -> list[Booking]:
        """The booked visits of ``units`` on a Stockholm day, by start (Raises: BadRequest, see ``check_day``)."""
        check_day(day)
        start, end = instant_ms(day, 0), instant_ms(day, 24 * 60)
        found = [b for unit in dict.fromkeys(units) for b in await self.store.of_unit(unit, start, end)]
        return sorted(found, key=lambda b: (b.start_ms, b.id))

    async def set_visit_case(self, booking: Booking, case_id: str) -> str:
        return await self.store.set_visit_case(booking, case_id)


__all__ = ["Booked", "Bookings", "NewBooking", "SlotTaken", "new_booking_id"]
