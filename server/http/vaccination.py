"""Vaccination self-booking over HTTP (issue 24): the offer after a finished vaccination triage,
and booking it for the triage's patient without waiting for a nurse.

Who decides what: the triage's rules (triage/kb/reasons/vaccination.toml) whether a person must
see the answers; ``care/vaccination.py`` whether the patient may book herself and which
catalogue units fit; the booking core (``direkt.server.booking``) the free slots and the atomic
take of one. Only the triage's owner (the citizen, or the guardian for a child) sees the offer
or books it.

One booking per triage: a triage answers for one dose. The same request again (a replay,
a double click, a retry after a lost answer) gives the same booking back (200); another slot
or unit with the same triage is refused (409 ``already_booked``): the citizen rebooks the
booking she has ("My bookings"), or answers the questions again for another vaccination. So
one set of answers cannot hold many slots. A cancelled booking releases its triage: the next
booking replaces the link (compare-and-set, so two at once still keep one).

The season (influenza, covid-19) is judged by the day of the visit: the slot's day when booking,
the first day shown for an offer (whose slots outside the season are left out). A guardian's
right to act for the child is asked again when booking (custody or the child's age may have
changed since the triage began).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.scripts import redis_errors
from direkt.server.booking.model import Booking
from direkt.server.booking.service import DAY_MS, NewBooking
from direkt.server.care.catalogue import CareUnit, Catalogue
from direkt.server.care.triageflow import TRIAGE_TTL_S, ReadAhead, TriageState, stockholm_date
from direkt.server.care.vaccination import (
    PROFESSION,
    SOURCES,
    Eligibility,
    eligibility,
    fitting_units,
    in_season,
    patient_of,
    place_of,
    read_triage,
    swedish_order,
)
from direkt.server.errors import BadRequest, Conflict, Forbidden, NotFound
from direkt.server.http.api import Endpoint, citizen_triage, query_of
from direkt.server.http.requests import authed, json_body, ok
from direkt.server.identity.access import may_act_for
from direkt.server.identity.sessions import Session
from direkt.server.redis import keys
from direkt.server.wiring import Services
from direkt.triage.outcome import outcome
from direkt.triage.walk import walk

MODE = "physical"  # a vaccination is given in person
MAX_UNITS = 4  # the nearest units shown with their free slots
MAX_OFFER_DAYS = 14
HORIZON_MS = 400 * DAY_MS  # a time further ahead than about a year is a typo: 400, never a 500
LAST_MS = 4_102_444_800_000  # 2100-01-01: no time is read past it (the time zone's arithmetic overflows far on)
# Replace the triage's link to a cancelled booking with the new one, only if nobody else did first.
_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


class AlreadyBooked(Conflict):
    code = "already_booked"


class NotSelfBookable(Conflict):
    code = "not_self_bookable"


class OfferQuery(msgspec.Struct):
    """Where and when to look for free times."""

    place: Annotated[str, msgspec.Meta(max_length=64, description="a municipality; default the home unit's")] = ""
    start: Annotated[
        int, msgspec.Meta(ge=0, le=LAST_MS, description="from this time (ms since 1970, within 400 days); default now")
    ] = 0
    days: Annotated[int, msgspec.Meta(ge=1, le=MAX_OFFER_DAYS, description="how many days ahead")] = 7


class VaccinationBook(msgspec.Struct, forbid_unknown_fields=True):
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    start_ms: Annotated[int, msgspec.Meta(ge=0, le=LAST_MS)]


# -- reading the triage ------------------------------------------------------------------


def _within_horizon(svc: Services, at_ms: int, name: str) -> dt.date:
    """The Stockholm day of ``at_ms``; BadRequest when it is more than 400 days ahead."""
    if at_ms > svc.clock() + HORIZON_MS:
        raise BadRequest(f"{name}: within 400 days from now")
    return stockholm_date(at_ms)


def _verdict(svc: Services, state: TriageState, day: dt.date) -> Eligibility:
    """The self-booking verdict of a finished vaccination triage, for a visit on ``day``.

    Raises:
        Conflict: the triage is not finished, or not about a vaccination.
    """
    walked = walk(svc.kb, state.session)
    if not walked.done:
        raise Conflict("answer all the questions first")
    result = outcome(svc.kb, walked)
    if result.reason_code != "vaccination":
        raise Conflict("this triage is not about a vaccination")
    read = read_triage(result.reason_code, result.profession.value, result.rules, walked.facts)
    patient = patient_of(state.session.patient.age, bool(state.guardian_pnr), walked.facts)
    return eligibility(read, patient, day)


def _origin(catalogue: Catalogue, place: str) -> tuple[float, float] | None:
    found = catalogue.place(place)
    return (found.lat, found.lon) if found else place_of(catalogue.units, place)


def _home_place(svc: Services, state: TriageState) -> str:
    """The municipality of the patient's home unit (a child's, else the guardian's), "" if unknown."""
    for pnr in (state.patient_pnr, state.guardian_pnr):
        citizen = svc.config.citizens.get(pnr)
        unit = svc.catalogue.get(citizen.home_unit) if citizen else None
        if unit is not None:
            return unit.municipality
    return ""


