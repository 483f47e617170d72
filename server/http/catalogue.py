"""The referral catalogue for staff (issue 24): find a unit, read its card and the referral message.

``GET /api/staff/catalogue`` filters the region's care units (open now or at a
time, kind, service, the patient's age, distance from a municipality or a
postcode); with ``case`` the patient's age and home municipality come from the
case (read as the case is read: audited, and only a case the staff member may
see). ``GET /api/staff/catalogue/{unit}`` is one unit's card with the referral
message in Swedish and English, for the composer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.hours import TZ, instant_ms
from direkt.queue.keys import CASE_ID_PATTERN
from direkt.server.care.catalogue import KINDS, SERVICES, CareUnit, Place
from direkt.server.care.referraltext import day_text, hours_text, referral_text, week_text
from direkt.server.care.triageflow import age_in_months, stockholm_date
from direkt.server.care.unitsearch import Found, UnitFilter, find_units, found_unit, place_of
from direkt.server.care.workflow import Workflow
from direkt.server.errors import BadRequest, NotFound
from direkt.server.http.api import Endpoint, query_of
from direkt.server.http.requests import authed, ok
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services

_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")  # an <input type=datetime-local>
_MS = re.compile(r"^\d{1,15}$")
_HORIZON_MS = 400 * 86_400_000  # a search more than about a year away is a typo
_YEARS = (2000, 2100)  # a local time outside these is refused before it is turned into an instant


class CatalogueQuery(msgspec.Struct):
    """The query of a catalogue search; every parameter may be left out."""

    at: Annotated[
        str, msgspec.Meta(max_length=20, description="when: epoch ms, or Stockholm time 2026-12-25T10:00; now")
    ] = ""
    open: Annotated[bool, msgspec.Meta(description="only units open at that time")] = False
    kind: Annotated[str, msgspec.Meta(max_length=32, description="a unit kind (primary_care, emergency …)")] = ""
    service: Annotated[str, msgspec.Meta(max_length=32, description="a service (vaccine:tbe …)")] = ""
    near: Annotated[str, msgspec.Meta(max_length=40, description="a municipality or a postcode")] = ""
    age: Annotated[int, msgspec.Meta(ge=0, le=130, description="the patient's age in years")] | None = None
    region: Annotated[str, msgspec.Meta(max_length=32, description="a region id")] = ""
    case: Annotated[str, msgspec.Meta(max_length=110, description="the case: the patient's age and home")] = ""


class CardQuery(msgspec.Struct):
    at: Annotated[str, msgspec.Meta(max_length=20, description="as in the search; now")] = ""
    case: Annotated[str, msgspec.Meta(max_length=110, description="the case: its language")] = ""


@dataclass(frozen=True)
class Patient:
    age: int | None = None
    municipality: str = ""
    lang: str = "sv"


async def catalogue_search(request: Request, svc: Services, session: Session) -> Response:
    query = query_of(request, CatalogueQuery)
    if query.kind and query.kind not in KINDS:
        raise BadRequest(f"unknown kind; kinds are {', '.join(KINDS)}")
    if query.service and query.service not in SERVICES:
        raise BadRequest("unknown service; GET /api/staff/catalogue lists them")
    if query.region and all(u.region != query.region for u in svc.catalogue.units):
        raise BadRequest("unknown region")
    patient = await _patient(svc, session, query.case)
    at_ms = _instant(query.at, svc.clock())
    near = _place(svc, query.near) if query.near else svc.catalogue.place(patient.municipality)
    age = query.age if query.age is not None else patient.age
    search = UnitFilter(at_ms, query.open, query.kind, query.service, age, near, query.region)
    found = find_units(svc.catalogue.units, svc.config.directory.calendar, search)
    return ok(
        {
            "at_ms": at_ms,
            "near": near.name if near else None,
            "age": age,
            "patient": {"age": patient.age, "municipality": patient.municipality or None} if query.case else None,
            "units": [unit_view(f) for f in found],
            "kinds": [{"id": k, "sv": sv, "en": en} for k, (sv, en) in KINDS.items()],
            "services": [{"id": s, "sv": sv, "en": en} for s, (sv, en) in SERVICES.items()],
        }
    )


async def catalogue_unit(request: Request, svc: Services, session: Session) -> Response:
    query = query_of(request, CardQuery)
    patient = await _patient(svc, session, query.case)
    unit = svc.catalogue.get(request.path_params["unit"])
    if unit is None:
        raise NotFound("no such unit in the referral catalogue")
    at_ms, calendar = _instant(query.at, svc.clock()), svc.config.directory.calendar
    near = svc.catalogue.place(patient.municipality)
    now_ms = svc.clock()  # the message is sent now: "open today" is today's hours, whatever time was searched
    messages = {lang: referral_text(unit, calendar, now_ms, lang) for lang in ("sv", "en")}
    return ok(unit_view(found_unit(unit, calendar, at_ms, near)) | card_view(unit, at_ms) | {
        "lang": patient.lang, "message": messages,
    })  # fmt: skip


def unit_view(found: Found) -> dict[str, Any]:
    """One unit as the search lists it."""
    u = found.unit
    return {
        "id": u.id, "name": u.name, "kind": u.kind, "region": u.region,
        "services": sorted(u.services), "address": u.address, "postcode": u.postcode, "city": u.city,
        "municipality": u.municipality, "phone": u.phone, "web": u.web, "lat": u.lat, "lon": u.lon,
        "drop_in": u.drop_in, "booking": u.booking, "min_age": u.min_age, "max_age": u.max_age,
        "open": found.open, "opens_ms": found.opens_ms, "closes_ms": found.closes_ms,
        "distance_km": round(found.distance_km, 1) if found.distance_km is not None else None,
    }  # fmt: skip


def card_view(unit: CareUnit, at_ms: int) -> dict[str, Any]:
    """What the card adds: the week's and holidays' hours and the directions, in both languages."""
    return {
        "hours": {
            lang: {"week": week_text(unit.hours.days, lang), "holidays": hours_text(unit.hours.on_holidays, lang)}
            for lang in ("sv", "en")
        },
        "directions": dict(unit.directions),
        "day": {lang: day_text(dt.datetime.fromtimestamp(at_ms / 1000, TZ).date(), lang) for lang in ("sv", "en")},
    }


def _instant(text: str, now_ms: int) -> int:
    """``at`` as epoch ms: empty is now; digits are ms; ``2026-12-25T10:00`` is Stockholm time."""
    if not text:
        return now_ms
    if _MS.match(text):
        at_ms = int(text)
    elif _LOCAL_TIME.match(text):
        try:
            local = dt.datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest("at: not a date and time") from None
        if not _YEARS[0] <= local.year <= _YEARS[1]:  # far years overflow the time zone's arithmetic
            raise BadRequest("at: within a year of now")
        at_ms = instant_ms(local.date(), local.hour * 60 + local.minute)
    else:
        raise BadRequest("at: epoch milliseconds or a Stockholm time like 2026-12-25T10:00")
    if abs(at_ms - now_ms) > _HORIZON_MS:
        raise BadRequest("at: within a year of now")
    return at_ms


def _place(svc: Services, text: str) -> Place:
    place = place_of(svc.catalogue, text)
    if place is None:
        raise BadRequest("near: no municipality or postcode of the catalogue's regions")
    return place


async def _patient(svc: Services, session: Session, case_id: str) -> Patient:
    """The staff member behind the session (else 403); with a case, its patient's age, home and language."""
    wf = Workflow(svc)
    staff = wf.staff_of(session.principal)
    if not case_id:
        return Patient()
    if not CASE_ID_PATTERN.fullmatch(case_id):
        raise BadRequest("case: not a case id")
    file, _ = await wf.staff_case(staff, case_id, "case.read", "catalogue")
    age = age_in_months(file.patient_pnr, stockholm_date(svc.clock())) // 12
    home = svc.catalogue.get(file.home_unit)
    return Patient(age, home.municipality if home else "", file.lang if file.lang in ("sv", "en") else "sv")


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/staff/catalogue",
        authed(catalogue_search),
        "Care units to refer to: open now or at a time, kind, service, age, nearest first (case: the patient's)",
        who="staff",
        query=CatalogueQuery,
    ),
    Endpoint(
        "GET",
        "/api/staff/catalogue/{unit}",
        authed(catalogue_unit),
        "A care unit's card with the referral message in Swedish and English",
        who="staff",
        query=CardQuery,
    ),
]
