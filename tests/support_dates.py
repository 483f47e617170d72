"""Dates for tests that ask about a holiday: computed from today, so they pass in any year.

The catalogue refuses a time more than 400 days from now, so a test cannot name a fixed
Christmas: it takes the next juldagen (today's, until it has passed) and working days around it.
"""

from __future__ import annotations

import datetime as dt

from direkt.queue.hours import TZ, SwedishHolidays

SV_DAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
SV_SHORT_DAYS = ("mån", "tis", "ons", "tor", "fre", "lör", "sön")


def today() -> dt.date:
    return dt.datetime.now(TZ).date()


def next_christmas(day: dt.date | None = None) -> dt.date:
    """The next juldagen (25 December) on or after ``day`` (today in Stockholm)."""
    day = day or today()
    christmas = dt.date(day.year, 12, 25)
    return christmas if christmas >= day else dt.date(day.year + 1, 12, 25)


def working_day(day: dt.date, step: int) -> dt.date:
    """The nearest Monday–Friday that is no holiday (nor julafton or nyårsafton), from ``day`` by ``step`` days."""
    calendar = SwedishHolidays()
    while day.weekday() >= 5 or calendar.is_holiday(day):
        day += dt.timedelta(days=step)
    return day


def before_christmas(christmas: dt.date) -> dt.date:
    """A working day before juldagen (a Tuesday 22 December in 2026)."""
    return working_day(christmas - dt.timedelta(days=3), -1)


def after_christmas(christmas: dt.date) -> dt.date:
    """The first working day after juldagen (Monday 28 December in 2026)."""
    return working_day(christmas + dt.timedelta(days=1), 1)


def at(day: dt.date, time: str = "10:00") -> str:
    """``2026-12-25T10:00``: the form an ``<input type=datetime-local>`` sends."""
    return f"{day.isoformat()}T{time}"