def _unit_view(unit: CareUnit, km: float | None) -> dict[str, Any]:
    return {
        "id": unit.id, "name": unit.name, "address": unit.address, "postcode": unit.postcode, "city": unit.city,
        "municipality": unit.municipality, "phone": unit.phone, "web": unit.web,
        "directions": dict(unit.directions), "km": km,
    }  # fmt: skip


def _bookable(svc: Services, unit: CareUnit) -> bool:
    return (PROFESSION, MODE) in svc.bookings.offers(unit.id)


@dataclass(frozen=True)
class Link:
    """The booking made with a triage, as its link says: the request it answered, and the booking now."""

    raw: str  # the stored value "<booking id> <unit> <start asked for>"
    booking_id: str
    unit: str
    start_ms: int
    booking: Booking | None  # None: removed since (retention), which releases the triage as a cancel does

    @property
    def live(self) -> bool:
        return self.booking is not None and self.booking.status != "cancelled"


async def _link(svc: Services, tid: str) -> Link | None:
    """The booking made with triage ``tid``, or None."""
    with redis_errors():
        stored: Any = await svc.client.get(keys.vaccination_booking(tid))
    if stored is None:
        return None
    raw = stored.decode() if isinstance(stored, bytes) else str(stored)
    booking_id, unit, start = raw.split(" ")
    try:
        booking: Booking | None = await svc.bookings.get(booking_id)
    except NotFound:
        booking = None
    return Link(raw, booking_id, unit, int(start), booking)


async def _check_guardian(svc: Services, session: Session, state: TriageState) -> None:
    """For a child's triage: is the guardian still allowed to act for the child (asked again now)?"""
    if not state.guardian_pnr:
        return
    who = session.principal
    relations = await svc.guardians.children_of(who.pnr)
    today = stockholm_date(svc.clock())
    if not may_act_for(relations, who.pnr, state.patient_pnr, today, state.session.entry.value):
        raise Forbidden("you can act only for your own children")


# -- handlers ------------------------------------------------------------------------------


async def vaccination_offer(request: Request, svc: Services, session: Session, ahead: ReadAhead) -> Response:
    """Whether the triage's patient may book herself, and the nearest fitting units' free times."""
    state = await svc.triage.get(session.principal, request.path_params["tid"], ahead)
    query = query_of(request, OfferQuery)
    start = query.start or svc.clock()
    verdict = _verdict(svc, state, _within_horizon(svc, start, "start"))
    place = query.place.strip() or _home_place(svc, state)
    origin = _origin(svc.catalogue, place) if place else None
    if query.place.strip() and origin is None:
        raise BadRequest("no such municipality in the catalogue")
    units: list[dict[str, Any]] = []
    if verdict.eligible:
        fits = fitting_units(svc.catalogue.units, verdict.service, state.session.patient.age, origin)
        for fit in [f for f in fits if _bookable(svc, f.unit)][:MAX_UNITS]:
            free = await svc.bookings.free_slots(fit.unit.id, PROFESSION, MODE, start, start + query.days * DAY_MS)
            slots = [
                {"start_ms": s.start_ms, "end_ms": s.end_ms}
                for s in free
                if in_season(verdict.vaccine, stockholm_date(s.start_ms))
            ]
            units.append(_unit_view(fit.unit, fit.km) | {"slots": slots})
    link = await _link(svc, state.id)
    booking = link.booking.public_view() if link and link.booking and link.live else None
    places = sorted({p.name for p in svc.catalogue.places}, key=swedish_order)
    return ok({
        "triage": state.id, "eligible": verdict.eligible, "code": verdict.code, "vaccine": verdict.vaccine or None,
        "text": verdict.text.view(), "sources": list(SOURCES), "place": place or None, "places": places,
        "patient": {"for_child": bool(state.guardian_pnr), "name": state.child_name or None,
                    "age": state.session.patient.age},
        "units": units, "booking": booking,
    })  # fmt: skip


