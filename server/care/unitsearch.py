"""Finding a care unit to refer a patient to: pure filters over the referral catalogue.

A search asks for units open now or at a given time (the region's holiday
calendar included: a health centre is closed on juldagen while the emergency
department is open), of a kind, giving a service, taking a patient of an age,
and orders them by distance from where the patient lives (a municipality or a
postcode, through the catalogue's places table) and then by name in Swedish
order. The instant and the calendar are parameters: no clock in here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from direkt.queue.hours import HolidayCalendar, closes_at_ms, is_open, next_open_ms
from direkt.server.care.catalogue import CareUnit, Catalogue, Place
from direkt.server.care.transfers import swedish_key

EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
_POSTCODE = re.compile(r"^[0-9]{3} ?[0-9]{0,2}$")


@dataclass(frozen=True)
class UnitFilter:
    """What the nurse asks for; empty or None means "any"."""

    at_ms: int
    open_only: bool = False
    kind: str = ""
    service: str = ""
    age: int | None = None
    near: Place | None = None
    region: str = ""


@dataclass(frozen=True)
class Found:
    """A unit that fits, with its opening at the asked time and its distance from the patient."""

    unit: CareUnit
    open: bool
    opens_ms: int | None  # the next opening when closed (None: open, or not within the horizon)
    closes_ms: int | None  # when the open period ends (None: closed, or open round the clock)
    distance_km: float | None  # None without a place to measure from


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def place_of(catalogue: Catalogue, text: str) -> Place | None:
    """The place a nurse typed: a postcode ("736 30", "73630", "736") or a municipality's name."""
    text = text.strip()
    if _POSTCODE.match(text):
        return catalogue.place_of_postcode(text)
    return catalogue.place(text)


def fits(unit: CareUnit, query: UnitFilter) -> bool:
    """Whether a unit matches the query's kind, service, age and region (opening is asked apart)."""
    return (
        (not query.kind or unit.kind == query.kind)
        and (not query.service or query.service in unit.services)
        and (query.age is None or unit.fits_age(query.age))
        and (not query.region or unit.region == query.region)
    )


def find_units(units: Iterable[CareUnit], calendar: HolidayCalendar, query: UnitFilter) -> list[Found]:
    """The units that fit ``query``, nearest first and then by name (Swedish order).

    Returns:
        One ``Found`` per unit; only open ones (at ``query.at_ms``) when ``open_only``.
    """
    found = [found_unit(u, calendar, query.at_ms, query.near) for u in units if fits(u, query)]
    if query.open_only:
        found = [f for f in found if f.open]
    return sorted(found, key=_order)


def found_unit(unit: CareUnit, calendar: HolidayCalendar, at_ms: int, near: Place | None = None) -> Found:
    open_now = is_open(unit.hours, calendar, at_ms)
    distance = haversine_km(near.lat, near.lon, unit.lat, unit.lon) if near else None
    return Found(
        unit,
        open_now,
        None if open_now else next_open_ms(unit.hours, calendar, at_ms),
        closes_at_ms(unit.hours, calendar, at_ms) if open_now else None,
        distance,
    )


def _order(found: Found) -> tuple[float, str, str]:
    # Distances are rounded to 100 m: two units in the same building sort by name, not by metres.
    distance = round(found.distance_km, 1) if found.distance_km is not None else 0.0
    return distance, swedish_key(found.unit.name), found.unit.id
