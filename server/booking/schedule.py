"""Schedules as data and the time slots they give: the pure core of booking.

A unit's schedule is a list of sessions: for one profession and one mode (video or physical),
weekly hours as a clinic writes them (``mon-fri = "08:30-11:30"``, ``queue/hours.py``) cut into
slots of ``slot_minutes``. Exceptions: dates a unit (or one profession there) is closed, and
extra sessions on one date. Public holidays are closed unless the hours say ``holidays``.

Slots are Stockholm wall time, so a 09:00 slot is 09:00 on both sides of a change to or from
summer time. A slot whose start does not exist on the spring-forward day (02:00-03:00) is not
given; on the fall-back day a start in the repeated hour is given once (its first occurrence).
A slot lasts ``slot_minutes`` real minutes.

Everything here is pure: the file is parsed by ``load_schedules``, the instant and the holiday
calendar are parameters.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from direkt.queue.hours import (
    HolidayCalendar,
    Interval,
    WeeklyHours,
    instant_ms,
    local_time,
    parse_intervals,
    parse_weekly,
)
from direkt.queue.keys import ID_PATTERN
from direkt.queue.model import Skill
from direkt.server.errors import ConfigError

MODES = ("video", "physical")
DEFAULT_SCHEDULES = Path(__file__).resolve().parent.parent / "data" / "schedules.toml"
MAX_DAYS = 62  # the longest range of days one question may ask for


@dataclass(frozen=True)
class Session:
    """Weekly hours of one profession in one mode at one unit; ``staff`` does these visits (optional)."""

    unit: str
    profession: str
    mode: str
    hours: WeeklyHours
    slot_minutes: int
    staff: str = ""


@dataclass(frozen=True)
class Extra:
    """A one-off session on ``day`` (an extra clinic, a vaccination evening)."""

    unit: str
    profession: str
    mode: str
    day: dt.date
    intervals: tuple[Interval, ...]
    slot_minutes: int
    staff: str = ""


@dataclass(frozen=True)
class Closure:
    """``unit`` closed on ``days``: for every profession, or for ``profession`` only."""

    unit: str
    days: frozenset[dt.date]
    profession: str = ""


@dataclass(frozen=True, order=True)
class Slot:
    start_ms: int
    end_ms: int
    unit: str
    profession: str
    mode: str
    staff: str = ""

    @property
    def key(self) -> str:
        """The slot's field in its unit's slot map: one booking per profession, mode and start."""
        return slot_key(self.profession, self.mode, self.start_ms)


def slot_key(profession: str, mode: str, start_ms: int) -> str:
    return f"{profession}:{mode}:{start_ms}"


@dataclass(frozen=True)
class Schedules:
    sessions: tuple[Session, ...] = ()
    extras: tuple[Extra, ...] = ()
    closures: tuple[Closure, ...] = ()
    units: frozenset[str] = field(default_factory=frozenset)

    def offers(self, unit: str) -> list[tuple[str, str]]:
        """The (profession, mode) pairs a unit books, in the file's order."""
        pairs = [(s.profession, s.mode) for s in self.sessions if s.unit == unit]
        pairs += [(e.profession, e.mode) for e in self.extras if e.unit == unit]
        return list(dict.fromkeys(pairs))

    def closed(self, unit: str, profession: str, day: dt.date) -> bool:
        return any(c.unit == unit and (not c.profession or c.profession == profession) and day in c.days
                   for c in self.closures)  # fmt: skip


def slots(
    schedules: Schedules,
    calendar: HolidayCalendar,
    unit: str,
    profession: str,
    mode: str,
    from_ms: int,
    to_ms: int,
) -> list[Slot]:
    """Every slot of ``unit``'s ``profession`` in ``mode`` that starts in [from_ms, to_ms), by start."""
    found: set[Slot] = set()
    for day in _days(from_ms, to_ms):
        if schedules.closed(unit, profession, day):
            continue
        for session in schedules.sessions:
            if (session.unit, session.profession, session.mode) == (unit, profession, mode):
                intervals = session.hours.intervals_on(day, calendar)
                found.update(_cut(day, intervals, session.slot_minutes, session, session.staff))
        for extra in schedules.extras:
            if (extra.unit, extra.profession, extra.mode, extra.day) == (unit, profession, mode, day):
                found.update(_cut(day, extra.intervals, extra.slot_minutes, extra, extra.staff))
    by_key = {s.key: s for s in sorted(found, reverse=True)}  # overlapping sessions: one slot per start
    return sorted(s for s in by_key.values() if from_ms <= s.start_ms < to_ms)


