"""The booking endpoints (issue 24, docs/booking.md): free slots, a nurse books from a chat, the
citizen's bookings (read, calendar file, cancel, rebook), the staff's visits of the day, and
opening a video visit at its time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.hours import local_time
from direkt.server.booking.ics import calendar_file
from direkt.server.booking.model import Booking
from direkt.server.booking.schedule import MAX_DAYS
from direkt.server.booking.service import check_day
from direkt.server.booking.texts import OPEN_BEFORE_MS
from direkt.server.booking.visits import BookingWorkflow, place
from direkt.server.errors import BadRequest
from direkt.server.http.api import Endpoint, citizen_only, query_of
from direkt.server.http.requests import authed, json_body, ok
from direkt.server.identity.sessions import Principal, Session
from direkt.server.wiring import Services

DAY_MS = 86_400_000
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Instant = Annotated[int, msgspec.Meta(ge=0, le=2**53, description="epoch milliseconds")]


class SlotsQuery(msgspec.Struct):
    unit: Code
    profession: Code
    mode: Code
    from_: Instant = msgspec.field(default=0, name="from")  # default: now
    days: Annotated[int, msgspec.Meta(ge=1, le=MAX_DAYS)] = 7


class VisitsQuery(msgspec.Struct):
    day: Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")] = ""


class BookBody(msgspec.Struct, forbid_unknown_fields=True):
    unit: Code
    profession: Code
    mode: Code
    start_ms: Instant


class RebookBody(msgspec.Struct, forbid_unknown_fields=True):
    start_ms: Instant


def _wf(svc: Services) -> BookingWorkflow:
    return BookingWorkflow(svc)


def view(svc: Services, booking: Booking, who: Principal) -> dict[str, Any]:
    """The citizen's view (no personnummer) or the staff's; with the unit's name and when it opens."""
    base = booking.staff_view() if who.is_staff else booking.public_view()
    name, address = place(svc, booking.unit)
    extra: dict[str, Any] = {"unit_name": name, "unit_address": address or None}
    if booking.mode == "video":
        opens, now = booking.start_ms - OPEN_BEFORE_MS, svc.clock()
        extra |= {"open_from_ms": opens, "can_open": booking.status == "booked" and opens <= now < booking.end_ms}
    return base | extra


class UnitsQuery(msgspec.Struct):
    case: Annotated[str, msgspec.Meta(max_length=120, description="staff: the case whose patient is booked")] = ""


async def booking_units(request: Request, svc: Services, session: Session) -> Response:
    """The units that take booked visits, and which (profession, mode) each books; with ``case``
    (staff), ``default`` is the unit to offer first: the patient's home unit, else the case's."""
    regions = {u.id: u.region for u in svc.config.directory.units.values()} | {
        u.id: u.region for u in svc.catalogue.units
    }
    units = []
    for unit, region in regions.items():
        if offers := svc.bookings.offers(unit):
            units.append({"unit": unit, "name": place(svc, unit)[0], "region": region,
                          "offers": [{"profession": p, "mode": m} for p, m in offers]})  # fmt: skip
    q = query_of(request, UnitsQuery)
    if not q.case:
        return ok({"units": units})
    wf = _wf(svc)
    file, record = await wf.staff_case(wf.staff_of(session.principal), q.case, "case.read", "booking")
    bookable = [u["unit"] for u in units]
    same_region = [u["unit"] for u in units if u["region"] == regions.get(record.unit)]
    default = next((u for u in (file.home_unit, record.unit, *same_region, *bookable) if u in bookable), None)
    return ok({"units": units, "default": default})


async def slots_get(request: Request, svc: Services, session: Session) -> Response:
    q = query_of(request, SlotsQuery)
    start = svc.bookings.check_ahead(q.from_ or svc.clock())
    found = await svc.bookings.free_slots(q.unit, q.profession, q.mode, start, start + q.days * DAY_MS)
    slots = [{"start_ms": s.start_ms, "end_ms": s.end_ms} for s in found]
    return ok({"unit": q.unit, "profession": q.profession, "mode": q.mode, "from": start,
               "to": start + q.days * DAY_MS, "slots": slots})  # fmt: skip


