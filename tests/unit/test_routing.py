"""Routing: which unit's queue a case goes to, on the test care directory and hand-built ones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import at, make_directory

from direkt.queue.hours import SwedishHolidays, next_open_ms, parse_weekly
from direkt.queue.model import Directory, OverflowRule, OverflowWhen, Region, Skill, Unit, UnitKind
from direkt.queue.routing import (
    NoRoute,
    Route,
    RouteReason,
    RouteRequest,
    candidate_chain,
    reachable_units,
    route,
)
from direkt.queue.urgency import HOUR_MS, MINUTE_MS, Urgency, deadline_ms

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DIRECTORY = make_directory()
NURSE, DOCTOR, MIDWIFE = Skill.NURSE, Skill.DOCTOR, Skill.MIDWIFE
Waits = Mapping[tuple[str, Skill], int]


def wall(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, STOCKHOLM).isoformat(timespec="minutes")


def route_at(
    home: str,
    skill: Skill,
    urgency: Urgency,
    when: str,
    waits: Waits | None = None,
    directory: Directory = DIRECTORY,
) -> Route:
    """Route a case submitted and routed at the Stockholm wall time ``when``."""
    submitted = at(when)
    chosen = route(RouteRequest(home, skill, urgency, submitted), directory, submitted, waits)
    assert chosen.deadline_ms == deadline_ms(submitted, urgency)
    assert chosen.skill is skill
    return chosen


def chain_ids(
    home: str, skill: Skill, when: str, waits: Waits | None = None, directory: Directory = DIRECTORY
) -> list[str]:
    request = RouteRequest(home, skill, Urgency.IMMEDIATE, at(when))
    return [u.id for u in candidate_chain(request, directory, at(when), waits or {})]


# Monday 2026-11-23, Friday 2026-11-27, Saturday 2026-11-28; Midsommarafton is
# Friday 2026-06-19; summer time starts Sunday 2026-03-29.
ROUTES = [
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-11-23 10:00",
        "vc-a1",
        RouteReason.HOME,
        "2026-11-23 10:00",
        id="weekday-10-immediate-home",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-11-23 07:30",
        "1177-a",
        RouteReason.FALLBACK,
        "2026-11-23 07:30",
        id="weekday-0730-immediate-1177-before-centre-opens",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.URGENT,
        "2026-11-23 07:30",
        "vc-a1",
        RouteReason.HOME,
        "2026-11-23 08:00",
        id="weekday-0730-urgent-waits-for-0800",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-11-23 17:00",
        "1177-a",
        RouteReason.FALLBACK,
        "2026-11-23 17:00",
        id="weekday-17-immediate-1177",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.DAYS,
        "2026-11-23 17:00",
        "vc-a1",
        RouteReason.HOME,
        "2026-11-24 08:00",
        id="weekday-17-days-waits-for-centre",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.TODAY,
        "2026-11-27 17:00",
        "1177-a",
        RouteReason.FALLBACK,
        "2026-11-27 17:00",
        id="friday-17-today-1177",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.DAYS,
        "2026-11-28 10:00",
        "vc-a1",
        RouteReason.HOME,
        "2026-11-30 08:00",
        id="saturday-10-days-waits-for-monday",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.SOON,
        "2026-06-19 10:00",
        "1177-a",
        RouteReason.FALLBACK,
        "2026-06-19 10:00",
        id="midsommarafton-10-soon-1177",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-11-23 23:00",
        "1177-b",
        RouteReason.FALLBACK,
        "2026-11-23 23:00",
        id="weekday-23-immediate-night-overflow",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.TODAY,
        "2026-11-23 23:00",
        "vc-a1",
        RouteReason.HOME,
        "2026-11-24 08:00",
        id="weekday-23-today-centre-in-the-morning",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.DAYS,
        "2026-11-23 23:00",
        "vc-a1",
        RouteReason.HOME,
        "2026-11-24 08:00",
        id="weekday-23-days-centre",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-03-29 06:30",
        "1177-b",
        RouteReason.FALLBACK,
        "2026-03-29 06:30",
        id="spring-forward-0630-immediate-1177-b",
    ),
    pytest.param(
        "vc-a1",
        NURSE,
        Urgency.URGENT,
        "2026-03-29 06:30",
        "1177-a",
        RouteReason.FALLBACK,
        "2026-03-29 07:00",
        id="spring-forward-0630-urgent-1177-a-at-0700-cest",
    ),
    pytest.param(
        "vc-b1",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-12-24 03:00",
        "1177-b",
        RouteReason.FALLBACK,
        "2026-12-24 03:00",
        id="region-b-julafton-night-1177-b",
    ),
    pytest.param(
        "1177-a",
        NURSE,
        Urgency.URGENT,
        "2026-11-23 12:00",
        "1177-a",
        RouteReason.HOME,
        "2026-11-23 12:00",
        id="1177-a-as-home",
    ),
    pytest.param(
        "vc-a1",
        DOCTOR,
        Urgency.IMMEDIATE,
        "2026-11-23 17:00",
        "vc-a1",
        RouteReason.EARLIEST,
        "2026-11-24 08:00",
        id="doctor-evening-nobody-in-time-centre-earliest",
    ),
    pytest.param(
        "um-a",
        NURSE,
        Urgency.IMMEDIATE,
        "2026-11-23 17:00",
        "1177-a",
        RouteReason.FALLBACK,
        "2026-11-23 17:00",
        id="youth-clinic-nurse-evening-1177",
    ),
    pytest.param(
        "um-a",
        MIDWIFE,
        Urgency.IMMEDIATE,
        "2026-11-23 10:00",
        "um-a",
        RouteReason.HOME,
        "2026-11-23 10:00",
        id="youth-clinic-midwife-open",
    ),
    pytest.param(
        "um-a",
        MIDWIFE,
        Urgency.URGENT,
        "2026-11-23 17:00",
        "um-a",
        RouteReason.EARLIEST,
        "2026-11-24 09:00",
        id="youth-clinic-midwife-closed-earliest",
    ),
    pytest.param(
        "um-a",
        MIDWIFE,
        Urgency.DAYS,
        "2026-11-27 17:00",
        "um-a",
        RouteReason.HOME,
        "2026-11-30 09:00",
        id="youth-clinic-midwife-friday-days-home",
    ),
]


@pytest.mark.parametrize(("home", "skill", "urgency", "when", "unit", "reason", "available"), ROUTES)
def test_route_on_the_test_directory(
    home: str, skill: Skill, urgency: Urgency, when: str, unit: str, reason: RouteReason, available: str
) -> None:
    chosen = route_at(home, skill, urgency, when)
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (unit, reason, wall(at(available)))


def test_midwife_cases_never_leave_the_youth_clinic() -> None:
    # 1177-a is in the chain but serves nurses only.
    assert chain_ids("um-a", MIDWIFE, "2026-11-23 23:00") == ["um-a", "1177-a", "1177-b"]
    assert route_at("um-a", MIDWIFE, Urgency.IMMEDIATE, "2026-11-23 23:00").unit.id == "um-a"


def test_rerouting_keeps_the_deadline_from_submission() -> None:
    submitted, now = at("2026-11-23 15:50"), at("2026-11-23 16:01")
    chosen = route(RouteRequest("vc-a1", NURSE, Urgency.IMMEDIATE, submitted), DIRECTORY, now)
    assert chosen.deadline_ms == at("2026-11-23 16:05")
    assert (chosen.unit.id, chosen.reason, chosen.available_ms) == ("1177-a", RouteReason.FALLBACK, now)


# --- overflow rules ----------------------------------------------------------

BUSY = {("vc-a1", NURSE): 2 * HOUR_MS}


def test_busy_centre_overflows_urgent_nurse_case_to_neighbour_centre() -> None:
    chosen = route_at("vc-a1", NURSE, Urgency.URGENT, "2026-11-23 10:00", BUSY)
    assert (chosen.unit.id, chosen.reason) == ("vc-a2", RouteReason.FALLBACK)


def test_busy_centre_and_busy_1177_overflow_to_neighbour_centre() -> None:
    waits = {**BUSY, ("1177-a", NURSE): 2 * HOUR_MS}
    chosen = route_at("vc-a1", NURSE, Urgency.URGENT, "2026-11-23 10:00", waits)
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (
        "vc-a2",
        RouteReason.FALLBACK,
        "2026-11-23T10:00+01:00",
    )


def test_busy_centre_keeps_cases_that_can_wait() -> None:
    chosen = route_at("vc-a1", NURSE, Urgency.DAYS, "2026-11-23 10:00", BUSY)
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (
        "vc-a1",
        RouteReason.HOME,
        "2026-11-23T12:00+01:00",
    )


@pytest.mark.parametrize(
    ("wait_min", "overflows"),
    [
        pytest.param(0, False, id="no-wait"),
        pytest.param(60, False, id="exactly-60-min"),
        pytest.param(61, True, id="over-60-min"),
    ],
)
def test_busy_rule_applies_only_over_its_threshold(wait_min: int, overflows: bool) -> None:
    waits = {("vc-a1", NURSE): wait_min * MINUTE_MS}
    assert ("vc-a2" in chain_ids("vc-a1", NURSE, "2026-11-23 10:00", waits)) is overflows


def test_nurse_only_busy_rule_does_not_move_doctor_cases() -> None:
    busy_doctor = {("vc-a1", DOCTOR): 2 * HOUR_MS}
    assert "vc-a2" not in chain_ids("vc-a1", DOCTOR, "2026-11-23 10:00", busy_doctor)
    chosen = route_at("vc-a1", DOCTOR, Urgency.URGENT, "2026-11-23 10:00", busy_doctor)
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (
        "vc-a1",
        RouteReason.EARLIEST,
        "2026-11-23T12:00+01:00",
    )


def test_busy_nurses_do_not_slow_doctor_cases() -> None:
    chosen = route_at("vc-a1", DOCTOR, Urgency.URGENT, "2026-11-23 10:00", BUSY)
    assert (chosen.unit.id, chosen.reason, chosen.available_ms) == ("vc-a1", RouteReason.HOME, at("2026-11-23 10:00"))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        pytest.param("2026-11-23 10:00", ["vc-a1", "1177-a"], id="day-1177-a-open"),
        pytest.param("2026-11-23 21:59", ["vc-a1", "1177-a"], id="last-minute-1177-a-open"),
        pytest.param("2026-11-23 22:00", ["vc-a1", "1177-a", "1177-b"], id="1177-a-closed-night-rule"),
        pytest.param("2026-12-24 06:59", ["vc-a1", "1177-a", "1177-b"], id="julafton-early-morning"),
    ],
)
def test_night_overflow_rule_applies_while_1177_a_is_closed(when: str, expected: list[str]) -> None:
    assert chain_ids("vc-a1", NURSE, when) == expected


def test_reachable_units_include_every_overflow_target_whatever_the_time() -> None:
    reachable = {u.id for u in reachable_units(DIRECTORY.unit("vc-a1"), DIRECTORY)}
    assert reachable == {"vc-a1", "vc-a2", "1177-a", "1177-b"}
    assert {u.id for u in reachable_units(DIRECTORY.unit("vc-b1"), DIRECTORY)} == {"vc-b1", "1177-b"}
    assert {u.id for u in reachable_units(DIRECTORY.unit("1177-b"), DIRECTORY)} == {"1177-b"}


# --- errors ------------------------------------------------------------------


def test_no_route_when_no_unit_in_the_chain_serves_the_skill() -> None:
    with pytest.raises(NoRoute, match="vc-b1"):
        route_at("vc-b1", DOCTOR, Urgency.URGENT, "2026-11-23 10:00")


def test_unknown_home_unit_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="vc-zz"):
        route_at("vc-zz", NURSE, Urgency.URGENT, "2026-11-23 10:00")


# --- hand-built directories: nobody in time ----------------------------------

CALENDAR = SwedishHolidays()


def unit(unit_id: str, hours: dict[str, str], fallback: tuple[str, ...] = ()) -> Unit:
    return Unit(unit_id, "x", unit_id, UnitKind.PRIMARY_CARE, frozenset({NURSE}), parse_weekly(hours), fallback)


def directory(*units: Unit, overflow: tuple[OverflowRule, ...] = ()) -> Directory:
    return Directory(
        regions={"x": Region("x", "Region X")},
        units={u.id: u for u in units},
        staff={},
        overflow=overflow,
        calendar=CALENDAR,
    )


MONDAY_0600 = "2026-11-23 06:00"


@pytest.mark.parametrize(
    ("opens", "expected_unit", "expected_available"),
    [
        pytest.param({"home": "10:00", "f1": "09:00", "f2": "08:00"}, "f2", "08:00", id="soonest-wins"),
        pytest.param({"home": "10:00", "f1": "08:00", "f2": "08:00"}, "f1", "08:00", id="tie-to-earlier-fallback"),
        pytest.param({"home": "08:00", "f1": "08:00", "f2": "08:00"}, "home", "08:00", id="tie-to-home"),
        pytest.param({"home": "09:00", "f1": "10:00", "f2": "09:30"}, "home", "09:00", id="home-soonest"),
    ],
)
def test_nobody_in_time_goes_to_the_soonest_unit(
    opens: dict[str, str], expected_unit: str, expected_available: str
) -> None:
    units = [
        unit("home", {"mon-fri": f"{opens['home']}-16:00"}, fallback=("f1", "f2")),
        unit("f1", {"mon-fri": f"{opens['f1']}-16:00"}),
        unit("f2", {"mon-fri": f"{opens['f2']}-16:00"}),
    ]
    chosen = route_at("home", NURSE, Urgency.IMMEDIATE, MONDAY_0600, directory=directory(*units))
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (
        expected_unit,
        RouteReason.EARLIEST,
        wall(at(f"2026-11-23 {expected_available}")),
    )


def test_earliest_counts_queue_waits_and_overflow_targets() -> None:
    d = directory(
        unit("home", {"mon-fri": "10:00-16:00"}, fallback=("f1",)),
        unit("f1", {"mon-fri": "08:00-16:00"}),
        unit("o1", {"mon-fri": "09:00-16:00"}),
        overflow=(OverflowRule("home", "o1", OverflowWhen.ALWAYS),),
    )
    chosen = route_at("home", NURSE, Urgency.IMMEDIATE, MONDAY_0600, {("f1", NURSE): 3 * HOUR_MS}, directory=d)
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (
        "o1",
        RouteReason.EARLIEST,
        "2026-11-23T09:00+01:00",
    )


def test_nobody_opens_within_the_horizon_goes_home_with_no_availability() -> None:
    d = directory(unit("home", {}, fallback=("f1",)), unit("f1", {}))
    chosen = route_at("home", NURSE, Urgency.URGENT, MONDAY_0600, directory=d)
    assert (chosen.unit.id, chosen.reason, chosen.available_ms) == ("home", RouteReason.EARLIEST, None)


def test_a_never_open_home_yields_to_a_fallback_that_opens() -> None:
    d = directory(unit("home", {}, fallback=("f1",)), unit("f1", {"tue": "08:00-16:00"}))
    chosen = route_at("home", NURSE, Urgency.URGENT, MONDAY_0600, directory=d)
    assert (chosen.unit.id, chosen.reason, wall(chosen.available_ms)) == (
        "f1",
        RouteReason.EARLIEST,
        "2026-11-24T08:00+01:00",
    )


def test_fallback_cycles_terminate() -> None:
    d = directory(unit("a", {"mon-fri": "10:00-16:00"}, fallback=("b",)), unit("b", {"mon-fri": "09:00-16:00"}, ("a",)))
    assert chain_ids("a", NURSE, MONDAY_0600, directory=d) == ["a", "b"]
    assert route_at("a", NURSE, Urgency.IMMEDIATE, MONDAY_0600, directory=d).unit.id == "b"


def test_overflow_window_limits_a_rule_to_its_hours() -> None:
    nights = parse_weekly({"daily": "00:00-07:00, 22:00-24:00"})
    d = directory(
        unit("home", {"mon-fri": "08:00-16:00"}),
        unit("night", {"daily": "00:00-24:00"}),
        overflow=(OverflowRule("home", "night", OverflowWhen.CLOSED, window=nights),),
    )
    assert chain_ids("home", NURSE, "2026-11-23 10:00", directory=d) == ["home"]  # open: rule off
    assert chain_ids("home", NURSE, "2026-11-23 17:00", directory=d) == ["home"]  # closed, outside window
    assert chain_ids("home", NURSE, "2026-11-23 23:00", directory=d) == ["home", "night"]
    chosen = route_at("home", NURSE, Urgency.IMMEDIATE, "2026-11-23 17:00", directory=d)
    assert (chosen.unit.id, chosen.reason) == ("home", RouteReason.EARLIEST)


# --- property ----------------------------------------------------------------

HOMES = st.sampled_from(["vc-a1", "vc-a2", "um-a", "1177-a", "vc-b1", "1177-b"])
MINUTES_2026 = st.integers(min_value=0, max_value=365 * 24 * 60 - 1)


@settings(max_examples=150, deadline=None)
@given(
    home=HOMES,
    urgency=st.sampled_from(list(Urgency)),
    minute=MINUTES_2026,
    home_wait_min=st.sampled_from([0, 30, 120]),
)
def test_nurse_cases_are_always_answered_in_time(home: str, urgency: Urgency, minute: int, home_wait_min: int) -> None:
    # Every centre falls back to a 1177 that is open, or to 1177-b that never closes; the
    # 1177 units have no fallback for their own queue, so only the centres' queues are busy.
    now = at("2026-01-01 00:00") + minute * MINUTE_MS
    waits = {} if home.startswith("1177") else {(home, NURSE): home_wait_min * MINUTE_MS}
    request = RouteRequest(home, NURSE, urgency, now)
    chosen = route(request, DIRECTORY, now, waits)
    assert chosen.reason is not RouteReason.EARLIEST
    assert chosen.available_ms is not None
    assert now <= chosen.available_ms <= chosen.deadline_ms == deadline_ms(now, urgency)
    assert NURSE in chosen.unit.skills
    assert chosen.unit in reachable_units(DIRECTORY.unit(home), DIRECTORY)
    opens = next_open_ms(chosen.unit.hours, DIRECTORY.calendar, now)
    assert opens is not None
    assert chosen.available_ms == opens + waits.get((chosen.unit.id, NURSE), 0)
    assert (chosen.reason is RouteReason.HOME) == (chosen.unit.id == home)
