"""Region configuration: the demo file, the ``direkt config check`` command and
every kind of mistake an operator can make in the TOML file.

Each malformed configuration is the small valid ``BASE`` below with one edit,
so a failure names exactly one problem, and each case asserts the key an
operator has to look at and a recognisable description of the problem.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import timeout

from direkt.queue.model import OverflowWhen, Skill
from direkt.server.errors import ConfigError
from direkt.server.region import DEMO_CONFIG, load_region_config, parse_region_config

SOURCE = "regions/test.toml"
DIREKT = Path(sys.executable).with_name("direkt")

BASE = """\
[calendar]
holidays = ["public", "de_facto"]

[regions.a]
name = "Region A"

[regions.b]
name = "Region B"

[[units]]
id = "vc-a"
region = "a"
name = "Vardcentral A"
kind = "primary_care"
skills = ["nurse", "doctor"]
hours = { mon-fri = "08:00-16:00" }
fallback = ["1177-a"]
pick_from_list = true

[[units]]
id = "1177-a"
region = "a"
name = "1177 A"
kind = "1177"
skills = ["nurse"]
hours = { daily = "07:00-22:00", holidays = "07:00-22:00" }

[[units]]
id = "1177-b"
region = "b"
name = "1177 B"
kind = "1177"
skills = ["nurse"]
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }

[[overflow]]
from = "1177-a"
to = "1177-b"
when = "closed"

[[overflow]]
from = "vc-a"
to = "1177-a"
when = "busy"
wait_over_min = 45
skills = ["nurse"]

[[staff]]
id = "nurse-a"
name = "Nurse A"
profession = "nurse"
units = ["vc-a", "1177-a"]
max_chats = 4

[[staff]]
id = "doc-a"
name = "Doctor A"
profession = "doctor"
units = ["vc-a"]
max_chats = 2

