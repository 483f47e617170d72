"""The referral catalogue file: the demo data and every mistake an operator can make in it.

Each broken catalogue is the small valid ``BASE`` below with one edit, and each
case asserts the key to look at and a recognisable description of the problem.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from direkt.queue.hours import SwedishHolidays, instant_ms, is_open
from direkt.server.care.catalogue import DEMO_CATALOGUE, load_catalogue, parse_catalogue
from direkt.server.errors import ConfigError
from direkt.server.region import DEMO_CONFIG, load_region_config

SOURCE = "catalogue/test.toml"

BASE = """\
[[places]]
name = "Kungsör"
region = "vm"
lat = 59.42
lon = 16.10
postcodes = ["736"]

[[units]]
id = "vc-a"
region = "vm"
name = "Vårdcentral A"
kind = "primary_care"
services = ["doctor_visit", "vaccine:influenza"]
hours = { mon-fri = "08:00-16:00" }
address = "Storgatan 1"
postcode = "736 30"
city = "Kungsör"
municipality = "Kungsör"
phone = "08-465 004 99"
web = "https://a.example.se"
lat = 59.42
lon = 16.09
directions = { sv = "Buss 1.", en = "Bus 1." }

[[units]]
id = "akut-a"
region = "vm"
name = "Akuten A"
kind = "emergency"
services = ["acute_care"]
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }
address = "Storgatan 2"
postcode = "736 31"
city = "Kungsör"
municipality = "Kungsör"
phone = "08-465 004 98"
web = "https://akut.example.se"
lat = 59.43
lon = 16.10
drop_in = true
booking = false
directions = { sv = "Ingång 1.", en = "Entrance 1." }
"""


def test_the_demo_catalogue_loads_and_lists_every_queue_unit_of_the_region_file() -> None:
    catalogue = load_catalogue(DEMO_CATALOGUE)
    region_units = load_region_config(DEMO_CONFIG).directory.units
    missing = [unit_id for unit_id in region_units if catalogue.get(unit_id) is None]
    assert missing == []
    for unit_id, unit in region_units.items():
        assert catalogue.get(unit_id).region == unit.region  # type: ignore[union-attr]


@pytest.mark.parametrize("region", ["vm", "up"])
@pytest.mark.parametrize(
    "kind",
    ["primary_care", "out_of_hours", "emergency", "psychiatric_emergency", "dental_emergency", "maternity",
     "youth_clinic", "pharmacy", "vaccination"],
)  # fmt: skip
def test_each_demo_region_has_a_unit_of_each_referral_kind(region: str, kind: str) -> None:
    units = load_catalogue(DEMO_CATALOGUE).units
    assert any(u.region == region and u.kind == kind for u in units)


def test_the_demo_vaccination_units_give_the_four_vaccines() -> None:
    catalogue = load_catalogue(DEMO_CATALOGUE)
    vaccines = {"vaccine:covid19", "vaccine:influenza", "vaccine:tbe", "vaccine:pneumococcus"}
    for unit_id in ("vacc-vm", "vacc-up"):
        assert catalogue.get(unit_id).services >= vaccines  # type: ignore[union-attr]
    assert {"vaccine:influenza", "vaccine:covid19"} <= catalogue.get("vc-kungsor").services  # type: ignore[union-attr]


def test_the_demo_emergency_departments_are_open_round_the_clock_and_a_pharmacy_late() -> None:
    catalogue, calendar = load_catalogue(DEMO_CATALOGUE), SwedishHolidays()
    christmas_night = instant_ms(dt.date(2026, 12, 25), 3 * 60)
    assert is_open(catalogue.get("akut-vasteras").hours, calendar, christmas_night)  # type: ignore[union-attr]
    late = instant_ms(dt.date(2026, 12, 8), 22 * 60 + 30)
    assert [u.id for u in catalogue.units if u.kind == "pharmacy" and is_open(u.hours, calendar, late)]


def test_a_unit_has_what_the_referral_message_needs() -> None:
    unit = load_catalogue(DEMO_CATALOGUE).get("vc-kungsor")
    assert unit is not None
    assert (unit.name, unit.address, unit.postcode, unit.city) == (
        "Kungsörs vårdcentral", "Drottninggatan 14", "736 30", "Kungsör"
    )  # fmt: skip
    assert unit.phone.startswith("08-465 004") and unit.web.startswith("https://")
    assert set(unit.directions) == {"sv", "en"}
    assert not unit.drop_in and unit.booking


def test_places_answer_a_municipality_and_a_postcode() -> None:
    catalogue = load_catalogue(DEMO_CATALOGUE)
    assert catalogue.place("västerås").name == "Västerås"  # type: ignore[union-attr]
    assert catalogue.place_of_postcode("756 45").name == "Uppsala"  # type: ignore[union-attr]
    assert catalogue.place_of_postcode("73630").name == "Kungsör"  # type: ignore[union-attr]
    assert catalogue.place_of_postcode("111 22") is None
    assert catalogue.place("Narnia") is None


def test_the_base_is_valid() -> None:
    catalogue = parse_catalogue(BASE.encode(), SOURCE)
    assert [u.id for u in catalogue.units] == ["vc-a", "akut-a"]
    assert catalogue.get("nope") is None


def _edit(old: str, new: str) -> bytes:
    assert old in BASE, old
    return BASE.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('kind = "primary_care"', 'kind = "spa"', "units[0].kind", "unknown kind 'spa'"),
        ('"doctor_visit", ', '"massage", ', "units[0].services[0]", "unknown service 'massage'"),
        ('mon-fri = "08:00-16:00"', 'mon-fri = "8-16"', "units[0].hours", "mon-fri: '8' is not a time HH:MM"),
        ('mon-fri = "08:00-16:00"', 'mon-fri = "16:00-08:00"', "units[0].hours", "ends before it starts"),
        ('mon-fri = "08:00-16:00"', 'someday = "08:00-16:00"', "units[0].hours", "unknown day key 'someday'"),
        ('mon-fri = "08:00-16:00"', 'mon-fri = "closed"', "units[0].hours", "never open"),
        ('id = "akut-a"', 'id = "vc-a"', "units[1].id", "duplicate id 'vc-a'"),
        ("lat = 59.42\nlon = 16.09", "lat = 16.09\nlon = 59.42", "units[0].lat", "outside Sweden"),
        ("lat = 59.42\nlon = 16.09", "lat = 59.42\nlon = 116.09", "units[0].lon", "outside Sweden"),
        ('postcode = "736 30"', 'postcode = "ABC"', "units[0].postcode", "not a Swedish postcode"),
        ('web = "https://a.example.se"', 'web = "javascript:alert(1)"', "units[0].web", "not an https://"),
        ('municipality = "Kungsör"', 'municipality = "Narnia"', "units[0].municipality", "not in the places"),
        ('phone = "08-465 004 99"', 'phone = " "', "units[0].phone", "must not be empty"),
        ('directions = { sv = "Buss 1.", en = "Bus 1." }', 'directions = { sv = "Buss 1.", en = "" }',
         "units[0].directions", "Swedish (sv) and English (en)"),
        ('directions = { sv = "Buss 1.", en = "Bus 1." }', 'directions = { sv = "Buss 1." }',
         "units[0].directions", "missing required field `en`"),
        ('id = "vc-a"', 'id = "VC A"', "units[0].id", "lowercase"),
        ('drop_in = true', 'drop_in = "yes"', "units[1].drop_in", "expected `bool`"),
        ('drop_in = true', 'min_age = 20\nmax_age = 10', "units[1].min_age", "min_age ≤ max_age"),
        ('drop_in = true', 'parking = true', "units[1]", "unknown field `parking`"),
        ('postcodes = ["736"]', 'postcodes = ["7"]', "places[0].postcodes[0]", "first three digits"),
        ("lat = 59.42\nlon = 16.10", "lat = 99.0\nlon = 16.10", "places[0].lat", "outside Sweden"),
    ],
)  # fmt: skip
def test_a_mistake_is_named_with_its_key(old: str, new: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalogue(_edit(old, new), SOURCE)
    assert caught.value.path == SOURCE
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_no_units_and_not_toml_and_a_missing_file_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one unit"):
        parse_catalogue(b"units = []", SOURCE)
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_catalogue(b"[[units]\n", SOURCE)
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_catalogue(tmp_path / "absent.toml")


def test_one_off_closed_days_close_the_unit() -> None:
    raw = _edit(
        'hours = { mon-fri = "08:00-16:00" }', 'hours = { mon-fri = "08:00-16:00" }\nclosed_days = [2026-12-28]'
    )
    unit = parse_catalogue(raw, SOURCE).get("vc-a")
    assert unit is not None
    calendar = SwedishHolidays()
    assert not is_open(unit.hours, calendar, instant_ms(dt.date(2026, 12, 28), 10 * 60))
    assert is_open(unit.hours, calendar, instant_ms(dt.date(2026, 12, 29), 10 * 60))


def test_the_server_refuses_to_start_with_a_bad_catalogue_named_in_the_environment(tmp_path: Path) -> None:
    from direkt.server.app import create_app
    from direkt.server.settings import Settings

    bad = tmp_path / "catalogue.toml"
    bad.write_bytes(_edit('kind = "primary_care"', 'kind = "spa"'))
    settings = Settings.from_env({"DIREKT_CATALOGUE": str(bad)}, data_dir=tmp_path)
    assert settings.catalogue == bad and settings.as_env()["DIREKT_CATALOGUE"] == str(bad)
    with pytest.raises(ConfigError, match=r"catalogue.toml: units\[0\].kind: unknown kind 'spa'"):
        create_app(settings)
