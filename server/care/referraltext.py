"""The referral message a nurse sends into the chat: where to go, when it is open, how to get there.

Built from the catalogue, in Swedish or English, as plain text the nurse may
edit in the composer before sending it as her own message. The hours are
today's (holidays and one-off closures included), the week's, the holiday rule,
and the days of the coming week that differ from the usual week (juldagen,
a closure). Pure: the instant and the calendar are parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Sequence

import holidays as holidays_lib

from direkt.queue.hours import DAY_MINUTES, HolidayCalendar, Interval, local_time
from direkt.server.care.catalogue import KINDS, CareUnit

LOOKAHEAD_DAYS = 7

_DAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_SHORT_DAYS = {
    "sv": ("mån", "tis", "ons", "tor", "fre", "lör", "sön"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}  # fmt: skip
_WORDS = {
    "sv": {
        "intro": "Jag hänvisar dig till {name} ({kind}).",
        "address": "Adress: {address}, {postcode} {city}",
        "today": "Öppet i dag, {day}: {hours}",
        "week": "Öppettider: {week}.",
        "holidays": "Helgdagar: {hours}.",
        "differs": "Observera {day}{name}: {hours}",
        "phone": "Telefon: {phone}",
        "web": "Webb: {web}",
        "directions": "Hitta hit: {directions}",
        "drop_in": "Du kan komma utan att boka tid.",
        "booking": "Besök bokas: ring eller boka på webben.",
        "closed": "stängt",
        "always": "dygnet runt",
    },
    "en": {
        "intro": "I am referring you to {name} ({kind}).",
        "address": "Address: {address}, {postcode} {city}",
        "today": "Open today, {day}: {hours}",
        "week": "Opening hours: {week}.",
        "holidays": "Public holidays: {hours}.",
        "differs": "Please note {day}{name}: {hours}",
        "phone": "Phone: {phone}",
        "web": "Web: {web}",
        "directions": "Getting there: {directions}",
        "drop_in": "You can come without an appointment.",
        "booking": "Visits are booked: call or book on the web.",
        "closed": "closed",
        "always": "open 24 hours",
    },
}


@functools.cache
def _holiday_names(lang: str) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays(
        "SE", categories=("public", "de_facto"), language="sv" if lang == "sv" else "en_US"
    )


def holiday_name(day: dt.date, lang: str) -> str | None:
    """The Swedish holiday on ``day`` in ``lang`` ("juldagen", "Christmas Day"), or None."""
    name = _holiday_names(lang).get(day)
    if not name:
        return None
    return str(name).lower() if lang == "sv" else str(name)  # "juldagen" mid-sentence; "Christmas Day"


def hours_text(intervals: Sequence[Interval], lang: str) -> str:
    """``08:00–12:00, 13:00–16:00``; "stängt" when closed; "dygnet runt" for the whole day."""
    if not intervals:
        return _WORDS[lang]["closed"]
    if intervals == (Interval(0, DAY_MINUTES),):
        return _WORDS[lang]["always"]
    return ", ".join(f"{_clock(iv.start)}–{_clock(iv.end)}" for iv in intervals)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def week_text(days: Sequence[Sequence[Interval]], lang: str) -> str:
    """The usual week, consecutive days with the same hours joined: ``mån–fre 08:00–16:00, lör–sön stängt``."""
    parts = []
    index = 0
    for hours, group in itertools.groupby(days, key=tuple):
        length = len(list(group))
        first, last = _SHORT_DAYS[lang][index], _SHORT_DAYS[lang][index + length - 1]
        parts.append(f"{first if length == 1 else f'{first}–{last}'} {hours_text(hours, lang)}")
        index += length
    return ", ".join(parts)


def day_text(day: dt.date, lang: str) -> str:
    """``måndag 7 december`` / ``Monday 7 December``."""
    return f"{_DAYS[lang][day.weekday()]} {day.day} {_MONTHS[lang][day.month - 1]}"


def differing_days(
    unit: CareUnit, calendar: HolidayCalendar, today: dt.date, days: int = LOOKAHEAD_DAYS
) -> list[dt.date]:
    """The days from tomorrow on whose hours are not the usual week's (a holiday, a closure)."""
    coming = (today + dt.timedelta(days=n) for n in range(1, days + 1))
    return [d for d in coming if unit.hours.intervals_on(d, calendar) != unit.hours.days[d.weekday()]]


def referral_text(
    unit: CareUnit,
    calendar: HolidayCalendar,
    now_ms: int,
    lang: str,
    names: Callable[[dt.date, str], str | None] = holiday_name,
) -> str:
    """The referral message in ``lang`` ("sv" or "en"; another is taken as "sv")."""
    lang = lang if lang in _WORDS else "sv"
    words, today = _WORDS[lang], local_time(now_ms).date()
    kind = KINDS[unit.kind][0 if lang == "sv" else 1]
    today_hours = hours_text(unit.hours.intervals_on(today, calendar), lang)
    today_name = _named(names(today, lang)) if calendar.is_holiday(today) else ""
    lines = [
        words["intro"].format(name=unit.name, kind=kind.lower() if lang == "sv" else kind),
        words["address"].format(address=unit.address, postcode=unit.postcode, city=unit.city),
        words["today"].format(day=day_text(today, lang) + today_name, hours=today_hours),
        words["week"].format(week=week_text(unit.hours.days, lang)),
        words["holidays"].format(hours=hours_text(unit.hours.on_holidays, lang)),
    ]
    for day in differing_days(unit, calendar, today):
        name = _named(names(day, lang)) if calendar.is_holiday(day) else ""
        hours = hours_text(unit.hours.intervals_on(day, calendar), lang)
        lines.append(words["differs"].format(day=day_text(day, lang), name=name, hours=hours))
    lines += [
        words["phone"].format(phone=unit.phone),
        words["web"].format(web=unit.web),
        words["directions"].format(directions=unit.directions[lang]),
        words["drop_in"] if unit.drop_in else words["booking"] if unit.booking else "",
    ]
    return "\n".join(line for line in lines if line)


def _named(name: str | None) -> str:
    return f" ({name})" if name else ""
