"""Bookings in the case workflow: a nurse books from a chat, citizens and staff read, cancel and
move bookings, and a video visit is opened at its time as a case the booked staff member holds.

Who may: staff book only from a case they hold, for its patient (the guardian's account owns a
child's booking); a citizen sees her own bookings and her children's (``may_act_for``); staff see
the bookings of the units they serve. Every staff access is audited, as with cases; a refused one
as denied. Booking ids name their unit, so another citizen's booking is answered "no such booking".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from direkt.queue.model import Skill, Staff
from direkt.queue.urgency import Urgency
from direkt.server.booking.model import Booking, BookingClosed
from direkt.server.booking.service import Booked, NewBooking
from direkt.server.booking.texts import (
    OPEN_BEFORE_MS,
    booked_message,
    cancelled_message,
    changed_sms,
    moved_message,
    sms_text,
)
from direkt.server.care.audit import AuditRecord
from direkt.server.care.casefile import CaseFile
from direkt.server.care.notices import Notice
from direkt.server.care.transcript import system_body
from direkt.server.care.triageflow import stockholm_date
from direkt.server.care.workflow import Workflow
from direkt.server.errors import BadRequest, Conflict, Forbidden, NotFound, QueueError, Unavailable, UnknownCase
from direkt.server.identity.access import may_act_for
from direkt.server.identity.sessions import Principal
from direkt.server.wiring import Services


def place(svc: Services, unit: str) -> tuple[str, str]:
    """A unit's name and street address (the referral catalogue's; the region's name otherwise)."""
    card = svc.catalogue.get(unit)
    if card is not None:
        return card.name, f"{card.address}, {card.postcode} {card.city}"
    found = svc.config.directory.units.get(unit)
    return (found.name if found else unit), ""