def find_slot(
    schedules: Schedules, calendar: HolidayCalendar, unit: str, profession: str, mode: str, start_ms: int
) -> Slot | None:
    """The slot starting at ``start_ms`` exactly, or None when the schedule has none."""
    for slot in slots(schedules, calendar, unit, profession, mode, start_ms, start_ms + 1):
        if slot.start_ms == start_ms:
            return slot
    return None


def _days(from_ms: int, to_ms: int) -> Iterator[dt.date]:
    """Local days that may hold a start in [from_ms, to_ms) (the day before too: a slot over midnight)."""
    day, last = local_time(from_ms).date(), local_time(max(from_ms, to_ms - 1)).date()
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _cut(
    day: dt.date, intervals: Iterable[Interval], minutes: int, source: Session | Extra, staff: str
) -> Iterator[Slot]:
    for interval in intervals:
        minute = interval.start
        while minute + minutes <= interval.end:
            start = instant_ms(day, minute)
            local = local_time(start)
            if local.date() == day and local.hour * 60 + local.minute == minute:  # not in the spring gap
                yield Slot(start, start + minutes * 60_000, source.unit, source.profession, source.mode, staff)
            minute += minutes


# -- the file ------------------------------------------------------------------------------


def load_schedules(path: Path, units: Iterable[str], *, only_known: bool = False) -> Schedules:
    """Read a schedules file; every unit must be one of ``units`` (``only_known``: entries of
    other units are left out, so the demo schedules serve any region that has some of their units).

    Raises:
        ConfigError: naming the file, the entry and the problem.
    """
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), "", str(exc)) from None
    known = frozenset(units)
    if only_known:
        doc = {name: [e for e in _list(doc, name, str(path)) if e.get("unit") in known] for name in doc}
    return parse_schedules(doc, known, str(path))


def parse_schedules(doc: Mapping[str, Any], units: frozenset[str], where: str = "schedules") -> Schedules:
    sessions = tuple(_session(s, units, where, f"schedule[{i}]") for i, s in enumerate(_list(doc, "schedule", where)))
    extras = tuple(_extra(e, units, where, f"extra[{i}]") for i, e in enumerate(_list(doc, "extra", where)))
    closures = tuple(_closure(c, units, where, f"closed[{i}]") for i, c in enumerate(_list(doc, "closed", where)))
    unknown = set(doc) - {"schedule", "extra", "closed"}
    if unknown:
        raise ConfigError(where, sorted(unknown)[0], "unknown section; use schedule, extra and closed")
    _check_staff_overlaps(sessions, extras, where)
    named = {s.unit for s in sessions} | {e.unit for e in extras}
    return Schedules(sessions, extras, closures, frozenset(named))


def _overlap(a: Iterable[Interval], b: Iterable[Interval]) -> bool:
    return any(x.start < y.end and y.start < x.end for x in a for y in b)


def _check_staff_overlaps(sessions: Sequence[Session], extras: Sequence[Extra], where: str) -> None:
    """One person is in one place at a time: sessions (at any units, in any modes) of the same named
    staff member must not overlap, or she could be booked twice for the same minutes.

    Raises:
        ConfigError: naming the two entries.
    """
    for i, a in enumerate(sessions):
        for j, b in enumerate(sessions[:i]):
            if (
                a.staff
                and a.staff == b.staff
                and (
                    any(_overlap(x, y) for x, y in zip(a.hours.days, b.hours.days, strict=True))
                    or _overlap(a.hours.on_holidays, b.hours.on_holidays)
                )
            ):
                raise ConfigError(where, f"schedule[{i}].staff", f"{a.staff} is also booked then in schedule[{j}]")
    for i, e in enumerate(extras):
        for j, s in enumerate(sessions):
            weekday = s.hours.days[e.day.weekday()] + s.hours.on_holidays  # a holiday or not: either may apply
            if e.staff and e.staff == s.staff and _overlap(e.intervals, weekday):
                raise ConfigError(where, f"extra[{i}].staff", f"{e.staff} is also booked then in schedule[{j}]")
        for j, f in enumerate(extras[:i]):
            if e.staff and e.staff == f.staff and e.day == f.day and _overlap(e.intervals, f.intervals):
                raise ConfigError(where, f"extra[{i}].staff", f"{e.staff} is also booked then in extra[{j}]")