[[templates]]
id = "hello"
title = "Hello"
text = { sv = "Hej {first_name}! Du har kommit till {unit}.", en = "Hello {first_name}! You have reached {unit}." }
"""


def edit(old: str, new: str) -> str:
    """BASE with one edit; ``old`` must occur exactly once so the edit is unambiguous."""
    assert BASE.count(old) == 1, f"{old!r} occurs {BASE.count(old)} times in BASE"
    return BASE.replace(old, new)


def parse_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_region_config(text.encode(), SOURCE)
    return info.value


# --- the valid files ---------------------------------------------------------------


def test_base_config_is_valid() -> None:
    """Guards the table below: every case fails because of its edit only."""
    config = parse_region_config(BASE.encode(), SOURCE)
    d = config.directory
    assert sorted(d.regions) == ["a", "b"]
    assert list(d.units) == ["vc-a", "1177-a", "1177-b"]
    assert d.units["vc-a"].fallback == ("1177-a",)
    assert d.units["vc-a"].pick_from_list is True
    assert d.staff["doc-a"].skills == frozenset({Skill.DOCTOR})  # the profession when skills are not given
    busy = d.overflow[1]
    assert busy.when is OverflowWhen.BUSY
    assert busy.wait_over_ms == 45 * 60_000
    assert busy.skills == frozenset({Skill.NURSE})
    assert [t.id for t in config.templates] == ["hello"]
    assert config.path == Path(SOURCE)


def test_closure_days_close_a_unit_on_those_dates() -> None:
    text = edit("pick_from_list = true", "pick_from_list = true\nclosed_days = [2026-12-28, 2026-12-30]")
    hours = parse_region_config(text.encode(), SOURCE).directory.units["vc-a"].hours
    assert hours.closed_days == {dt.date(2026, 12, 28), dt.date(2026, 12, 30)}


def test_demo_config_loads() -> None:
    config = load_region_config(DEMO_CONFIG)
    d = config.directory
    assert len(d.regions) == 2
    assert len(d.units) == 10
    assert len(d.staff) == 13
    assert len(d.overflow) == 3
    assert len(config.templates) == 9
    assert sorted(d.regions) == ["up", "vm"]
    # a unit's region and fallback, a staff member's extra skill, a rule in minutes
    assert d.units["1177-up"].region == "up"
    assert d.units["vc-kungsor"].fallback == ("1177-vm",)
    assert d.staff["anna.lind"].skills == frozenset({Skill.NURSE, Skill.VACCINATION})
    kungsor = next(r for r in d.overflow if r.source == "vc-kungsor")
    assert (kungsor.target, kungsor.when, kungsor.wait_over_ms) == ("vc-viksang", OverflowWhen.BUSY, 3_600_000)
    youth = next(t for t in config.templates if t.id == "youth-welcome")
    assert youth.unit == "um-vasteras"
    # duties: a supervisor steers her own units, an administrator every unit, a nurse none
    lena, omar, anna = d.staff["lena.sund"], d.staff["omar.said"], d.staff["anna.lind"]
    assert (lena.roles, omar.roles, anna.roles) == ({"supervisor"}, {"admin"}, set())
    assert lena.supervises("vc-sala") and not lena.supervises("1177-up")
    assert omar.supervises("1177-up") and omar.units == () and omar.max_chats == 0
    assert not anna.supervises("vc-kungsor")


# --- direkt config check -------------------------------------------------------------


def run_direkt(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
    return subprocess.run(
        [str(DIREKT), *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout(30),
    )


def test_config_check_demo_file(tmp_path: Path) -> None:
    result = run_direkt("config", "check", str(DEMO_CONFIG), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{DEMO_CONFIG}: ok — 2 regions, 10 units, 13 staff, 3 overflow rules, 9 phrase templates"
    )
    assert result.stderr == ""


def test_config_check_defaults_to_the_configured_file(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_text(BASE, encoding="utf-8")
    result = run_direkt("config", "check", cwd=tmp_path, env={"DIREKT_REGION_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip()
    assert summary.startswith(f"{path}: ok — 2 regions, 3 units, 2 staff, 2 overflow rules, 1 ")


def test_config_check_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_text(edit("max_chats = 2", "max_chats = 13"), encoding="utf-8")
    result = run_direkt("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"direkt: {path}: staff[1].max_chats: must be between 1 and 12"
    assert "Traceback" not in result.stderr


def test_config_check_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    result = run_direkt("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


# --- malformed configurations --------------------------------------------------------


MALFORMED = [
    pytest.param(
        edit("pick_from_list = true", 'pick_from_list = true\nclosed_days = ["28 dec"]'),
        "units[0].closed_days[0]",
        "date",
        id="closure-day-not-a-date",
    ),
    pytest.param(edit('[[staff]]\nid = "doc-a"', '[[staff]\nid = "doc-a"'), "", "not valid toml", id="invalid-toml"),
    pytest.param('colour = "red"\n' + BASE, "", "unknown field `colour`", id="unknown-top-level-key"),
    pytest.param(
        edit("max_chats = 2", 'max_chats = 2\nroles = ["boss"]'),
        "staff[1].roles[0]",
        "unknown role 'boss'",
        id="unknown-role",
    ),
    pytest.param(
        edit("max_chats = 2", "max_chats = 0"), "staff[1].max_chats", "between 1 and", id="no-chats-without-a-role"
    ),
    pytest.param(
        edit("pick_from_list = true", 'pick_from_list = true\ncolour = "red"'),
        "units[0]",
        "unknown field `colour`",
        id="unknown-unit-field",
    ),
    pytest.param(
        edit("max_chats = 2", 'max_chats = "four"'), "staff[1].max_chats", "expected `int`, got `str`", id="wrong-type"
    ),
    pytest.param(
        edit('skills = ["nurse", "doctor"]', 'skills = ["nurse", "surgeon"]'),
        "units[0].skills[1]",
        "'surgeon'",
        id="unknown-skill",
    ),
    pytest.param(
        edit('kind = "primary_care"', 'kind = "hospital"'), "units[0].kind", "'hospital'", id="unknown-unit-kind"
    ),
    pytest.param(
        edit("[regions.b]", "[regions.B]").replace('region = "b"', 'region = "B"'),
        "regions.B",
        "'b' must be lowercase",
        id="uppercase-region-id",
    ),
    pytest.param(
        edit('region = "b"', 'region = "c"'), "units[2].region", "unknown region 'c'", id="unit-in-unknown-region"
    ),
    pytest.param(
        edit('id = "1177-b"', 'id = "1177-a"'), "units[2].id", "duplicate id '1177-a'", id="duplicate-unit-id"
    ),
    pytest.param(
        edit('mon-fri = "08:00-16:00"', 'mon-fri = "8-16"'),
        "units[0].hours.mon-fri",
        "'8' is not a time hh:mm",
        id="hours-without-minutes",
    ),
    pytest.param(
        edit('mon-fri = "08:00-16:00"', 'mon-fri = "16:00-08:00"'),
        "units[0].hours.mon-fri",
        "ends before it starts",
        id="hours-end-before-start",
    ),
    pytest.param(
        edit('mon-fri = "08:00-16:00"', 'mon-fri = "08:00-12:00, 11:00-13:00"'),
        "units[0].hours.mon-fri",
        "overlap",
        id="overlapping-hours",
    ),
    pytest.param(
        edit('mon-fri = "08:00-16:00"', 'mon-fri = "closed"'), "units[0].hours", "never open", id="unit-never-open"
    ),
    pytest.param(
        edit('fallback = ["1177-a"]', 'fallback = ["1177-a", "1177-x"]'),
        "units[0].fallback[1]",
        "unknown unit '1177-x'",
        id="fallback-to-unknown-unit",
    ),
    pytest.param(
        edit('to = "1177-b"', 'to = "1177-x"'), "overflow[0].to", "unknown unit '1177-x'", id="overflow-to-unknown-unit"
    ),
    pytest.param(
        edit('to = "1177-b"', 'to = "1177-a"'), "overflow[0]", "cannot overflow to itself", id="overflow-to-itself"
    ),
    pytest.param(
        edit("wait_over_min = 45\n", ""),
        "overflow[1].wait_over_min",
        "'busy' rule needs wait_over_min",
        id="busy-rule-without-wait",
    ),
    pytest.param(
        edit('units = ["vc-a"]', 'units = ["vc-a", "vc-x"]'),
        "staff[1].units[1]",
        "unknown unit 'vc-x'",
        id="staff-in-unknown-unit",
    ),
    pytest.param(
        edit('profession = "doctor"', 'profession = "vaccination"'),
        "staff[1].profession",
        "not a profession",
        id="profession-that-is-a-skill",
    ),
    pytest.param(edit("max_chats = 2", "max_chats = 0"), "staff[1].max_chats", "between 1 and 12", id="max_chats-0"),
    pytest.param(edit("max_chats = 2", "max_chats = 13"), "staff[1].max_chats", "between 1 and 12", id="max_chats-13"),
    pytest.param(
        edit("max_chats = 2", 'max_chats = 2\nskills = ["midwife"]'),
        "staff[1].skills",
        "none of the staff member's units",
        id="staff-skills-not-served",
    ),
    pytest.param(
        edit('id = "doc-a"', 'id = "nurse-a"'), "staff[1].id", "duplicate id 'nurse-a'", id="duplicate-staff-id"
    ),
    pytest.param(
        edit("Hej {first_name}!", "Hej {patient_pnr}!"),
        "templates[0].text.sv",
        "unknown placeholder {patient_pnr}",
        id="unknown-placeholder",
    ),
    pytest.param(
        edit('en = "Hello {first_name}! You have reached {unit}."', 'en = " "'),
        "templates[0].text.en",
        "the text is empty",
        id="empty-english-text",
    ),
    pytest.param(
        edit('title = "Hello"', 'title = "Hello"\nunit = "vc-x"'),
        "templates[0].unit",
        "unknown unit 'vc-x'",
        id="template-for-unknown-unit",
    ),
    pytest.param(
        edit('holidays = ["public", "de_facto"]', 'holidays = ["public", "school"]'),
        "calendar.holidays[1]",
        "unknown category 'school'",
        id="unknown-holiday-category",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), MALFORMED)
def test_malformed_config(text: str, key: str, problem: str) -> None:
    """``problem`` is a fragment of the expected problem, in lower case."""
    error = parse_error(text)
    assert error.path == SOURCE
    assert error.key == key
    assert problem in error.problem.lower()
    # what the operator reads: file, key and problem on one line
    assert str(error) == (f"{SOURCE}: {key}: {error.problem}" if key else f"{SOURCE}: {error.problem}")


def test_unknown_day_key_names_the_day_key() -> None:
    error = parse_error(edit('mon-fri = "08:00-16:00"', 'monday = "08:00-16:00"'))
    assert error.key == "units[0].hours.monday"
    assert "unknown day key 'monday'" in error.problem


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "region.toml"
    with pytest.raises(ConfigError) as info:
        load_region_config(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert "cannot read the file" in info.value.problem


def test_error_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_text(edit('region = "b"', 'region = "c"'), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_region_config(str(path))
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: units[2].region: unknown region 'c'")


def test_a_template_placeholder_with_a_format_spec_is_refused() -> None:
    raw = DEMO_CONFIG.read_text().replace("Hej {first_name}!", "Hej {first_name:>999999999}!", 1)
    with pytest.raises(ConfigError, match=r"templates\[0\]\.text\.sv: placeholders are plain names"):
        parse_region_config(raw.encode(), "region.toml")
