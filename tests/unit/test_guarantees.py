"""Care guarantee deadlines: contact the same day, medical assessment within three days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import at, make_directory

from direkt.queue.guarantees import assessment_deadline_ms, same_day_deadline_ms
from direkt.queue.hours import WeeklyHours, parse_weekly

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = 3_600_000
DAY = 24 * HOUR
DIRECTORY = make_directory()
CALENDAR = DIRECTORY.calendar
CENTRE = DIRECTORY.unit("vc-a1").hours  # mon-fri 08-16, closed on holidays
ADVICE = DIRECTORY.unit("1177-a").hours  # 07-22 every day
ROUND_THE_CLOCK = DIRECTORY.unit("1177-b").hours  # 24/7


def wall(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, STOCKHOLM).isoformat(timespec="minutes")


# Monday 2026-11-23; Friday 2026-11-27; Skärtorsdagen 2026-04-02 is followed by
# Långfredagen, the Easter weekend and Annandag påsk.
@pytest.mark.parametrize(
    ("hours", "submitted", "end_of"),
    [
        pytest.param(CENTRE, "2026-11-23 10:00", "2026-11-23", id="monday-10-end-of-monday"),
        pytest.param(CENTRE, "2026-11-23 07:00", "2026-11-23", id="monday-before-opening-end-of-monday"),
        pytest.param(CENTRE, "2026-11-23 15:59", "2026-11-23", id="monday-1559-end-of-monday"),
        pytest.param(CENTRE, "2026-11-23 16:00", "2026-11-24", id="monday-1600-end-of-tuesday"),
        pytest.param(CENTRE, "2026-11-23 17:00", "2026-11-24", id="monday-17-end-of-tuesday"),
        pytest.param(CENTRE, "2026-11-27 17:00", "2026-11-30", id="friday-17-end-of-monday"),
        pytest.param(CENTRE, "2026-11-28 10:00", "2026-11-30", id="saturday-end-of-monday"),
        pytest.param(CENTRE, "2026-04-02 17:00", "2026-04-07", id="before-easter-end-of-tuesday"),
        pytest.param(CENTRE, "2026-06-19 09:00", "2026-06-22", id="midsommarafton-end-of-monday"),
        pytest.param(CENTRE, "2026-12-23 17:00", "2026-12-28", id="before-christmas-end-of-monday"),
        pytest.param(CENTRE, "2026-12-30 17:00", "2027-01-04", id="before-new-year-end-of-monday"),
        pytest.param(ADVICE, "2026-11-23 23:00", "2026-11-24", id="1177-after-22-end-of-tomorrow"),
        pytest.param(ADVICE, "2026-12-24 12:00", "2026-12-24", id="1177-julafton-same-day"),
        pytest.param(ROUND_THE_CLOCK, "2026-11-23 23:59", "2026-11-23", id="24-7-late-evening-same-day"),
        pytest.param(ROUND_THE_CLOCK, "2026-12-24 03:00", "2026-12-24", id="24-7-julafton-same-day"),
        pytest.param(ROUND_THE_CLOCK, "2026-03-29 10:00", "2026-03-29", id="24-7-spring-forward-day"),
        pytest.param(ROUND_THE_CLOCK, "2026-10-25 10:00", "2026-10-25", id="24-7-fall-back-day"),
    ],
)
def test_same_day_deadline_is_the_end_of_the_day_the_unit_first_answers(
    hours: WeeklyHours, submitted: str, end_of: str
) -> None:
    next_midnight = dt.date.fromisoformat(end_of) + dt.timedelta(days=1)
    expected = at(f"{next_midnight} 00:00")
    assert wall(same_day_deadline_ms(hours, CALENDAR, at(submitted))) == wall(expected)


def test_same_day_deadline_on_summer_time_days_is_local_midnight() -> None:
    spring = same_day_deadline_ms(ROUND_THE_CLOCK, CALENDAR, at("2026-03-29 00:30"))
    autumn = same_day_deadline_ms(ROUND_THE_CLOCK, CALENDAR, at("2026-10-25 00:30"))
    assert spring - at("2026-03-29 00:00") == 23 * HOUR
    assert autumn - at("2026-10-25 00:00") == 25 * HOUR


def test_a_unit_that_never_opens_is_due_at_the_end_of_the_submission_day() -> None:
    never = parse_weekly({})
    assert wall(same_day_deadline_ms(never, CALENDAR, at("2026-11-23 10:00"))) == wall(at("2026-11-24 00:00"))


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        pytest.param("2026-11-23 00:00", "2026-11-27 00:00", id="monday-midnight"),
        pytest.param("2026-11-23 10:00", "2026-11-27 00:00", id="monday-10-end-of-thursday"),
        pytest.param("2026-11-23 23:59", "2026-11-27 00:00", id="monday-2359-end-of-thursday"),
        pytest.param("2026-11-27 17:00", "2026-12-01 00:00", id="friday-counts-the-weekend"),
        pytest.param("2026-12-23 10:00", "2026-12-27 00:00", id="calendar-days-through-christmas"),
        pytest.param("2026-12-30 10:00", "2027-01-03 00:00", id="over-new-year"),
        pytest.param("2026-03-27 12:00", "2026-03-31 00:00", id="across-spring-forward"),
        pytest.param("2026-10-23 12:00", "2026-10-27 00:00", id="across-fall-back"),
    ],
)
def test_assessment_deadline_is_the_end_of_the_third_calendar_day(submitted: str, expected: str) -> None:
    assert wall(assessment_deadline_ms(at(submitted))) == wall(at(expected))


@pytest.mark.parametrize(
    ("submitted", "length_hours"),
    [
        pytest.param("2026-03-27 00:00", 4 * 24 - 1, id="spring-forward-week-is-an-hour-shorter"),
        pytest.param("2026-10-23 00:00", 4 * 24 + 1, id="fall-back-week-is-an-hour-longer"),
        pytest.param("2026-11-23 00:00", 4 * 24, id="ordinary-week"),
    ],
)
def test_assessment_deadline_follows_wall_time_not_fixed_hours(submitted: str, length_hours: int) -> None:
    assert assessment_deadline_ms(at(submitted)) - at(submitted) == length_hours * HOUR


@settings(max_examples=200)
@given(submitted=st.integers(min_value=at("2026-01-01 00:00"), max_value=at("2027-12-31 23:59")))
def test_assessment_deadline_is_always_local_midnight_four_dates_later(submitted: int) -> None:
    deadline = assessment_deadline_ms(submitted)
    local_deadline = dt.datetime.fromtimestamp(deadline / 1000, STOCKHOLM)
    local_submitted = dt.datetime.fromtimestamp(submitted / 1000, STOCKHOLM)
    assert local_deadline.time() == dt.time(0, 0)
    assert local_deadline.date() == local_submitted.date() + dt.timedelta(days=4)
    assert 3 * DAY - HOUR < deadline - submitted <= 4 * DAY + HOUR