async def staff_book(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, BookBody)
    wf = _wf(svc)
    staff = wf.staff_of(session.principal)
    booked = await wf.book_from_case(
        staff, request.path_params["case"], body.unit, body.profession, body.mode, body.start_ms
    )
    return ok({"booking": view(svc, booked.booking, session.principal)}, 201 if booked.created else 200)


async def staff_visits(request: Request, svc: Services, session: Session) -> Response:
    """My booked visits of a day (default today, and after midnight's that open now): named for me, or
    for my profession at my units."""
    wf = _wf(svc)
    staff = wf.staff_of(session.principal)
    q = query_of(request, VisitsQuery)
    try:
        day = dt.date.fromisoformat(q.day) if q.day else local_time(svc.clock()).date()
    except ValueError:
        raise BadRequest(f"{q.day!r} is not a date") from None
    check_day(day)
    visits = await wf.visits_on(staff, day, opening_by_ms=0 if q.day else svc.clock())
    return ok({"day": day.isoformat(), "visits": [view(svc, b, session.principal) for b in visits]})


async def my_bookings(request: Request, svc: Services, session: Session) -> Response:
    found = await _wf(svc).of_citizen(session.principal)
    return ok({"bookings": [view(svc, b, session.principal) for b in found]})


async def booking_get(request: Request, svc: Services, session: Session) -> Response:
    booking = await _wf(svc).visible(session.principal, request.path_params["booking"], "booking.read")
    return ok(view(svc, booking, session.principal))


async def booking_ics(request: Request, svc: Services, session: Session) -> Response:
    booking = await _wf(svc).visible(session.principal, request.path_params["booking"], "booking.read")
    name, address = place(svc, booking.unit)
    body = calendar_file(booking, name, address, svc.settings.base_url.rstrip("/"), svc.clock())
    headers = {"Content-Disposition": 'attachment; filename="besok.ics"', "Cache-Control": "private, no-store"}
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


async def booking_cancel(request: Request, svc: Services, session: Session) -> Response:
    booking = await _wf(svc).cancel(session.principal, request.path_params["booking"])
    return ok(view(svc, booking, session.principal))


async def booking_rebook(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, RebookBody)
    booking = await _wf(svc).rebook(session.principal, request.path_params["booking"], body.start_ms)
    return ok(view(svc, booking, session.principal))


async def booking_open(request: Request, svc: Services, session: Session) -> Response:
    case_id = await _wf(svc).open_visit(session.principal, request.path_params["booking"])
    return ok({"case": case_id, "booking": request.path_params["booking"]})


ENDPOINTS = [
    Endpoint(
        "GET", "/api/booking/units", authed(booking_units), "Units that take booked visits, and what each books",
        who="any", query=UnitsQuery,
    ),
    Endpoint(
        "GET", "/api/slots", authed(slots_get), "Free slots of a unit's profession in a mode, from a time, for days",
        who="any", query=SlotsQuery,
    ),
    Endpoint(
        "POST", "/api/staff/cases/{case}/bookings", authed(staff_book),
        "Book a visit for the patient of the case I hold (told in the chat and by SMS); the same again: the same",
        BookBody, who="staff",
    ),
    Endpoint(
        "GET", "/api/staff/visits", authed(staff_visits), "My booked visits of a day (each listed one audited)",
        who="staff", query=VisitsQuery,
    ),
    Endpoint("GET", "/api/bookings", citizen_only(my_bookings), "My bookings and my children's"),
    Endpoint("GET", "/api/bookings/{booking}", authed(booking_get), "A booking", who="any"),
    Endpoint(
        "GET", "/api/bookings/{booking}/calendar.ics", authed(booking_ics), "A booking as an iCalendar file",
        who="any",
    ),
    Endpoint(
        "DELETE", "/api/bookings/{booking}", authed(booking_cancel), "Cancel a booking (frees its time)", who="any"
    ),
    Endpoint(
        "POST", "/api/bookings/{booking}/rebook", authed(booking_rebook),
        "Move a booking to another free time of the same unit, profession and mode", RebookBody, who="any",
    ),
    Endpoint(
        "POST", "/api/bookings/{booking}/open", authed(booking_open),
        "Open a video visit at its time (ten minutes before to its end): the case to call from", who="any",
    ),
]  # fmt: skip
