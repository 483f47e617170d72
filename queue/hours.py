"""Opening hours in Europe/Stockholm wall time, with Swedish public holidays.

Hours are written as a clinic writes them on its door (``mon-fri =
"08:00-16:00"``) and mean wall-clock time in Stockholm, so they stay right
across the changes to and from summer time. All functions are pure: the
instant to ask about is a parameter, holidays come from a ``HolidayCalendar``.

Hours are wall-clock hours: a unit is open whenever the Stockholm clock
shows a time inside them. Consequences at the clock changes, decided once here:
- on the spring-forward day, times in the missing hour (02:00-03:00) do not
  happen; an interval that starts in it opens at 03:00, one that lies wholly
  in it does not open that day;
- on the autumn fall-back day, the repeated hour (02:00-03:00) is open or
  closed both times it is shown.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays as holidays_lib

TZ = ZoneInfo("Europe/Stockholm")
DAY_MINUTES = 24 * 60
HORIZON_DAYS = 15  # long enough to span Easter or Christmas plus a weekend

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_GROUPS: dict[str, tuple[int, ...]] = {
    "daily": tuple(range(7)),
    "weekdays": tuple(range(5)),
    "weekend": (5, 6),
}
HOLIDAYS_KEY = "holidays"
_TIME = re.compile(r"^(\d{2}):(\d{2})$")


class HolidayCalendar(Protocol):
    def is_holiday(self, day: dt.date) -> bool: ...


class SwedishHolidays:
    """Swedish holidays from the maintained ``holidays`` library.

    Args:
        categories: ``public`` are the statutory holidays (röda dagar);
            ``de_facto`` adds Midsommarafton, Julafton and Nyårsafton, on which
            clinics are closed as if they were holidays.
    """

    def __init__(self, categories: tuple[str, ...] = ("public", "de_facto")) -> None:
        self._days = holidays_lib.country_holidays("SE", categories=categories, language="sv")

    def is_holiday(self, day: dt.date) -> bool:
        return day in self._days

    def name(self, day: dt.date) -> str | None:
        return self._days.get(day)


@dataclass(frozen=True, order=True)
class Interval:
    """Open from ``start`` to ``end`` minutes after local midnight (end ≤ 1440)."""

    start: int
    end: int

    def contains(self, minute: float) -> bool:
        return self.start <= minute < self.end


@dataclass(frozen=True)
class WeeklyHours:
    """Open intervals for each weekday (Monday first), for holidays, and the
    one-off days the unit is closed (a staff day, a move, a strike)."""

    days: tuple[tuple[Interval, ...], ...]
    on_holidays: tuple[Interval, ...] = ()
    closed_days: frozenset[dt.date] = frozenset()

    def intervals_on(self, day: dt.date, calendar: HolidayCalendar) -> tuple[Interval, ...]:
        if day in self.closed_days:
            return ()
        if calendar.is_holiday(day):
            return self.on_holidays
        return self.days[day.weekday()]

    @property
    def always_closed(self) -> bool:
        return not any(self.days) and not self.on_holidays

    def with_closed_days(self, days: Iterable[dt.date]) -> WeeklyHours:
        """These hours with ``days`` closed as well (the ones already closed stay closed)."""
        extra = frozenset(days)
        return self if extra <= self.closed_days else replace(self, closed_days=self.closed_days | extra)


ALWAYS_OPEN = WeeklyHours(days=((Interval(0, DAY_MINUTES),),) * 7, on_holidays=(Interval(0, DAY_MINUTES),))


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """Parse ``"08:00-12:00, 13:00-16:00"`` or ``"closed"``.

    Raises:
        ValueError: naming what is wrong with the text.
    """
    text = text.strip()
    if text == "closed":
        return ()
    intervals = sorted(_parse_interval(part.strip()) for part in text.split(","))
    for before, after in itertools.pairwise(intervals):
        if after.start < before.end:
            raise ValueError(f"intervals overlap in {text!r}")
    return _merge_touching(intervals)


def _merge_touching(intervals: list[Interval]) -> tuple[Interval, ...]:
    """08:00-12:00 and 12:00-13:00 are one open period, 08:00-13:00."""
    merged: list[Interval] = []
    for interval in intervals:
        if merged and merged[-1].end == interval.start:
            merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return tuple(merged)


def _parse_interval(part: str) -> Interval:
    pieces = part.split("-")
    if len(pieces) != 2:
        raise ValueError(f"{part!r} is not HH:MM-HH:MM or 'closed'")
    start, end = (_parse_time(p.strip()) for p in pieces)
    if end <= start:
        raise ValueError(f"{part!r} ends before it starts")
    return Interval(start, end)


def _parse_time(text: str) -> int:
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time HH:MM")
    hour, minute = int(match[1]), int(match[2])
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"{text!r} is not a time of day (00:00-24:00)")
    return hour * 60 + minute


def parse_weekly(spec: Mapping[str, str]) -> WeeklyHours:
    """Build hours from ``{"mon-fri": "08:00-16:00", "holidays": "closed"}``.

    Keys are weekdays (``mon``…``sun``), ranges (``mon-fri``), ``daily``,
    ``weekdays``, ``weekend`` and ``holidays``; later keys override earlier
    ones for the days they name. Days not named are closed; holidays are closed
    unless ``holidays`` is given.

    Raises:
        ValueError: ``"<key>: <problem>"`` for the first bad entry.
    """
    days: list[tuple[Interval, ...]] = [()] * 7
    on_holidays: tuple[Interval, ...] = ()
    for key, value in spec.items():
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected a string like '08:00-16:00' or 'closed'")
        try:
            intervals = parse_intervals(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
        if key == HOLIDAYS_KEY:
            on_holidays = intervals
            continue
        try:
            indexes = _day_indexes(key)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
        for index in indexes:
            days[index] = intervals
    return WeeklyHours(days=tuple(days), on_holidays=on_holidays)


def _day_indexes(key: str) -> tuple[int, ...]:
    if key in DAY_GROUPS:
        return DAY_GROUPS[key]
    if key in WEEKDAYS:
        return (WEEKDAYS.index(key),)
    first, sep, last = key.partition("-")
    if sep and first in WEEKDAYS and last in WEEKDAYS and WEEKDAYS.index(first) <= WEEKDAYS.index(last):
        return tuple(range(WEEKDAYS.index(first), WEEKDAYS.index(last) + 1))
    allowed = ", ".join([*WEEKDAYS, "mon-fri (a range)", *DAY_GROUPS, HOLIDAYS_KEY])
    raise ValueError(f"unknown day key {key!r}; use {allowed}")


def local_time(at_ms: int) -> dt.datetime:
    """The Stockholm wall-clock time of an instant."""
    return dt.datetime.fromtimestamp(at_ms / 1000, TZ)


def instant_ms(day: dt.date, minute: int, *, fold: int = 0) -> int:
    """The instant (epoch ms) of ``minute`` after local midnight on ``day``.

    ``minute`` may be 1440 (24:00, the next midnight). A wall time inside the
    spring-forward gap moves to the first minute that exists after it.
    """
    day, minute = day + dt.timedelta(days=minute // DAY_MINUTES), minute % DAY_MINUTES
    for shift in range(0, 121):
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute + shift)
        aware = wall.replace(tzinfo=TZ, fold=fold)
        stamp = aware.timestamp()
        if dt.datetime.fromtimestamp(stamp, TZ).replace(tzinfo=None) == wall:
            return round(stamp * 1000)
    raise RuntimeError("unreachable: no time zone has a gap over two hours")


def _minute_of_day(local: dt.datetime) -> float:
    return local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6


def is_open(hours: WeeklyHours, calendar: HolidayCalendar, at_ms: int) -> bool:
    """Whether a unit with these hours is open at ``at_ms``."""
    local = local_time(at_ms)
    minute = _minute_of_day(local)
    return any(iv.contains(minute) for iv in hours.intervals_on(local.date(), calendar))


def next_open_ms(hours: WeeklyHours, calendar: HolidayCalendar, at_ms: int) -> int | None:
    """When the unit is next open: ``at_ms`` itself when open now.

    Returns:
        The opening instant, or None when it does not open within
        ``HORIZON_DAYS`` days.
    """
    if is_open(hours, calendar, at_ms):
        return at_ms
    first_day = local_time(at_ms).date()
    for offset in range(HORIZON_DAYS + 1):
        day = first_day + dt.timedelta(days=offset)
        for interval in hours.intervals_on(day, calendar):
            start = instant_ms(day, interval.start)
            # the is_open check skips an interval that lies wholly in the spring-forward gap
            if start > at_ms and is_open(hours, calendar, start):
                return start
    return None


def closes_at_ms(hours: WeeklyHours, calendar: HolidayCalendar, at_ms: int) -> int | None:
    """When the open period that contains ``at_ms`` ends.

    An interval ending at 24:00 continues into one starting at 00:00 the next
    day. Returns None when the unit is closed at ``at_ms`` or stays open past
    the horizon (a round-the-clock unit).
    """
    local = local_time(at_ms)
    day, minute = local.date(), _minute_of_day(local)
    current = next((iv for iv in hours.intervals_on(day, calendar) if iv.contains(minute)), None)
    if current is None:
        return None
    for _ in range(HORIZON_DAYS):
        if current.end < DAY_MINUTES:
            return _first_after(day, current.end, at_ms)
        day = day + dt.timedelta(days=1)
        following = hours.intervals_on(day, calendar)
        if not following or following[0].start != 0:
            return instant_ms(day, 0)
        current = following[0]
    return None


def _first_after(day: dt.date, minute: int, at_ms: int) -> int:
    """The first occurrence after ``at_ms`` of a wall time (the fall-back hour shows twice)."""
    first = instant_ms(day, minute, fold=0)
    return first if first > at_ms else instant_ms(day, minute, fold=1)
