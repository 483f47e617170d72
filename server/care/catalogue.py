"""The referral catalogue: the region's care units a nurse may send a patient to.

A TOML file (``server/data/catalogue.toml`` by default, ``DIREKT_CATALOGUE``)
lists every unit with its kind, services, opening hours (the waiting room's
hours engine, ``queue/hours.py``), address, phone, web, coordinates and how to
get there, plus a small places table (municipalities with a centroid and their
postcode prefixes) for distances. It is read and checked once at start: every
problem becomes a ``ConfigError`` naming the file, the key and the problem
(``units[3].hours: mon-fri: '8-16' is not HH:MM-HH:MM or 'closed'``).

The catalogue is separate from the chat queues of ``region.toml``: a queue's
unit appears here with the same id, and most units here have no chat queue at
all (an emergency department, a pharmacy).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from direkt.queue.hours import WeeklyHours, parse_weekly
from direkt.queue.model import UnitKind
from direkt.server.errors import ConfigError, read_config_file

DEMO_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "catalogue.toml"

# What a unit is, with its Swedish and English names (the referral message names the kind).
KINDS: Mapping[str, tuple[str, str]] = {
    "primary_care": ("Vårdcentral", "Health centre"),
    UnitKind.ADVICE_1177.value: ("Sjukvårdsrådgivning", "Health advice line"),  # the region's advice service
    "out_of_hours": ("Jourcentral", "Out-of-hours clinic"),
    "emergency": ("Akutmottagning", "Emergency department"),
    "psychiatric_emergency": ("Psykiatrisk akutmottagning", "Psychiatric emergency"),
    "dental_emergency": ("Tandvårdsjour", "Emergency dental care"),
    "maternity": ("Barnmorskemottagning", "Maternity health clinic"),
    "child_health": ("Barnavårdscentral", "Child health centre"),
    "youth_clinic": ("Ungdomsmottagning", "Youth clinic"),
    "pharmacy": ("Apotek", "Pharmacy"),
    "vaccination": ("Vaccinationsmottagning", "Vaccination clinic"),
    "admin": ("Administrativ service", "Administrative service"),
}

# What a unit offers, with Swedish and English names. ``vaccine:*`` are the
# vaccinations a citizen may book (shared with the booking branch).
SERVICES: Mapping[str, tuple[str, str]] = {
    "advice": ("Sjukvårdsrådgivning", "Health advice"),
    "doctor_visit": ("Läkarbesök", "Doctor's appointment"),
    "nurse_visit": ("Sjuksköterskebesök", "Nurse's appointment"),
    "wound_care": ("Såromläggning", "Wound care"),
    "lab": ("Provtagning", "Blood and lab tests"),
    "xray": ("Röntgen", "X-ray"),
    "acute_care": ("Akut vård", "Emergency care"),
    "minor_injuries": ("Mindre skador", "Minor injuries"),
    "mental_health": ("Psykisk hälsa", "Mental health"),
    "psychiatric_emergency": ("Akut psykiatri", "Emergency psychiatry"),
    "dental_pain": ("Akut tandvärk", "Acute toothache"),
    "dental_injury": ("Tandskador", "Dental injuries"),
    "pregnancy": ("Graviditetskontroller", "Pregnancy check-ups"),
    "contraception": ("Preventivmedel", "Contraception"),
    "sti_testing": ("Test för könssjukdomar", "STI testing"),
    "child_checkups": ("Barnhälsovård", "Child health check-ups"),
    "child_vaccination": ("Barnvaccinationer", "Childhood vaccinations"),
    "prescriptions": ("Receptexpedition", "Prescriptions"),
    "medication_advice": ("Läkemedelsrådgivning", "Medication advice"),
    "administration": ("Administrativa ärenden", "Administrative matters"),
    "vaccine:covid19": ("Vaccination mot covid-19", "Covid-19 vaccination"),
    "vaccine:influenza": ("Vaccination mot influensa", "Influenza vaccination"),
    "vaccine:tbe": ("Vaccination mot TBE", "TBE vaccination"),
    "vaccine:pneumococcus": ("Vaccination mot pneumokocker", "Pneumococcal vaccination"),
}

LANGUAGES = ("sv", "en")
MAX_AGE = 130
ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
POSTCODE = re.compile(r"^[1-9][0-9]{2} ?[0-9]{2}$")  # "736 30": three digits, a space, two digits
POSTCODE_PREFIX = re.compile(r"^[1-9][0-9]{2}$")
WEB = re.compile(r"^https://[a-z0-9.-]+(/\S*)?$")
# Sweden's extent, with a margin: a coordinate outside it is a typo (swapped latitude and longitude).
LAT_RANGE = (55.0, 69.2)
LON_RANGE = (10.5, 24.5)


@dataclass(frozen=True)
class CareUnit:
    """One place to refer a patient to."""

    id: str
    region: str
    name: str
    kind: str
    services: frozenset[str]
    hours: WeeklyHours
    address: str
    postcode: str
    city: str
    municipality: str
    phone: str
    web: str
    lat: float
    lon: float
    drop_in: bool
    booking: bool
    directions: Mapping[str, str]  # "sv", "en": bus line, entrance, parking
    min_age: int = 0
    max_age: int = MAX_AGE

    def fits_age(self, age: int) -> bool:
        return self.min_age <= age <= self.max_age


@dataclass(frozen=True)
class Place:
    """A municipality: its centroid and the postcode prefixes (first three digits) inside it."""

    name: str
    region: str
    lat: float
    lon: float
    postcodes: frozenset[str]


@dataclass(frozen=True)
class Catalogue:
    units: tuple[CareUnit, ...]
    places: tuple[Place, ...] = ()
    _by_id: Mapping[str, CareUnit] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._by_id:
            object.__setattr__(self, "_by_id", {u.id: u for u in self.units})

    def get(self, unit_id: str) -> CareUnit | None:
        return self._by_id.get(unit_id)

    def place(self, name: str) -> Place | None:
        """The municipality of this name, any case."""
        folded = name.strip().casefold()
        return next((p for p in self.places if p.name.casefold() == folded), None)

    def place_of_postcode(self, postcode: str) -> Place | None:
        """The municipality a postcode lies in, from its first three digits."""
        digits = postcode.replace(" ", "")
        if not POSTCODE_PREFIX.match(digits[:3]):
            return None
        return next((p for p in self.places if digits[:3] in p.postcodes), None)


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class Directions(_Strict):
    sv: str
    en: str


class UnitSpec(_Strict):
    id: str
    region: str
    name: str
    kind: str
    services: list[str]
    hours: dict[str, str]
    address: str
    postcode: str
    city: str
    municipality: str
    phone: str
    web: str
    lat: float
    lon: float
    directions: Directions
    drop_in: bool = False
    booking: bool = True
    min_age: int = 0
    max_age: int = MAX_AGE
    closed_days: list[dt.date] = msgspec.field(default_factory=list)  # one-off closures, "2026-12-28"


class PlaceSpec(_Strict):
    name: str
    region: str
    lat: float
    lon: float
    postcodes: list[str]


class CatalogueFile(_Strict):
    units: list[UnitSpec]
    places: list[PlaceSpec] = msgspec.field(default_factory=list)


def load_catalogue(path: Path | str) -> Catalogue:
    """Read and check a catalogue file.

    Raises:
        ConfigError: naming the file, the key and the problem.
    """
    return parse_catalogue(read_config_file(path), str(path))


def parse_catalogue(raw: bytes, source: str) -> Catalogue:
    """Decode and check catalogue bytes; ``source`` names them in errors."""
    try:
        spec = msgspec.toml.decode(raw, type=CatalogueFile)
    except msgspec.ValidationError as exc:
        problem, sep, where = str(exc).partition(" - at `$")
        key = where.rstrip("`").lstrip(".") if sep else ""
        raise ConfigError(source, key, problem[:1].lower() + problem[1:]) from None
    except msgspec.DecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML ({exc})") from None
    return _Checker(source).build(spec)


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def build(self, spec: CatalogueFile) -> Catalogue:
        if not spec.units:
            raise self.fail("units", "the catalogue lists at least one unit")
        places = self._places(spec.places)
        self._unique("units", "id", [u.id for u in spec.units])
        units = tuple(self._unit(f"units[{i}]", u, places) for i, u in enumerate(spec.units))
        return Catalogue(units, tuple(places.values()))

    def _unique(self, table: str, name: str, values: Sequence[str]) -> None:
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value.casefold() in seen:
                raise self.fail(f"{table}[{i}].{name}", f"duplicate {name} {value!r}")
            seen.add(value.casefold())

    def _places(self, specs: Sequence[PlaceSpec]) -> dict[str, Place]:
        self._unique("places", "name", [p.name for p in specs])
        owner: dict[str, str] = {}
        places = {}
        for i, p in enumerate(specs):
            at = f"places[{i}]"
            self._coordinates(at, p.lat, p.lon)
            for j, prefix in enumerate(p.postcodes):
                if not POSTCODE_PREFIX.match(prefix):
                    raise self.fail(f"{at}.postcodes[{j}]", f"{prefix!r} is not the first three digits of a postcode")
                if owner.setdefault(prefix, p.name) != p.name:
                    raise self.fail(f"{at}.postcodes[{j}]", f"{prefix!r} already belongs to {owner[prefix]}")
            places[p.name.casefold()] = Place(p.name, p.region, p.lat, p.lon, frozenset(p.postcodes))
        return places

    def _unit(self, at: str, u: UnitSpec, places: Mapping[str, Place]) -> CareUnit:
        self._text(at, u)
        if u.kind not in KINDS:
            raise self.fail(f"{at}.kind", f"unknown kind {u.kind!r}; kinds are {', '.join(KINDS)}")
        for j, service in enumerate(u.services):
            if service not in SERVICES:
                raise self.fail(
                    f"{at}.services[{j}]", f"unknown service {service!r}; services are {', '.join(SERVICES)}"
                )
        try:
            hours = parse_weekly(u.hours).with_closed_days(u.closed_days)
        except ValueError as exc:
            raise self.fail(f"{at}.hours", str(exc)) from None
        if hours.always_closed:
            raise self.fail(f"{at}.hours", "the unit is never open")
        self._coordinates(at, u.lat, u.lon)
        if places and u.municipality.casefold() not in places:
            raise self.fail(f"{at}.municipality", f"{u.municipality!r} is not in the places table")
        if not 0 <= u.min_age <= u.max_age <= MAX_AGE:
            raise self.fail(f"{at}.min_age", f"ages must satisfy 0 ≤ min_age ≤ max_age ≤ {MAX_AGE}")
        directions = {"sv": u.directions.sv.strip(), "en": u.directions.en.strip()}
        return CareUnit(
            u.id, u.region, u.name.strip(), u.kind, frozenset(u.services), hours,
            u.address.strip(), u.postcode, u.city.strip(), u.municipality.strip(), u.phone.strip(), u.web,
            u.lat, u.lon, u.drop_in, u.booking, directions, u.min_age, u.max_age,
        )  # fmt: skip

    def _text(self, at: str, u: UnitSpec) -> None:
        if not ID.match(u.id):
            raise self.fail(f"{at}.id", f"{u.id!r} must be lowercase letters, digits, '-' or '_'")
        if not ID.match(u.region):
            raise self.fail(f"{at}.region", f"{u.region!r} is not a region id")
        for name in ("name", "address", "city", "municipality", "phone"):
            if not getattr(u, name).strip():
                raise self.fail(f"{at}.{name}", "must not be empty")
        if not POSTCODE.match(u.postcode):
            raise self.fail(f"{at}.postcode", f"{u.postcode!r} is not a Swedish postcode like '736 30'")
        if not WEB.match(u.web):
            raise self.fail(f"{at}.web", f"{u.web!r} is not an https:// address")
        if not (u.directions.sv.strip() and u.directions.en.strip()):
            raise self.fail(f"{at}.directions", "directions are given in Swedish (sv) and English (en)")

    def _coordinates(self, at: str, lat: float, lon: float) -> None:
        if not LAT_RANGE[0] <= lat <= LAT_RANGE[1]:
            raise self.fail(f"{at}.lat", f"latitude {lat} is outside Sweden ({LAT_RANGE[0]}–{LAT_RANGE[1]})")
        if not LON_RANGE[0] <= lon <= LON_RANGE[1]:
            raise self.fail(f"{at}.lon", f"longitude {lon} is outside Sweden ({LON_RANGE[0]}–{LON_RANGE[1]})")