def _list(doc: Mapping[str, Any], name: str, where: str) -> Sequence[Mapping[str, Any]]:
    value = doc.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(where, name, f"write it as [[{name}]] tables")
    return value


def _common(
    raw: Mapping[str, Any], units: frozenset[str], where: str, key: str, allowed: set[str]
) -> tuple[str, str, str, int, str]:
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(where, f"{key}.{sorted(unknown)[0]}", "unknown field")
    unit, profession, mode = raw.get("unit"), raw.get("profession"), raw.get("mode")
    if unit not in units:
        raise ConfigError(where, f"{key}.unit", f"{unit!r} is not a unit of the region configuration")
    if profession not in {s.value for s in Skill}:
        raise ConfigError(where, f"{key}.profession", f"{profession!r} is not one of {[s.value for s in Skill]}")
    if mode not in MODES:
        raise ConfigError(where, f"{key}.mode", f"use one of {list(MODES)}")
    minutes = raw.get("slot_minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 5 <= minutes <= 240:
        raise ConfigError(where, f"{key}.slot_minutes", "a whole number of minutes, 5 to 240")
    staff = raw.get("staff", "")
    if not isinstance(staff, str):
        raise ConfigError(where, f"{key}.staff", "a staff id")
    return str(unit), str(profession), str(mode), minutes, staff


def _session(raw: Mapping[str, Any], units: frozenset[str], where: str, key: str) -> Session:
    allowed = {"unit", "profession", "mode", "hours", "slot_minutes", "staff"}
    unit, profession, mode, minutes, staff = _common(raw, units, where, key, allowed)
    hours = raw.get("hours")
    if not isinstance(hours, dict):
        raise ConfigError(where, f"{key}.hours", 'write hours as { mon-fri = "08:30-11:30" }')
    try:
        weekly = parse_weekly(hours)
    except ValueError as exc:
        raise ConfigError(where, f"{key}.hours", str(exc)) from None
    return Session(unit, profession, mode, weekly, minutes, staff)


def _extra(raw: Mapping[str, Any], units: frozenset[str], where: str, key: str) -> Extra:
    allowed = {"unit", "profession", "mode", "date", "times", "slot_minutes", "staff"}
    unit, profession, mode, minutes, staff = _common(raw, units, where, key, allowed)
    day = raw.get("date")
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise ConfigError(where, f"{key}.date", "a date, e.g. 2026-12-28 (no quotes)")
    try:
        intervals = parse_intervals(str(raw.get("times", "")))
    except ValueError as exc:
        raise ConfigError(where, f"{key}.times", str(exc)) from None
    return Extra(unit, profession, mode, day, intervals, minutes, staff)


def _closure(raw: Mapping[str, Any], units: frozenset[str], where: str, key: str) -> Closure:
    unknown = set(raw) - {"unit", "dates", "profession"}
    if unknown:
        raise ConfigError(where, f"{key}.{sorted(unknown)[0]}", "unknown field")
    unit, days, profession = raw.get("unit"), raw.get("dates"), raw.get("profession", "")
    if unit not in units:
        raise ConfigError(where, f"{key}.unit", f"{unit!r} is not a unit of the region configuration")
    if not isinstance(days, list) or not all(isinstance(d, dt.date) and not isinstance(d, dt.datetime) for d in days):
        raise ConfigError(where, f"{key}.dates", "a list of dates, e.g. [2026-12-28]")
    if profession and profession not in {s.value for s in Skill}:
        raise ConfigError(where, f"{key}.profession", f"{profession!r} is not a profession")
    return Closure(str(unit), frozenset(days), str(profession))


def check_unit_id(unit: str) -> bool:
    return bool(ID_PATTERN.fullmatch(unit))