class BookingWorkflow(Workflow):
    # -- staff book from a chat --------------------------------------------------------------

    async def book_from_case(
        self, staff: Staff, case_id: str, unit: str, profession: str, mode: str, start_ms: int
    ) -> Booked:
        """Book a visit for the patient of the case ``staff`` holds; the same request again is the
        same booking. A new booking is told in the chat (``code = "booking"``) and by SMS."""
        if unit not in self.s.config.directory.units and self.s.catalogue.get(unit) is None:
            raise BadRequest(f"unknown unit {unit!r}")
        file, _ = await self.staff_case(staff, case_id, "booking.create", unit, holder=True)
        own = staff.id if self.books_for(staff, unit, profession) else ""
        new = NewBooking(
            unit, profession, mode, start_ms, file.patient_pnr, file.patient_name, file.owner_uid, staff.id,
            case=case_id, dedupe=f"case:{case_id}", staff=own, guardian_pnr=file.guardian_pnr,
        )  # fmt: skip
        booked = await self.s.bookings.book(new)
        if booked.created:
            await self.announce(file, booked.booking)
        return booked

    async def announce(self, file: CaseFile, booking: Booking) -> None:
        """The citizen-visible chat message and the SMS (to the number given with consent, if any)."""
        unit = self.unit_name(booking.unit)
        sv, en = booked_message(booking, unit)
        await self.append(file.case_id, system_body("booking", sv, en, booking=booking.public_view()))
        text = sms_text(booking, unit, self.s.config.brand.short_name)
        await self.s.notifier.notify(Notice(file.owner_uid, booking.id, "booking", text, en, file.phone or None))

    def unit_name(self, unit: str) -> str:
        return place(self.s, unit)[0]

    def is_hers(self, staff: Staff, booking: Booking) -> bool:
        """Named for her, or for anyone of the unit in a profession she serves there."""
        named = booking.staff == staff.id
        return named or (not booking.staff and self.books_for(staff, booking.unit, booking.profession))

    def books_for(self, staff: Staff, unit: str, profession: str) -> bool:
        return any(u.id == unit and s.value == profession for u, s in self.s.config.directory.queues_of(staff))

    # -- who may see a booking -------------------------------------------------------------

    async def visible(self, who: Principal, booking_id: str, action: str) -> Booking:
        """A booking ``who`` may see; staff access audited (a refusal as denied).

        Raises:
            NotFound: no such booking, or not the citizen's (nor her child's).
        """
        booking = await self.s.bookings.get(booking_id)
        if who.is_staff:
            staff = self.staff_of(who)
            allowed = booking.unit in staff.units or booking.booked_by == staff.id
            await self.audit_booking(staff, booking, action, ok=allowed)
            if not allowed:
                raise Forbidden("the booking is at a unit you do not serve")
            return booking
        if not await self.citizen_may_see(who, booking):
            raise NotFound("no such booking")
        return booking

    async def citizen_may_see(self, who: Principal, booking: Booking) -> bool:
        if booking.patient_pnr == who.pnr:
            return True
        if booking.owner_uid != who.uid and booking.guardian_pnr != who.pnr:
            return False
        try:
            relations = await self.s.guardians.children_of(who.pnr)
        except Unavailable:
            return False  # an outage refuses, never allows
        return may_act_for(relations, who.pnr, booking.patient_pnr, stockholm_date(self.s.clock()))

    async def of_citizen(self, who: Principal) -> list[Booking]:
        return [b for b in await self.s.bookings.of_user(who.uid) if await self.citizen_may_see(who, b)]

    async def audit_booking(self, staff: Staff, booking: Booking, action: str, *, ok: bool = True) -> None:
        await self.s.audit.record(
            AuditRecord(
                self.s.clock(), staff.id, staff.profession.value, booking.unit, action, booking.case or booking.id,
                booking.patient_pnr, booking.guardian_pnr, "ok" if ok else "denied", booking.id,
            )
        )  # fmt: skip

    # -- change ------------------------------------------------------------------------------

    def actor(self, who: Principal) -> str:
        return who.staff_id if who.is_staff else "self"

    async def cancel(self, who: Principal, booking_id: str) -> Booking:
        """Cancel; an opened video visit's case ends with it; staff's cancel is told to the patient."""
        booking = await self.visible(who, booking_id, "booking.cancel")
        done = await self.s.bookings.cancel(booking.id, self.actor(who))
        if booking.status == "booked" and done.status == "cancelled":
            await self.end_visit_case(done)
            if who.is_staff:
                await self.tell_changed(done, cancelled=True)
        return done

    async def rebook(self, who: Principal, booking_id: str, start_ms: int) -> Booking:
        """Move (refused once its video visit is opened); staff's move is told to the patient."""
        booking = await self.visible(who, booking_id, "booking.rebook")
        moved = await self.s.bookings.rebook(booking.id, start_ms, self.actor(who))
        if who.is_staff and moved.changes != booking.changes:
            await self.tell_changed(moved, cancelled=False)
        return moved

    async def tell_changed(self, booking: Booking, *, cancelled: bool) -> None:
        """In the chat it was booked from (if any) and by SMS to the number given there with consent."""
        unit = self.unit_name(booking.unit)
        sv, en = (cancelled_message if cancelled else moved_message)(booking, unit)
        kind = "booking_cancelled" if cancelled else "booking_moved"
        phone = None
        if booking.case:
            try:
                file = await self.s.files.get(booking.case)
            except NotFound:  # the chat is gone (retention): the SMS and the notice still go
                file = None
            if file is not None:
                phone = file.phone or None
                await self.append(booking.case, system_body(kind, sv, en, booking=booking.public_view()))
        text = changed_sms(booking, unit, self.s.config.brand.short_name, cancelled=cancelled)
        ref = booking.id if cancelled else f"{booking.id}.{booking.changes}"  # each move its own SMS
        await self.s.notifier.notify(Notice(booking.owner_uid, ref, kind, text, en, phone))

    async def end_visit_case(self, booking: Booking) -> None:
        """A cancelled video visit's case (opened already) ends: it leaves the queue or the nurse's chats."""
        if not booking.visit_case:
            return
        try:
            ended = await self.s.waitroom.abandon(booking.visit_case)
        except QueueError:  # UnknownCase included
            return  # never made, or closed already by the nurse
        if ended:
            await self.s.files.update(booking.visit_case, closed_ms=self.s.clock(), outcome="abandoned")
            await self.append(booking.visit_case, system_body("visit_cancelled", "Besöket är avbokat.",
                                                              "The visit is cancelled."))  # fmt: skip
            await self.publish_case(booking.visit_case, {"state": "abandoned"})

    async def visits_on(self, staff: Staff, day: dt.date, *, opening_by_ms: int = 0) -> list[Booking]:
        """The day's booked visits that are hers: named for her, or for anyone of a unit she serves
        in that profession. Each listed visit is audited (the list shows the patient). With
        ``opening_by_ms``: also the next day's that open by then (late in the evening, a video visit
        just after midnight can be opened already)."""
        found = await self.s.bookings.of_units_on(staff.units, day)
        if opening_by_ms:
            nxt = await self.s.bookings.of_units_on(staff.units, day + dt.timedelta(days=1))
            found += [b for b in nxt if b.start_ms - OPEN_BEFORE_MS <= opening_by_ms]
        mine = [b for b in found if self.is_hers(staff, b)]
        for booking in mine:
            await self.audit_booking(staff, booking, "booking.list")
        return mine

    # -- open a video visit at its time ----------------------------------------------------

    async def open_visit(self, who: Principal, booking_id: str) -> str:
        """The case a video visit's call is opened from: made once per booking, held by the booked
        staff member (or by the staff member of the unit who opens it, when the schedule names none).

        Raises:
            BookingClosed: not a booked video visit, or outside its window (ten minutes before to its end).
        """
        staff = self.staff_of(who) if who.is_staff else None
        if staff is None:
            booking = await self.visible(who, booking_id, "booking.open")
        else:  # only the one it is booked with (or, when none is named, one who does such visits there)
            booking = await self.s.bookings.get(booking_id)
            allowed = self.is_hers(staff, booking)
            await self.audit_booking(staff, booking, "booking.open", ok=allowed)
            if not allowed:
                raise Forbidden("this visit is booked with someone else")
        now = self.s.clock()
        if booking.status != "booked" or booking.mode != "video":
            raise BookingClosed("only a booked video visit is opened here")
        if not booking.start_ms - OPEN_BEFORE_MS <= now < booking.end_ms:
            raise BookingClosed("the video visit opens ten minutes before its time and closes at its end")
        case_id = await self._visit_case(booking)
        holder = staff or self.s.config.directory.staff.get(booking.staff)
        if holder is not None and (await self.s.waitroom.get(case_id)).state == "waiting":
            # the visit's own case: claimed for her whatever the unit's claiming order (claims.py)
            try:
                await self._opened(holder, await self.s.waitroom.claim(case_id, holder))
            except QueueError:
                if staff is not None:
                    raise  # she is told (at capacity …); the citizen's case waits for her instead
        return case_id

    async def _visit_case(self, booking: Booking) -> str:
        unit = self.s.config.directory.units.get(booking.unit)
        if unit is None:  # a catalogue unit without a chat queue: the visit cannot be opened here
            raise Conflict("this unit has no chat queue here: its video visit is not opened in direkt")
        region = unit.region
        case_id = f"{region}.{booking.id.rpartition('.')[2]}"  # one per booking, whoever opens it first
        case_id = await self.s.bookings.set_visit_case(booking, case_id)
        try:
            await self.s.waitroom.get(case_id)
            return case_id
        except UnknownCase:
            pass
        await self.s.files.create(self._visit_file(booking, case_id))
        meta = {"reason": "booked_visit", "label": {"sv": "Bokat videobesök", "en": "Booked video visit"},
                "entry": "seek_care", "care": "booked_visit"}  # fmt: skip
        await self.s.waitroom.enqueue(
            case_id, booking.unit, Skill(booking.profession), Urgency.DAYS, self.s.clock(),
            new_problem=False, meta=meta,
        )  # fmt: skip
        if (await self.s.bookings.get(booking.id)).status != "booked":  # cancelled while it was being opened
            await self.end_visit_case(replace(booking, visit_case=case_id))
            raise BookingClosed("the booking is cancelled")
        return case_id

    def _visit_file(self, booking: Booking, case_id: str) -> CaseFile:
        label = {"sv": "Bokat videobesök", "en": "Booked video visit"}
        summary = [{"question": {"sv": "Bokning", "en": "Booking"}, "answer": {"sv": booking.id, "en": booking.id}}]
        triage = {"reason": {"code": "booked_visit", "label": label}, "level": "booked", "care_level": "booked_visit",
                  "urgency": 5, "profession": booking.profession, "visit": "video", "advice": None,
                  "red_flag": None, "notes": [], "summary": summary, "booking": booking.id}  # fmt: skip
        return CaseFile(
            case_id=case_id, owner_uid=booking.owner_uid, patient_pnr=booking.patient_pnr,
            patient_name=booking.patient_name, guardian_pnr=booking.guardian_pnr,
            first_name=booking.patient_name.split(maxsplit=1)[0] if booking.patient_name else "", phone="",
            lang="sv", entry="seek_care", home_unit=booking.unit, created_ms=self.s.clock(), triage=triage,
            booking=booking.id,
        )  # fmt: skip
