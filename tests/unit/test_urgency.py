"""Urgency levels: contact deadlines, earliest-deadline-first order, parsing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import at

from direkt.queue.urgency import DAY_MS, HOUR_MS, MAX_WAIT_MS, MINUTE_MS, Urgency, deadline_ms

MONDAY_10 = at("2026-11-23 10:00")
LEVELS = st.sampled_from(list(Urgency))
# Submission instants over two years, to the millisecond.
INSTANTS = st.integers(min_value=at("2026-01-01 00:00"), max_value=at("2027-12-31 23:59"))


@pytest.mark.parametrize(
    ("urgency", "max_wait_ms", "expected"),
    [
        pytest.param(Urgency.IMMEDIATE, 15 * MINUTE_MS, "2026-11-23 10:15", id="immediate-15min"),
        pytest.param(Urgency.URGENT, HOUR_MS, "2026-11-23 11:00", id="urgent-1h"),
        pytest.param(Urgency.SOON, 4 * HOUR_MS, "2026-11-23 14:00", id="soon-4h"),
        pytest.param(Urgency.TODAY, 12 * HOUR_MS, "2026-11-23 22:00", id="today-12h"),
        pytest.param(Urgency.DAYS, 3 * DAY_MS, "2026-11-26 10:00", id="days-3d"),
    ],
)
def test_deadline_is_submission_plus_the_levels_maximum_wait(urgency: Urgency, max_wait_ms: int, expected: str) -> None:
    assert urgency.max_wait_ms == max_wait_ms
    assert deadline_ms(MONDAY_10, urgency) == at(expected)


def test_every_level_has_a_maximum_wait_and_more_urgent_levels_wait_less() -> None:
    assert set(MAX_WAIT_MS) == set(Urgency)
    by_wait = sorted(Urgency, key=lambda u: u.max_wait_ms)
    assert by_wait == sorted(Urgency)  # IMMEDIATE (1) first, DAYS (5) last
    assert len({u.max_wait_ms for u in Urgency}) == len(Urgency)


@pytest.mark.parametrize(
    ("routine", "urgent", "expected_first"),
    [
        pytest.param(
            ("2026-11-23 10:00", Urgency.DAYS),
            ("2026-11-23 10:00", Urgency.IMMEDIATE),
            "urgent",
            id="same-submission-urgent-first",
        ),
        pytest.param(
            ("2026-11-23 10:00", Urgency.TODAY),
            ("2026-11-23 21:44", Urgency.IMMEDIATE),
            "urgent",
            id="routine-not-yet-due-urgent-first",
        ),
        pytest.param(
            ("2026-11-23 10:00", Urgency.TODAY),
            ("2026-11-23 21:46", Urgency.IMMEDIATE),
            "routine",
            id="routine-waited-12h-beats-fresh-immediate",
        ),
        pytest.param(
            ("2026-11-23 10:00", Urgency.DAYS),
            ("2026-11-26 09:01", Urgency.URGENT),
            "routine",
            id="three-day-case-beats-urgent-an-hour-before-its-deadline",
        ),
    ],
)
def test_earliest_deadline_first_order(
    routine: tuple[str, Urgency], urgent: tuple[str, Urgency], expected_first: str
) -> None:
    deadlines = {
        "routine": deadline_ms(at(routine[0]), routine[1]),
        "urgent": deadline_ms(at(urgent[0]), urgent[1]),
    }
    assert min(deadlines, key=deadlines.__getitem__) == expected_first


@settings(max_examples=200)
@given(submitted=INSTANTS, first=LEVELS, second=LEVELS)
def test_submitted_together_the_more_urgent_case_is_served_first(
    submitted: int, first: Urgency, second: Urgency
) -> None:
    if first == second:
        assert deadline_ms(submitted, first) == deadline_ms(submitted, second)
    else:
        more, less = sorted((first, second))
        assert deadline_ms(submitted, more) < deadline_ms(submitted, less)


@settings(max_examples=200)
@given(
    routine_at=INSTANTS,
    routine=LEVELS,
    fresh=LEVELS,
    extra_wait_ms=st.integers(min_value=1, max_value=10 * DAY_MS),
)
def test_no_case_starves_behind_later_urgent_cases(
    routine_at: int, routine: Urgency, fresh: Urgency, extra_wait_ms: int
) -> None:
    # A case submitted more than the difference of the two maximum waits
    # after the routine one comes after it, however urgent it is.
    fresh_at = routine_at + max(0, routine.max_wait_ms - fresh.max_wait_ms) + extra_wait_ms
    assert deadline_ms(routine_at, routine) < deadline_ms(fresh_at, fresh)


@settings(max_examples=100)
@given(cases=st.lists(st.tuples(INSTANTS, LEVELS), min_size=2, max_size=30))
def test_waiting_room_order_is_fair_and_urgent_first(cases: list[tuple[int, Urgency]]) -> None:
    served = sorted(cases, key=lambda case: deadline_ms(*case))
    for i, (first_at, first_level) in enumerate(served):
        for then_at, then_level in served[i + 1 :]:
            # No case served first was submitted more than the other's maximum wait after it.
            assert not first_at > then_at + then_level.max_wait_ms
            # No case served later was submitted no later than the first and is more urgent.
            assert not (then_at <= first_at and then_level < first_level)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(1, Urgency.IMMEDIATE, id="int-1"),
        pytest.param(2, Urgency.URGENT, id="int-2"),
        pytest.param(5, Urgency.DAYS, id="int-5"),
        pytest.param(Urgency.SOON, Urgency.SOON, id="enum-member"),
        pytest.param("1", Urgency.IMMEDIATE, id="digits-1"),
        pytest.param("4", Urgency.TODAY, id="digits-4"),
        pytest.param("urgent", Urgency.URGENT, id="name-lower"),
        pytest.param("IMMEDIATE", Urgency.IMMEDIATE, id="name-upper"),
        pytest.param("Today", Urgency.TODAY, id="name-mixed-case"),
        pytest.param("soon", Urgency.SOON, id="name-soon"),
        pytest.param("days", Urgency.DAYS, id="name-days"),
    ],
)
def test_parse_accepts_numbers_digit_strings_and_names(value: str | int, expected: Urgency) -> None:
    assert Urgency.parse(value) is expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0, id="int-0"),
        pytest.param(6, id="int-6"),
        pytest.param(-1, id="int-negative"),
        pytest.param("0", id="digits-0"),
        pytest.param("6", id="digits-6"),
        pytest.param("-1", id="string-negative"),
        pytest.param("2.0", id="string-decimal"),
        pytest.param("", id="empty"),
        pytest.param(" 2", id="padded-digit"),
        pytest.param("urgently", id="unknown-name"),
        pytest.param("brådskande", id="swedish-word"),
        pytest.param("max_wait_ms", id="attribute-name"),
        pytest.param(2.5, id="float"),
    ],
)
def test_parse_rejects_anything_else_with_the_accepted_values(value: object) -> None:
    with pytest.raises(ValueError, match=re.escape(f"unknown urgency {value!r}")) as caught:
        Urgency.parse(value)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "1-5" in message
    for level in Urgency:
        assert level.name.lower() in message
