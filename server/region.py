"""Region configuration: a TOML file describing regions, units, opening hours,
overflow rules, staff and phrase templates; validated at start.

The structure is checked by msgspec (types, unknown keys) and the meaning by
the functions below (references, hours, placeholders). Every problem becomes a
``ConfigError`` naming the file, the key (``units[2].hours.mon-fri``) and the
problem, so an operator can fix it without reading code.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from direkt.queue.hours import SwedishHolidays, WeeklyHours, parse_weekly
from direkt.queue.keys import ID_PATTERN
from direkt.queue.model import Directory, OverflowRule, OverflowWhen, Region, Skill, Staff, Unit, UnitKind
from direkt.server.brand import Brand, BrandProblem, BrandSpec, build_brand, check_logo
from direkt.server.errors import ConfigError, read_config_file
from direkt.server.retentionrules import KINDS, RetentionProblem, RetentionRules, build_rules

DEMO_CONFIG = Path(__file__).parent / "data" / "region.toml"
PLACEHOLDERS = frozenset({"first_name", "unit", "nurse_name"})
PROFESSIONS = frozenset(Skill) - {Skill.VACCINATION}
STAFF_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
# Staff identities a region's identity provider may name (docs/identity.md): an HSA-id
# (the national catalogue's "SE" + 10-digit organisation number + "-" + a local part)
# and a user principal name (UPN, e-mail shaped). Matched case-folded.
HSA_ID = re.compile(r"^SE[0-9]{10}-[A-Za-z0-9]{1,31}$", re.IGNORECASE)
UPN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
MAX_PARALLEL_CHATS = 12
# Duties besides chatting: a supervisor watches and steers the units they
# belong to; an administrator edits staff, units and phrases for the region.
STAFF_ROLES = frozenset({"supervisor", "admin"})
PNR_12 = re.compile(r"^(19|20)[0-9]{10}$")
_RULES = RetentionRules()


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class RegionSpec(_Strict):
    name: str


class CalendarSpec(_Strict):
    holidays: list[str] = msgspec.field(default_factory=lambda: ["public", "de_facto"])


class UnitSpec(_Strict):
    id: str
    region: str
    name: str
    kind: UnitKind
    skills: list[Skill]
    hours: dict[str, str]
    fallback: list[str] = msgspec.field(default_factory=list)
    pick_from_list: bool = False
    closed_days: list[dt.date] = msgspec.field(default_factory=list)  # one-off closures, "2026-12-28"
    staff_edit_phrases: bool = True  # staff of the unit may add, edit and delete its phrase templates


class OverflowSpec(_Strict):
    source: str = msgspec.field(name="from")
    target: str = msgspec.field(name="to")
    when: OverflowWhen
    window: dict[str, str] | None = None
    wait_over_min: int | None = None
    skills: list[Skill] | None = None


class StaffSpec(_Strict):
    id: str
    name: str
    profession: Skill
    units: list[str]
    max_chats: int
    skills: list[Skill] | None = None
    password_hash: str | None = None  # argon2 (demo logins); real staff log in with OIDC
    roles: list[str] = msgspec.field(default_factory=list)  # "supervisor", "admin" (STAFF_ROLES)
    active: bool = True  # deactivated staff stay in the file (history, audit) but cannot log in
    hsa_id: str | None = None  # "SE2321000131-P000000001": matched to the staff identity provider's claim
    upn: str | None = None  # "cecilia.berg@region.example": likewise, case-folded


class CitizenSpec(_Strict):
    """A demo citizen: test e-ID logins find their name, phone and listed unit here."""

    pnr: str
    name: str
    home_unit: str
    phone: str | None = None
    children: list[str] = msgspec.field(default_factory=list)


class TemplateText(_Strict):
    sv: str
    en: str


class TemplateSpec(_Strict):
    id: str
    title: str
    text: TemplateText
    tags: list[str] = msgspec.field(default_factory=list)
    unit: str | None = None
    staff: str | None = None


class RetentionSpec(_Strict):
    """Days each kind of data is kept (``retentionrules.RetentionRules``, whose defaults these are)."""

    transcripts: int = _RULES.transcripts
    case_files: int = _RULES.case_files
    photos: int = _RULES.photos
    bookings: int = _RULES.bookings
    queue_records: int = _RULES.queue_records
    triage_sessions: int = _RULES.triage_sessions
    event_log: int = _RULES.event_log
    audit: int = _RULES.audit


class RegionFile(_Strict):
    regions: dict[str, RegionSpec]
    units: list[UnitSpec]
    staff: list[StaffSpec] = msgspec.field(default_factory=list)
    overflow: list[OverflowSpec] = msgspec.field(default_factory=list)
    templates: list[TemplateSpec] = msgspec.field(default_factory=list)
    calendar: CalendarSpec = msgspec.field(default_factory=CalendarSpec)
    citizens: list[CitizenSpec] = msgspec.field(default_factory=list)
    default_home_unit: str | None = None
    brand: BrandSpec = msgspec.field(default_factory=BrandSpec)
    retention: RetentionSpec = msgspec.field(default_factory=RetentionSpec)


@dataclass(frozen=True)
class PhraseTemplate:
    """A ready-made text; ``unit`` None means every unit, ``staff`` set means personal."""

    id: str
    title: str
    text_sv: str
    text_en: str
    tags: tuple[str, ...]
    unit: str | None
    staff: str | None


@dataclass(frozen=True)
class Citizen:
    pnr: str
    name: str
    home_unit: str
    phone: str | None
    children: tuple[str, ...]

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""


@dataclass(frozen=True)
class RegionConfig:
    path: Path
    directory: Directory
    templates: tuple[PhraseTemplate, ...]
    citizens: Mapping[str, Citizen] = field(default_factory=dict)
    staff_passwords: Mapping[str, str] = field(default_factory=dict)
    default_home_unit: str = ""
    brand: Brand = field(default_factory=lambda: build_brand(BrandSpec()))
    retention: RetentionRules = field(default_factory=RetentionRules)
    spec: RegionFile | None = None  # the document it was built from (administration edits and exports it)
    staff_logins: Mapping[str, str] = field(default_factory=dict)  # login_key(id, HSA-id or UPN) -> staff id

    def staff_by_login(self, claim: str) -> Staff | None:
        """The active staff member an identity provider's claim names: their id, HSA-id or UPN, any case."""
        staff_id = self.staff_logins.get(login_key(claim))
        return self.directory.staff.get(staff_id) if staff_id else None

    def unit_phrases_editable(self, unit_id: str) -> bool:
        """Whether staff of the unit may change its phrase templates (``staff_edit_phrases``)."""
        found = next((u for u in self.spec.units if u.id == unit_id), None) if self.spec else None
        return found.staff_edit_phrases if found else True

    def guardians_of(self, child_pnr: str) -> list[str]:
        return [c.pnr for c in self.citizens.values() if child_pnr in c.children]


