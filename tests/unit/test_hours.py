"""Opening hours in Stockholm wall time: weekdays, Swedish holidays, summer time, parsing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import at

from direkt.queue.hours import (
    ALWAYS_OPEN,
    Interval,
    SwedishHolidays,
    WeeklyHours,
    closes_at_ms,
    instant_ms,
    is_open,
    next_open_ms,
    parse_intervals,
    parse_weekly,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MINUTE = 60_000
HOUR = 60 * MINUTE
CALENDAR = SwedishHolidays()

CENTRE = parse_weekly({"mon-fri": "08:00-16:00"})  # vårdcentral, closed on holidays
ADVICE = parse_weekly({"daily": "07:00-22:00", "holidays": "07:00-22:00"})  # 1177, open on holidays
NIGHTS = parse_weekly({"daily": "00:00-07:00, 22:00-24:00"})
LUNCH_BREAK = parse_weekly({"mon-fri": "08:00-12:00, 13:00-16:00", "sat": "10:00-14:00"})
WEEKEND = parse_weekly({"fri": "18:00-24:00", "sat-sun": "00:00-24:00", "mon": "00:00-07:00"})
NEVER = parse_weekly({})


def wall(ms: int | None) -> str | None:
    """Stockholm wall time with its UTC offset: readable and exact in failures."""
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, STOCKHOLM).isoformat(timespec="milliseconds")


def utc(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


# --- is_open -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "when", "expected"),
    [
        pytest.param(CENTRE, "2026-11-23 07:59", False, id="centre-mon-0759-closed"),
        pytest.param(CENTRE, "2026-11-23 08:00", True, id="centre-mon-0800-open"),
        pytest.param(CENTRE, "2026-11-23 12:00", True, id="centre-mon-noon-open"),
        pytest.param(CENTRE, "2026-11-23 15:59", True, id="centre-mon-1559-open"),
        pytest.param(CENTRE, "2026-11-23 15:59:59.999", True, id="centre-mon-last-ms-open"),
        pytest.param(CENTRE, "2026-11-23 16:00", False, id="centre-mon-1600-closed"),
        pytest.param(CENTRE, "2026-11-23 19:00", False, id="centre-evening-closed"),
        pytest.param(CENTRE, "2026-11-24 03:00", False, id="centre-night-closed"),
        pytest.param(CENTRE, "2026-11-27 15:59", True, id="centre-fri-1559-open"),
        pytest.param(CENTRE, "2026-11-28 10:00", False, id="centre-sat-closed"),
        pytest.param(CENTRE, "2026-11-29 10:00", False, id="centre-sun-closed"),
        pytest.param(ADVICE, "2026-11-23 06:59", False, id="1177-0659-closed"),
        pytest.param(ADVICE, "2026-11-23 07:00", True, id="1177-0700-open"),
        pytest.param(ADVICE, "2026-11-23 21:59", True, id="1177-2159-open"),
        pytest.param(ADVICE, "2026-11-23 22:00", False, id="1177-2200-closed"),
        pytest.param(ADVICE, "2026-11-28 10:00", True, id="1177-sat-open"),
        pytest.param(ADVICE, "2026-11-29 21:30", True, id="1177-sun-evening-open"),
        pytest.param(NIGHTS, "2026-11-23 23:59", True, id="nights-before-midnight-open"),
        pytest.param(NIGHTS, "2026-11-24 00:00", True, id="nights-midnight-open"),
        pytest.param(NIGHTS, "2026-11-24 07:00", False, id="nights-morning-closed"),
        pytest.param(LUNCH_BREAK, "2026-11-23 12:30", False, id="lunch-break-closed"),
        pytest.param(LUNCH_BREAK, "2026-11-23 13:00", True, id="after-lunch-open"),
        pytest.param(ALWAYS_OPEN, "2026-12-24 03:00", True, id="always-open-julafton-night"),
        pytest.param(NEVER, "2026-11-23 10:00", False, id="no-hours-never-open"),
    ],
)
def test_is_open_on_ordinary_days(hours: WeeklyHours, when: str, expected: bool) -> None:
    assert is_open(hours, CALENDAR, at(when)) is expected


HOLIDAYS_2026 = [
    pytest.param("2026-01-01", "Nyårsdagen", id="nyarsdagen"),
    pytest.param("2026-01-06", "Trettondedag jul", id="trettondedag-jul"),
    pytest.param("2026-04-03", "Långfredagen", id="langfredagen"),
    pytest.param("2026-04-05", "Påskdagen", id="paskdagen"),
    pytest.param("2026-04-06", "Annandag påsk", id="annandag-pask"),
    pytest.param("2026-05-01", "Första maj", id="forsta-maj"),
    pytest.param("2026-05-14", "Kristi himmelsfärd", id="kristi-himmelsfard"),
    pytest.param("2026-06-06", "Nationaldagen", id="nationaldagen"),
    pytest.param("2026-06-19", "Midsommarafton", id="midsommarafton-de-facto"),
    pytest.param("2026-06-20", "Midsommardagen", id="midsommardagen"),
    pytest.param("2026-10-31", "Alla helgons dag", id="alla-helgons-dag"),
    pytest.param("2026-12-24", "Julafton", id="julafton-de-facto"),
    pytest.param("2026-12-25", "Juldagen", id="juldagen"),
    pytest.param("2026-12-26", "Annandag jul", id="annandag-jul"),
    pytest.param("2026-12-31", "Nyårsafton", id="nyarsafton-de-facto"),
]


@pytest.mark.parametrize(("day", "name"), HOLIDAYS_2026)
def test_swedish_holidays_close_primary_care_and_1177_keeps_its_holiday_hours(day: str, name: str) -> None:
    date = dt.date.fromisoformat(day)
    assert CALENDAR.is_holiday(date)
    assert name in (CALENDAR.name(date) or "")
    assert not is_open(CENTRE, CALENDAR, at(f"{day} 10:00"))
    assert is_open(ADVICE, CALENDAR, at(f"{day} 07:00"))
    assert is_open(ADVICE, CALENDAR, at(f"{day} 21:59"))
    assert not is_open(ADVICE, CALENDAR, at(f"{day} 22:00"))


@pytest.mark.parametrize(
    "day",
    [
        pytest.param("2026-04-02", id="skartorsdagen"),
        pytest.param("2026-04-07", id="tuesday-after-easter"),
        pytest.param("2026-05-15", id="friday-after-kristi-himmelsfard"),
        pytest.param("2026-06-18", id="day-before-midsommarafton"),
        pytest.param("2026-12-23", id="day-before-julafton"),
        pytest.param("2026-12-28", id="monday-after-christmas"),
    ],
)
def test_ordinary_weekdays_next_to_holidays_are_open(day: str) -> None:
    assert not CALENDAR.is_holiday(dt.date.fromisoformat(day))
    assert is_open(CENTRE, CALENDAR, at(f"{day} 10:00"))


@pytest.mark.parametrize(
    "day",
    [
        pytest.param("2026-06-19", id="midsommarafton"),
        pytest.param("2026-12-24", id="julafton"),
        pytest.param("2026-12-31", id="nyarsafton"),
    ],
)
def test_de_facto_holidays_need_the_de_facto_category(day: str) -> None:
    public_only = SwedishHolidays(("public",))
    assert not public_only.is_holiday(dt.date.fromisoformat(day))
    assert is_open(CENTRE, public_only, at(f"{day} 10:00"))
    assert not is_open(CENTRE, CALENDAR, at(f"{day} 10:00"))


def test_holiday_hours_replace_the_weekday_hours() -> None:
    short_on_holidays = parse_weekly({"daily": "07:00-22:00", "holidays": "10:00-14:00"})
    julafton = "2026-12-24"
    assert not is_open(short_on_holidays, CALENDAR, at(f"{julafton} 08:00"))
    assert is_open(short_on_holidays, CALENDAR, at(f"{julafton} 10:00"))
    assert not is_open(short_on_holidays, CALENDAR, at(f"{julafton} 14:00"))
    assert is_open(short_on_holidays, CALENDAR, at("2026-12-23 08:00"))


def test_a_closure_day_closes_the_unit_all_day_and_moves_the_next_opening() -> None:
    centre = parse_weekly({"mon-fri": "08:00-16:00"}).with_closed_days([dt.date(2026, 12, 28)])
    assert not is_open(centre, CALENDAR, at("2026-12-28 10:00"))  # a Monday, closed for a staff day
    assert is_open(centre, CALENDAR, at("2026-12-29 10:00"))
    assert next_open_ms(centre, CALENDAR, at("2026-12-28 07:00")) == at("2026-12-29 08:00")
    assert centre.with_closed_days([dt.date(2026, 12, 28)]) is centre


# --- next_open_ms ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "when", "expected"),
    [
        pytest.param(CENTRE, "2026-11-23 10:00", "2026-11-23 10:00", id="open-now-is-now"),
        pytest.param(CENTRE, "2026-11-23 07:00", "2026-11-23 08:00", id="early-morning-same-day"),
        pytest.param(CENTRE, "2026-11-23 07:59:59.999", "2026-11-23 08:00", id="last-ms-before-opening"),
        pytest.param(CENTRE, "2026-11-23 16:00", "2026-11-24 08:00", id="closing-time-next-morning"),
        pytest.param(CENTRE, "2026-11-23 23:30", "2026-11-24 08:00", id="night-next-morning"),
        pytest.param(CENTRE, "2026-11-27 16:30", "2026-11-30 08:00", id="friday-evening-to-monday"),
        pytest.param(CENTRE, "2026-11-28 12:00", "2026-11-30 08:00", id="saturday-to-monday"),
        pytest.param(CENTRE, "2026-04-02 16:30", "2026-04-07 08:00", id="easter-skartorsdag-to-tuesday"),
        pytest.param(CENTRE, "2026-04-04 12:00", "2026-04-07 08:00", id="easter-paskafton-to-tuesday"),
        pytest.param(CENTRE, "2026-05-13 16:30", "2026-05-15 08:00", id="over-kristi-himmelsfard"),
        pytest.param(CENTRE, "2026-06-18 16:30", "2026-06-22 08:00", id="over-midsommar"),
        pytest.param(CENTRE, "2026-12-23 16:30", "2026-12-28 08:00", id="christmas-to-monday"),
        pytest.param(CENTRE, "2026-12-30 16:30", "2027-01-04 08:00", id="new-year-to-monday"),
        pytest.param(ADVICE, "2026-11-23 22:00", "2026-11-24 07:00", id="1177-after-22"),
        pytest.param(ADVICE, "2026-12-24 06:00", "2026-12-24 07:00", id="1177-julafton-morning"),
        pytest.param(LUNCH_BREAK, "2026-11-23 12:00", "2026-11-23 13:00", id="after-lunch"),
        pytest.param(LUNCH_BREAK, "2026-11-27 16:00", "2026-11-28 10:00", id="saturday-hours"),
        pytest.param(ALWAYS_OPEN, "2026-12-31 23:59", "2026-12-31 23:59", id="always-open-now"),
    ],
)
def test_next_open(hours: WeeklyHours, when: str, expected: str) -> None:
    assert wall(next_open_ms(hours, CALENDAR, at(when))) == wall(at(expected))


def test_next_open_is_none_when_the_unit_never_opens() -> None:
    assert next_open_ms(NEVER, CALENDAR, at("2026-11-23 10:00")) is None


def test_next_open_is_none_beyond_the_planning_horizon() -> None:
    once_a_year_on_holidays_only = parse_weekly({"holidays": "10:00-12:00"})
    # From Första maj evening, the next holiday is Kristi himmelsfärd 13 days later...
    assert wall(next_open_ms(once_a_year_on_holidays_only, CALENDAR, at("2026-05-01 13:00"))) == wall(
        at("2026-05-14 10:00")
    )
    # ...but from Alla helgons dag the next one is Julafton, 54 days later.
    assert next_open_ms(once_a_year_on_holidays_only, CALENDAR, at("2026-10-31 13:00")) is None


# --- closes_at_ms ------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "when", "expected"),
    [
        pytest.param(CENTRE, "2026-11-23 08:00", "2026-11-23 16:00", id="centre-from-opening"),
        pytest.param(CENTRE, "2026-11-23 15:59", "2026-11-23 16:00", id="centre-last-minute"),
        pytest.param(CENTRE, "2026-11-23 17:00", None, id="centre-closed-none"),
        pytest.param(CENTRE, "2026-12-24 10:00", None, id="centre-julafton-none"),
        pytest.param(ADVICE, "2026-12-24 21:00", "2026-12-24 22:00", id="1177-julafton-evening"),
        pytest.param(LUNCH_BREAK, "2026-11-23 09:00", "2026-11-23 12:00", id="until-lunch"),
        pytest.param(NIGHTS, "2026-11-23 23:00", "2026-11-24 07:00", id="over-midnight-is-one-period"),
        pytest.param(NIGHTS, "2026-11-24 00:30", "2026-11-24 07:00", id="after-midnight"),
        pytest.param(WEEKEND, "2026-11-27 19:00", "2026-11-30 07:00", id="fri-evening-to-monday-morning"),
        pytest.param(
            parse_weekly({"mon": "20:00-24:00"}), "2026-11-23 21:00", "2026-11-24 00:00", id="24-00-then-closed"
        ),
        pytest.param(
            parse_weekly({"daily": "00:00-24:00"}),
            "2026-12-22 10:00",
            "2026-12-24 00:00",
            id="round-the-clock-until-julafton",
        ),
        pytest.param(ALWAYS_OPEN, "2026-11-23 10:00", None, id="always-open-none"),
        pytest.param(ALWAYS_OPEN, "2026-12-24 10:00", None, id="always-open-holiday-none"),
    ],
)
def test_closes_at(hours: WeeklyHours, when: str, expected: str | None) -> None:
    expected_ms = None if expected is None else at(expected)
    assert wall(closes_at_ms(hours, CALENDAR, at(when))) == wall(expected_ms)


def test_adjacent_intervals_are_one_open_period() -> None:
    hours = parse_weekly({"mon-fri": "08:00-12:00, 12:00-13:00"})
    assert is_open(hours, CALENDAR, at("2026-11-23 12:00"))
    assert wall(closes_at_ms(hours, CALENDAR, at("2026-11-23 10:00"))) == wall(at("2026-11-23 13:00"))


# --- summer time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "expected_utc"),
    [
        pytest.param("2026-01-12 06:00", "2026-01-12 07:00", id="winter-0800-is-0700-utc"),
        pytest.param("2026-06-15 06:00", "2026-06-15 06:00", id="summer-0800-is-0600-utc"),
        pytest.param("2026-03-28 12:00", "2026-03-30 06:00", id="monday-after-spring-forward"),
        pytest.param("2026-10-24 12:00", "2026-10-26 07:00", id="monday-after-fall-back"),
    ],
)
def test_opening_follows_stockholm_wall_time_across_summer_time(before: str, expected_utc: str) -> None:
    assert wall(next_open_ms(CENTRE, CALENDAR, at(before))) == wall(utc(expected_utc))


def test_an_opening_inside_the_spring_forward_gap_opens_at_0300_summer_time() -> None:
    hours = parse_weekly({"sun": "02:30-05:00"})
    opens = next_open_ms(hours, CALENDAR, at("2026-03-29 01:00"))
    assert wall(opens) == "2026-03-29T03:00:00.000+02:00"
    assert opens == utc("2026-03-29 01:00")
    assert opens is not None
    assert is_open(hours, CALENDAR, opens)
    assert not is_open(hours, CALENDAR, opens - 1)


def test_spring_forward_day_is_an_hour_shorter_for_a_round_the_clock_unit() -> None:
    hours = parse_weekly({"sun": "00:00-24:00"})
    assert is_open(hours, CALENDAR, utc("2026-03-29 00:59"))  # 01:59 CET
    assert is_open(hours, CALENDAR, utc("2026-03-29 01:00"))  # 03:00 CEST
    assert closes_at_ms(hours, CALENDAR, at("2026-03-29 01:00")) == at("2026-03-30 00:00")
    assert at("2026-03-30 00:00") - at("2026-03-29 00:00") == 23 * HOUR


def test_fall_back_opening_is_the_first_0230_and_closing_the_first_after_the_instant() -> None:
    opening = parse_weekly({"sun": "02:30-05:00"})
    assert wall(next_open_ms(opening, CALENDAR, at("2026-10-25 01:00"))) == "2026-10-25T02:30:00.000+02:00"
    closing = parse_weekly({"sun": "01:00-02:30"})
    assert wall(closes_at_ms(closing, CALENDAR, at("2026-10-25 01:30"))) == "2026-10-25T02:30:00.000+02:00"


def test_fall_back_night_is_an_hour_longer() -> None:
    opens = next_open_ms(CENTRE, CALENDAR, at("2026-10-23 16:00"))
    assert opens is not None
    assert opens - at("2026-10-23 16:00") == (2 * 24 + 16 + 1) * HOUR  # Fri 16:00 -> Mon 08:00, plus the extra hour


@pytest.mark.parametrize(
    ("spec", "first_pass", "second_pass"),
    [
        pytest.param("01:00-04:00", True, True, id="hours-around-the-repeated-hour"),
        pytest.param("03:00-05:00", False, False, id="hours-after-the-repeated-hour"),
        pytest.param("00:00-02:30", True, True, id="closing-inside-the-repeated-hour"),
    ],
)
def test_fall_back_repeated_hour_follows_the_wall_clock_both_times(
    spec: str, first_pass: bool, second_pass: bool
) -> None:
    """Documented rule: the repeated 02:00-03:00 is open or closed both times it is shown."""
    hours = parse_weekly({"sun": spec})
    assert is_open(hours, CALENDAR, utc("2026-10-25 00:15")) is first_pass  # 02:15 CEST
    assert is_open(hours, CALENDAR, utc("2026-10-25 01:15")) is second_pass  # 02:15 CET


def test_a_closing_in_the_repeated_hour_closes_at_its_next_showing() -> None:
    hours = parse_weekly({"sun": "00:00-02:30"})
    assert wall(closes_at_ms(hours, CALENDAR, utc("2026-10-25 00:10"))) == "2026-10-25T02:30:00.000+02:00"
    assert wall(closes_at_ms(hours, CALENDAR, utc("2026-10-25 01:10"))) == "2026-10-25T02:30:00.000+01:00"


def test_next_open_skips_an_interval_that_does_not_exist_that_day() -> None:
    hours = parse_weekly({"sun": "02:00-02:30"})
    opens = next_open_ms(hours, CALENDAR, at("2026-03-29 01:00"))
    assert opens is not None
    assert is_open(hours, CALENDAR, opens)
    # not 2026-04-05 either: that Sunday is Easter Day, a holiday
    assert wall(opens) == wall(at("2026-04-12 02:00"))


def test_instant_ms_moves_a_gap_time_forward_and_picks_the_occurrence_in_the_repeated_hour() -> None:
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    assert wall(instant_ms(spring, 2 * 60 + 30)) == "2026-03-29T03:00:00.000+02:00"
    assert wall(instant_ms(autumn, 2 * 60 + 30)) == "2026-10-25T02:30:00.000+02:00"
    assert wall(instant_ms(autumn, 2 * 60 + 30, fold=1)) == "2026-10-25T02:30:00.000+01:00"
    assert wall(instant_ms(autumn, 24 * 60)) == "2026-10-26T00:00:00.000+01:00"


# --- properties --------------------------------------------------------------

SAMPLE_HOURS = st.sampled_from([CENTRE, ADVICE, NIGHTS, LUNCH_BREAK, WEEKEND, ALWAYS_OPEN])
# Boundary wall times are drawn often; any other minute and millisecond too.
BOUNDARY_MINUTES = [0, 2 * 60, 2 * 60 + 30, 3 * 60, 7 * 60, 8 * 60, 12 * 60, 13 * 60, 16 * 60, 18 * 60, 22 * 60]


@st.composite
def instants(draw: st.DrawFn) -> int:
    day = draw(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31)))
    minute = draw(st.one_of(st.sampled_from(BOUNDARY_MINUTES), st.integers(0, 24 * 60 - 1)))
    nudge = draw(st.sampled_from([0, 0, -1, 1, -MINUTE]) | st.integers(0, MINUTE - 1))
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    return at(local.isoformat(sep=" ")) + nudge


@settings(max_examples=300, deadline=None)
@given(hours=SAMPLE_HOURS, t=instants())
def test_next_open_is_the_first_open_instant(hours: WeeklyHours, t: int) -> None:
    opens = next_open_ms(hours, CALENDAR, t)
    assert opens is not None
    if is_open(hours, CALENDAR, t):
        assert opens == t
        return
    assert opens > t
    assert is_open(hours, CALENDAR, opens)
    span = opens - t
    probes = {opens - 1, opens - MINUTE, t + span // 2, t + span // 3, t + 2 * span // 3}
    assert [wall(p) for p in sorted(probes) if t <= p < opens and is_open(hours, CALENDAR, p)] == []


@settings(max_examples=300, deadline=None)
@given(hours=SAMPLE_HOURS, t=instants())
def test_closes_at_ends_the_open_period(hours: WeeklyHours, t: int) -> None:
    closes = closes_at_ms(hours, CALENDAR, t)
    if not is_open(hours, CALENDAR, t):
        assert closes is None
        return
    if hours is ALWAYS_OPEN:
        assert closes is None
        return
    assert closes is not None
    assert closes > t
    assert not is_open(hours, CALENDAR, closes)
    span = closes - t
    probes = {closes - 1, closes - MINUTE, t + span // 2, t + span // 3}
    assert [wall(p) for p in sorted(probes) if t <= p < closes and not is_open(hours, CALENDAR, p)] == []


# --- parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("closed", (), id="closed"),
        pytest.param("  closed ", (), id="closed-padded"),
        pytest.param("08:00-16:00", (Interval(480, 960),), id="one-interval"),
        pytest.param("00:00-24:00", (Interval(0, 1440),), id="whole-day"),
        pytest.param("13:00-16:00, 08:00-12:00", (Interval(480, 720), Interval(780, 960)), id="sorted"),
        pytest.param("08:00 - 12:00,13:00-16:00", (Interval(480, 720), Interval(780, 960)), id="spaces"),
    ],
)
def test_parse_intervals(text: str, expected: tuple[Interval, ...]) -> None:
    assert parse_intervals(text) == expected


def test_parse_weekly_day_keys_groups_and_overrides() -> None:
    hours = parse_weekly({"daily": "07:00-22:00", "weekend": "10:00-14:00", "wed": "closed", "thu-fri": "08:00-12:00"})
    expected_by_day = [
        (Interval(420, 1320),),  # mon
        (Interval(420, 1320),),  # tue
        (),  # wed
        (Interval(480, 720),),  # thu
        (Interval(480, 720),),  # fri
        (Interval(600, 840),),  # sat
        (Interval(600, 840),),  # sun
    ]
    assert list(hours.days) == expected_by_day
    assert hours.on_holidays == ()


def test_parse_weekly_holidays_closed_unless_given() -> None:
    assert parse_weekly({"weekdays": "08:00-16:00"}) == CENTRE
    assert not is_open(parse_weekly({"daily": "00:00-24:00"}), CALENDAR, at("2026-12-25 12:00"))
    assert is_open(parse_weekly({"holidays": "00:00-24:00"}), CALENDAR, at("2026-12-25 12:00"))


PARSE_ERRORS = [
    pytest.param({"mon": "8:00-16:00"}, "mon", "'8:00' is not a time HH:MM", id="bad-time-format"),
    pytest.param({"mon": "08:00-25:00"}, "mon", "'25:00' is not a time of day", id="hour-25"),
    pytest.param({"mon": "08:60-09:00"}, "mon", "'08:60' is not a time of day", id="minute-60"),
    pytest.param({"mon": "08:00-24:01"}, "mon", "'24:01' is not a time of day", id="after-24-00"),
    pytest.param({"tue": "16:00-08:00"}, "tue", "ends before it starts", id="end-before-start"),
    pytest.param({"tue": "08:00-08:00"}, "tue", "ends before it starts", id="empty-interval"),
    pytest.param({"fri": "08:00-12:00, 11:00-13:00"}, "fri", "intervals overlap", id="overlap"),
    pytest.param({"fri": "08:00-16:00, 08:00-16:00"}, "fri", "intervals overlap", id="duplicate"),
    pytest.param({"sat": "08:00"}, "sat", "is not HH:MM-HH:MM or 'closed'", id="no-end"),
    pytest.param({"sat": ""}, "sat", "is not HH:MM-HH:MM or 'closed'", id="empty-text"),
    pytest.param({"sat": "08:00-12:00,"}, "sat", "is not HH:MM-HH:MM or 'closed'", id="trailing-comma"),
    pytest.param({"holidays": "stängt"}, "holidays", "is not HH:MM-HH:MM or 'closed'", id="swedish-closed"),
    pytest.param({"mon": 8}, "mon", "expected a string", id="non-string-int"),
    pytest.param({"mon": None}, "mon", "expected a string", id="non-string-none"),
]
UNKNOWN_DAY_KEYS = [
    pytest.param({"monday": "08:00-16:00"}, "monday", id="full-day-name"),
    pytest.param({"mån": "08:00-16:00"}, "mån", id="swedish-day-name"),
    pytest.param({"fri-mon": "08:00-16:00"}, "fri-mon", id="backwards-range"),
    pytest.param({"mon-funday": "08:00-16:00"}, "mon-funday", id="bad-range-end"),
]


@pytest.mark.parametrize(("spec", "key", "problem"), PARSE_ERRORS)
def test_parse_weekly_errors_name_the_key_and_the_problem(spec: dict[str, str], key: str, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_weekly(spec)
    message = str(caught.value)
    assert message.startswith(f"{key}: ")
    assert problem in message


@pytest.mark.parametrize(("spec", "key"), UNKNOWN_DAY_KEYS)
def test_parse_weekly_unknown_day_key_is_named_with_the_accepted_keys(spec: dict[str, str], key: str) -> None:
    with pytest.raises(ValueError, match=f"unknown day key '{key}'") as caught:
        parse_weekly(spec)
    for accepted in ("mon", "sun", "mon-fri", "daily", "weekdays", "weekend", "holidays"):
        assert accepted in str(caught.value)


@pytest.mark.parametrize(("spec", "key"), UNKNOWN_DAY_KEYS[:1])
def test_parse_weekly_unknown_day_key_message_has_the_documented_shape(spec: dict[str, str], key: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_weekly(spec)
    assert str(caught.value).startswith(f"{key}: unknown day key")