async def vaccination_book(request: Request, svc: Services, session: Session, ahead: ReadAhead) -> Response:
    """Book the vaccination for the triage's patient (booked by "self"); once per triage."""
    state = await svc.triage.get(session.principal, request.path_params["tid"], ahead)
    body = await json_body(request, VaccinationBook)
    verdict = _verdict(svc, state, _within_horizon(svc, body.start_ms, "start_ms"))
    if not verdict.eligible:
        raise NotSelfBookable("this vaccination cannot be booked here; send your answers to the vaccination service")
    await _check_guardian(svc, session, state)
    link = await _link(svc, state.id)
    if link is not None and link.booking is not None and link.live:
        if (link.unit, link.start_ms) != (body.unit, body.start_ms):
            raise AlreadyBooked("a time is already booked with these answers; rebook it under My bookings")
        return ok(link.booking.public_view(), 200)
    unit = svc.catalogue.get(body.unit)
    if unit is None or verdict.service not in unit.services or not unit.fits_age(state.session.patient.age):
        raise BadRequest("that unit does not give this vaccination to this patient")
    booked = await svc.bookings.book(_new_booking(state, session, verdict, body, link))
    return await _keep_link(svc, state.id, booked.booking, body, booked.created, link)


def _new_booking(
    state: TriageState, session: Session, verdict: Eligibility, body: VaccinationBook, cancelled: Link | None
) -> NewBooking:
    """The booking asked for; after a cancelled one, its dedupe names that one too (a new booking, not a replay)."""
    who = session.principal
    dedupe = f"vaccination.{state.id}" + (f".after.{cancelled.booking_id}" if cancelled else "")
    return NewBooking(
        unit=body.unit, profession=PROFESSION, mode=MODE, start_ms=body.start_ms,
        patient_pnr=state.patient_pnr, patient_name=state.child_name if state.guardian_pnr else who.name,
        owner_uid=who.uid, booked_by="self", vaccine=verdict.service.removeprefix("vaccine:"),
        dedupe=dedupe, guardian_pnr=state.guardian_pnr,
    )  # fmt: skip


async def _keep_link(
    svc: Services, tid: str, booking: Booking, body: VaccinationBook, created: bool, cancelled: Link | None
) -> Response:
    """Record the triage's booking, first come first kept (in place of a cancelled one, if it is
    still the link): a concurrent other booking is undone."""
    value = f"{booking.id} {body.unit} {body.start_ms}"
    key = keys.vaccination_booking(tid)
    with redis_errors():
        if cancelled is None:
            kept: Any = await svc.client.set(key, value, nx=True, ex=TRIAGE_TTL_S)
        else:
            kept = await svc.client.eval(_REPLACE, 1, key, cancelled.raw, value, str(TRIAGE_TTL_S))
    if kept:
        return ok(booking.public_view(), 201 if created else 200)
    link = await _link(svc, tid)
    if link is not None and link.booking_id == booking.id:
        return ok(booking.public_view(), 200)
    if created:
        await svc.bookings.cancel(booking.id, "self")
    raise AlreadyBooked("a time is already booked with these answers; rebook it under My bookings")


async def unit_card(request: Request, svc: Services, session: Session) -> Response:
    """A care unit's public facts for a booking card: name, address, phone, web, directions."""
    unit_id = request.path_params["unit"]
    unit = svc.catalogue.get(unit_id)
    if unit is not None:
        return ok(_unit_view(unit, None) | {"kind": unit.kind})
    queue_unit = svc.config.directory.units.get(unit_id)  # a chat unit the catalogue does not list: its name
    if queue_unit is None:
        raise NotFound("no such unit")
    return ok({"id": queue_unit.id, "name": queue_unit.name, "kind": str(queue_unit.kind), "directions": {}})


ENDPOINTS = [
    Endpoint("GET", "/api/units/{unit}/card", authed(unit_card), "A care unit's address and directions", who="any"),
    Endpoint(
        "GET",
        "/api/vaccination/{tid}",
        citizen_triage(vaccination_offer),
        "After a finished vaccination triage: may the patient book herself (else why), and the nearest "
        "fitting vaccination units with their free times",
        query=OfferQuery,
    ),
    Endpoint(
        "POST",
        "/api/vaccination/{tid}/booking",
        citizen_triage(vaccination_book),
        "Book the vaccination of a finished triage for its patient (once per triage; the same request again "
        "gives the same booking)",
        VaccinationBook,
    ),
]