def login_key(value: str) -> str:
    """How staff identities compare: trimmed and case-folded (``Cecilia.Berg@Region.example``)."""
    return value.strip().casefold()


def load_region_config(path: Path | str) -> RegionConfig:
    """Read, decode and validate a region configuration file.

    Raises:
        ConfigError: naming the file, the key and the problem.
    """
    return parse_region_config(read_config_file(path), str(path))


def check_brand_files(config: RegionConfig, client_dir: Path) -> None:
    """At start, where the client directory is known: the brand's logo is a file in it.

    Raises:
        ConfigError: ``brand.logo`` names no file there.
    """
    try:
        check_logo(config.brand, client_dir)
    except BrandProblem as exc:
        raise ConfigError(str(config.path), exc.key, exc.problem) from None


def parse_region_config(raw: bytes, source: str) -> RegionConfig:
    """Validate configuration bytes; ``source`` names them in errors."""
    try:
        spec = msgspec.toml.decode(raw, type=RegionFile)
    except msgspec.ValidationError as exc:
        key, problem = _split_msgspec_error(str(exc))
        raise ConfigError(source, key, problem) from None
    except msgspec.DecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML ({exc})") from None
    return build_region_config(spec, source)


def build_region_config(spec: RegionFile, source: str) -> RegionConfig:
    """Validate a decoded configuration document (from a file, or from Redis); ``source`` names it in errors.

    Raises:
        ConfigError: naming the source, the key and the problem.
    """
    return _Validator(source).build(spec)


