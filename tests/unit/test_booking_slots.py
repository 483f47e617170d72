"""Slots from schedules (issue 24): weekly sessions, exceptions, holidays and the clock changes."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from support import at

from direkt.queue.hours import SwedishHolidays
from direkt.server.booking.schedule import (
    DEFAULT_SCHEDULES,
    Schedules,
    find_slot,
    load_schedules,
    parse_schedules,
    slots,
)
from direkt.server.errors import ConfigError

UNITS = frozenset({"vc-a", "vc-b"})
HOLIDAYS = SwedishHolidays()
DOC = tomllib.loads(
    """
[[schedule]]
unit = "vc-a"
profession = "nurse"
mode = "video"
hours = { mon-fri = "09:00-10:00" }
slot_minutes = 20
staff = "nurse-1"

[[schedule]]
unit = "vc-a"
profession = "nurse"
mode = "physical"
hours = { daily = "01:00-04:00, 08:00-09:00", holidays = "08:00-09:00" }
slot_minutes = 30

[[extra]]
unit = "vc-a"
profession = "nurse"
mode = "video"
date = 2026-12-12
times = "10:00-10:40"
slot_minutes = 20

[[closed]]
unit = "vc-a"
dates = [2026-12-09]
profession = "nurse"
"""
)


@pytest.fixture(scope="module")
def schedules() -> Schedules:
    return parse_schedules(DOC, UNITS)


def starts(found: list[object]) -> list[str]:
    return [dt.datetime.fromtimestamp(s.start_ms / 1000, dt.UTC).strftime("%m-%d %H:%M") for s in found]  # type: ignore[attr-defined]


def test_a_weekly_session_gives_slots_on_its_days_only(schedules: Schedules) -> None:
    # Monday 7 to Sunday 13 December 2026 (winter time: UTC+1); Wednesday 9th closed, Saturday 12th an extra
    found = slots(schedules, HOLIDAYS, "vc-a", "nurse", "video", at("2026-12-07 00:00"), at("2026-12-14 00:00"))
    assert starts(found) == [
        "12-07 08:00", "12-07 08:20", "12-07 08:40",
        "12-08 08:00", "12-08 08:20", "12-08 08:40",
        "12-10 08:00", "12-10 08:20", "12-10 08:40",
        "12-11 08:00", "12-11 08:20", "12-11 08:40",
        "12-12 09:00", "12-12 09:20",
    ]  # fmt: skip
    assert {s.staff for s in found[:12]} == {"nurse-1"} and found[-1].staff == ""
    assert all(s.end_ms - s.start_ms == 20 * 60_000 for s in found)


def test_a_public_holiday_is_closed_unless_the_hours_name_holidays(schedules: Schedules) -> None:
    christmas = (at("2026-12-24 00:00"), at("2026-12-27 00:00"))  # julafton, juldagen, annandag jul
    assert slots(schedules, HOLIDAYS, "vc-a", "nurse", "video", *christmas) == []
    physical = slots(schedules, HOLIDAYS, "vc-a", "nurse", "physical", *christmas)
    assert starts(physical) == [f"12-{d} 07:{m}" for d in ("24", "25", "26") for m in ("00", "30")]


def test_the_spring_forward_day_skips_the_missing_hour_and_keeps_wall_times(schedules: Schedules) -> None:
    day = slots(schedules, HOLIDAYS, "vc-a", "nurse", "physical", at("2026-03-29 00:00"), at("2026-03-30 00:00"))
    local = [dt.datetime.fromtimestamp(s.start_ms / 1000, dt.UTC) for s in day]
    # 01:00, 01:30 (UTC+1); 02:00 and 02:30 do not exist; 03:00, 03:30 and 08:00, 08:30 (UTC+2)
    assert [t.strftime("%H:%M") for t in local] == ["00:00", "00:30", "01:00", "01:30", "06:00", "06:30"]
    assert find_slot(schedules, HOLIDAYS, "vc-a", "nurse", "physical", at("2026-03-29 08:00")) is not None


def test_the_fall_back_day_gives_the_repeated_hour_once(schedules: Schedules) -> None:
    day = slots(schedules, HOLIDAYS, "vc-a", "nurse", "physical", at("2026-10-25 00:00"), at("2026-10-26 00:00"))
    assert [dt.datetime.fromtimestamp(s.start_ms / 1000, dt.UTC).strftime("%H:%M") for s in day] == [
        "23:00",
        "23:30",
        "00:00",
        "00:30",
        "02:00",
        "02:30",
        "07:00",
        "07:30",
    ]  # fmt: skip  (01:00 CEST, 01:30, 02:00 CEST (first), 02:30 CEST, 03:00 CET, 03:30 CET, 08:00 CET, 08:30)


def test_a_time_between_slots_is_not_in_the_schedule(schedules: Schedules) -> None:
    assert find_slot(schedules, HOLIDAYS, "vc-a", "nurse", "video", at("2026-12-07 09:20")) is not None
    assert find_slot(schedules, HOLIDAYS, "vc-a", "nurse", "video", at("2026-12-07 09:10")) is None
    assert find_slot(schedules, HOLIDAYS, "vc-a", "doctor", "video", at("2026-12-07 09:20")) is None


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"unit": "vc-x"}, "schedule[0].unit"),
        ({"mode": "phone"}, "schedule[0].mode"),
        ({"profession": "wizard"}, "schedule[0].profession"),
        ({"slot_minutes": 0}, "schedule[0].slot_minutes"),
        ({"hours": {"mon-fri": "10:00-09:00"}}, "schedule[0].hours"),
        ({"colour": "red"}, "schedule[0].colour"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_field(patch: dict[str, object], key: str) -> None:
    doc = {"schedule": [DOC["schedule"][0] | patch]}
    with pytest.raises(ConfigError) as refused:
        parse_schedules(doc, UNITS)
    assert refused.value.key == key


def test_the_demo_schedules_load_against_the_demo_region() -> None:
    from direkt.server.care.catalogue import DEMO_CATALOGUE, load_catalogue
    from direkt.server.region import DEMO_CONFIG, load_region_config

    units = {*load_region_config(DEMO_CONFIG).directory.units, *(u.id for u in load_catalogue(DEMO_CATALOGUE).units)}
    demo = load_schedules(DEFAULT_SCHEDULES, units)
    assert {"vc-kungsor", "vc-viksang", "vc-sala", "vc-gottsunda", "vacc-vm", "vacc-up"} <= demo.units
    assert ("nurse", "video") in demo.offers("vc-kungsor") and ("vaccination", "physical") in demo.offers("vacc-vm")


def _session(unit: str, mode: str, hours: dict[str, str], staff: str) -> dict[str, object]:
    return {"unit": unit, "profession": "doctor", "mode": mode, "hours": hours, "slot_minutes": 30, "staff": staff}


def test_one_named_clinician_cannot_have_two_sessions_at_once_at_any_units_or_modes() -> None:
    units = frozenset({"vc-a", "vc-b"})
    physical = _session("vc-a", "physical", {"mon-fri": "13:00-16:00"}, "bo.ek")
    clash = _session("vc-b", "video", {"wed": "15:30-17:00"}, "bo.ek")  # Wednesday 15:30-16:00 twice
    with pytest.raises(ConfigError) as refused:
        parse_schedules({"schedule": [physical, clash]}, units)
    assert refused.value.key == "schedule[1].staff" and "schedule[0]" in str(refused.value)
    extra = {"unit": "vc-b", "profession": "doctor", "mode": "video", "date": dt.date(2026, 12, 9),
             "times": "12:00-13:30", "slot_minutes": 30, "staff": "bo.ek"}  # fmt: skip
    with pytest.raises(ConfigError) as refused:
        parse_schedules({"schedule": [physical], "extra": [extra]}, units)
    assert refused.value.key == "extra[0].staff"
    after = _session("vc-b", "video", {"wed": "16:00-17:00"}, "bo.ek")  # back to back is fine
    someone_else = _session("vc-b", "video", {"wed": "13:00-16:00"}, "cecilia.berg")
    anyone = _session("vc-b", "physical", {"wed": "13:00-16:00"}, "")
    assert len(parse_schedules({"schedule": [physical, after, someone_else, anyone]}, units).sessions) == 4