def _split_msgspec_error(message: str) -> tuple[str, str]:
    problem, sep, where = message.partition(" - at `$")
    key = where.rstrip("`").lstrip(".") if sep else ""
    return key, problem[:1].lower() + problem[1:]


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, key, problem)

    def build(self, spec: RegionFile) -> RegionConfig:
        regions = self._regions(spec)
        units = self._units(spec.units, regions)
        overflow = tuple(self._overflow(i, o, units) for i, o in enumerate(spec.overflow))
        staff = self._staff(spec.staff, units)
        every_staff = {s.id for s in spec.staff}  # a deactivated member's personal templates stay theirs
        templates = tuple(self._template(i, t, units, every_staff) for i, t in enumerate(spec.templates))
        self._unique("templates", [t.id for t in templates])
        calendar = self._calendar(spec.calendar)
        directory = Directory(regions=regions, units=units, staff=staff, overflow=overflow, calendar=calendar)
        citizens = self._citizens(spec.citizens, units)
        passwords = {s.id: s.password_hash for s in spec.staff if s.password_hash and s.active}
        for i, s in enumerate(spec.staff):
            if s.password_hash is not None and not s.password_hash.startswith("$argon2"):
                raise self.fail(f"staff[{i}].password_hash", "must be an argon2 hash (direkt passwd makes one)")
        home = spec.default_home_unit or next((u.id for u in units.values() if u.kind is UnitKind.ADVICE_1177), "")
        if home not in units:
            raise self.fail("default_home_unit", f"unknown unit {home!r}")
        try:
            brand = build_brand(spec.brand)
        except BrandProblem as exc:
            raise self.fail(exc.key, exc.problem) from None
        try:
            retention = build_rules({kind: getattr(spec.retention, kind) for kind in KINDS})
        except RetentionProblem as exc:
            raise self.fail(exc.key, exc.problem) from None
        logins = self._staff_logins(spec.staff, staff)
        return RegionConfig(
            Path(self.source), directory, templates, citizens, passwords, home, brand, retention, spec, logins
        )

    def _staff_logins(self, specs: Sequence[StaffSpec], active: Mapping[str, Staff]) -> dict[str, str]:
        """Every identity a staff login may name, unique across staff (deactivated members too)."""
        owner: dict[str, str] = {}
        for i, s in enumerate(specs):
            for name, value, pattern in (("hsa_id", s.hsa_id, HSA_ID), ("upn", s.upn, UPN)):
                if value is not None and not pattern.match(value):
                    raise self.fail(
                        f"staff[{i}].{name}", f"{value!r} is not {'an HSA-id' if name == 'hsa_id' else 'a UPN'}"
                    )
            for name, value in (("id", s.id), ("hsa_id", s.hsa_id), ("upn", s.upn)):
                if value is None:
                    continue
                key = login_key(value)
                if owner.get(key, s.id) != s.id:
                    raise self.fail(f"staff[{i}].{name}", f"{value!r} already names staff member {owner[key]!r}")
                owner[key] = s.id
        return {key: staff_id for key, staff_id in owner.items() if staff_id in active}

    def _citizens(self, specs: Sequence[CitizenSpec], units: dict[str, Unit]) -> dict[str, Citizen]:
        self._unique_by("citizens", "pnr", [c.pnr for c in specs])
        citizens = {}
        for i, c in enumerate(specs):
            at = f"citizens[{i}]"
            for key, pnr in [("pnr", c.pnr), *((f"children[{j}]", p) for j, p in enumerate(c.children))]:
                if not PNR_12.match(pnr):
                    raise self.fail(f"{at}.{key}", "a personal identity number is 12 digits, YYYYMMDDNNNC")
            if c.home_unit not in units:
                raise self.fail(f"{at}.home_unit", f"unknown unit {c.home_unit!r}")
            citizens[c.pnr] = Citizen(c.pnr, c.name, c.home_unit, c.phone, tuple(c.children))
        return citizens

    def _regions(self, spec: RegionFile) -> dict[str, Region]:
        if not spec.regions:
            raise self.fail("regions", "at least one region is required")
        for region_id in spec.regions:
            self._check_id(f"regions.{region_id}", region_id)
        return {rid: Region(rid, r.name) for rid, r in spec.regions.items()}

    def _units(self, specs: Sequence[UnitSpec], regions: dict[str, Region]) -> dict[str, Unit]:
        if not specs:
            raise self.fail("units", "at least one unit is required")
        self._unique("units", [u.id for u in specs])
        ids = {u.id for u in specs}
        units = {}
        for i, u in enumerate(specs):
            at = f"units[{i}]"
            self._check_id(f"{at}.id", u.id)
            if u.region not in regions:
                raise self.fail(f"{at}.region", f"unknown region {u.region!r}; regions are {sorted(regions)}")
            if not u.skills:
                raise self.fail(f"{at}.skills", "a unit serves at least one skill")
            for j, target in enumerate(u.fallback):
                if target not in ids:
                    raise self.fail(f"{at}.fallback[{j}]", f"unknown unit {target!r}")
            hours = self._hours(f"{at}.hours", u.hours).with_closed_days(u.closed_days)
            if hours.always_closed:
                raise self.fail(f"{at}.hours", "the unit is never open")
            units[u.id] = Unit(
                u.id, u.region, u.name, u.kind, frozenset(u.skills), hours, tuple(u.fallback), u.pick_from_list
            )
        return units

    def _overflow(self, i: int, o: OverflowSpec, units: dict[str, Unit]) -> OverflowRule:
        at = f"overflow[{i}]"
        for name, unit_id in (("from", o.source), ("to", o.target)):
            if unit_id not in units:
                raise self.fail(f"{at}.{name}", f"unknown unit {unit_id!r}")
        if o.source == o.target:
            raise self.fail(at, "a unit cannot overflow to itself")
        if o.when is OverflowWhen.BUSY and (o.wait_over_min is None or o.wait_over_min <= 0):
            raise self.fail(f"{at}.wait_over_min", "a 'busy' rule needs wait_over_min > 0 (minutes)")
        window = self._hours(f"{at}.window", o.window) if o.window is not None else None
        skills = frozenset(o.skills) if o.skills is not None else None
        return OverflowRule(o.source, o.target, o.when, window, (o.wait_over_min or 0) * 60_000, skills)

    def _staff(self, specs: Sequence[StaffSpec], units: dict[str, Unit]) -> dict[str, Staff]:
        self._unique("staff", [s.id for s in specs])
        staff = {}
        for i, s in enumerate(specs):
            at = f"staff[{i}]"
            if not STAFF_ID.match(s.id):
                raise self.fail(f"{at}.id", f"{s.id!r} must be lowercase letters, digits, '.', '_' or '-'")
            if s.profession not in PROFESSIONS:
                raise self.fail(f"{at}.profession", f"{s.profession!s} is a skill, not a profession")
            roles = self._roles(at, s.roles)
            if not s.units and "admin" not in roles:
                raise self.fail(f"{at}.units", "a staff member serves at least one unit")
            for j, unit_id in enumerate(s.units):
                if unit_id not in units:
                    raise self.fail(f"{at}.units[{j}]", f"unknown unit {unit_id!r}")
            lowest = 0 if roles else 1  # a supervisor or administrator may take no chats
            if not lowest <= s.max_chats <= MAX_PARALLEL_CHATS:
                raise self.fail(f"{at}.max_chats", f"must be between {lowest} and {MAX_PARALLEL_CHATS}")
            skills = frozenset(s.skills if s.skills is not None else [s.profession])
            served = frozenset().union(*(units[u].skills for u in s.units))
            if s.units and not skills & served:
                raise self.fail(f"{at}.skills", "none of the staff member's units serves these skills")
            if s.active:  # the directory holds only who may work now
                staff[s.id] = Staff(s.id, s.name, s.profession, tuple(s.units), skills, s.max_chats, roles)
        return staff

    def _roles(self, at: str, roles: Sequence[str]) -> frozenset[str]:
        for j, role in enumerate(roles):
            if role not in STAFF_ROLES:
                raise self.fail(f"{at}.roles[{j}]", f"unknown role {role!r}; use {sorted(STAFF_ROLES)}")
        return frozenset(roles)

    def _template(self, i: int, t: TemplateSpec, units: dict[str, Unit], staff: set[str]) -> PhraseTemplate:
        at = f"templates[{i}]"
        if t.unit is not None and t.unit not in units:
            raise self.fail(f"{at}.unit", f"unknown unit {t.unit!r}")
        if t.staff is not None and t.staff not in staff:
            raise self.fail(f"{at}.staff", f"unknown staff member {t.staff!r}")
        for lang, text in (("sv", t.text.sv), ("en", t.text.en)):
            if not text.strip():
                raise self.fail(f"{at}.text.{lang}", "the text is empty")
            self._check_placeholders(f"{at}.text.{lang}", text)
        return PhraseTemplate(t.id, t.title, t.text.sv, t.text.en, tuple(t.tags), t.unit, t.staff)

    def _check_placeholders(self, key: str, text: str) -> None:
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            raise self.fail(key, f"broken placeholder ({exc})") from None
        if any(spec or conv for _, spec, conv in fields):
            raise self.fail(key, "placeholders are plain names, without a format spec or conversion")
        unknown = {name for name, _, _ in fields} - PLACEHOLDERS
        if unknown:
            raise self.fail(key, f"unknown placeholder {{{sorted(unknown)[0]}}}; use {sorted(PLACEHOLDERS)}")

    def _calendar(self, spec: CalendarSpec) -> SwedishHolidays:
        allowed = ("public", "de_facto", "bank", "optional")
        for i, category in enumerate(spec.holidays):
            if category not in allowed:
                raise self.fail(f"calendar.holidays[{i}]", f"unknown category {category!r}; use {list(allowed)}")
        return SwedishHolidays(tuple(spec.holidays))

    def _hours(self, key: str, spec: dict[str, str]) -> WeeklyHours:
        try:
            return parse_weekly(spec)
        except ValueError as exc:
            sub, _, problem = str(exc).partition(": ")
            raise self.fail(f"{key}.{sub}", problem) from None

    def _check_id(self, key: str, value: str) -> None:
        if not ID_PATTERN.match(value):
            raise self.fail(key, f"{value!r} must be lowercase letters, digits and '-' (at most 63)")

    def _unique(self, key: str, ids: Sequence[str]) -> None:
        self._unique_by(key, "id", ids)

    def _unique_by(self, key: str, field_name: str, ids: Sequence[str]) -> None:
        seen: set[str] = set()
        for i, value in enumerate(ids):
            if value in seen:
                raise self.fail(f"{key}[{i}].{field_name}", f"duplicate {field_name} {value!r}")
            seen.add(value)
