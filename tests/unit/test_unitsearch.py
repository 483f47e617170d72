"""Finding a care unit in the demo catalogue, and the referral message built from it.

What a nurse would notice: on juldagen the health centre is closed while the
emergency department is open; a youth clinic is not offered to a 40-year-old;
the units nearest the patient come first; the message says today's hours and
warns of the holiday coming up.
"""

from __future__ import annotations

import datetime as dt

import pytest

from direkt.queue.hours import SwedishHolidays, instant_ms
from direkt.server.care.catalogue import DEMO_CATALOGUE, Catalogue, load_catalogue
from direkt.server.care.referraltext import referral_text, week_text
from direkt.server.care.unitsearch import UnitFilter, find_units, haversine_km, place_of

CALENDAR = SwedishHolidays()
CHRISTMAS_DAY_10 = instant_ms(dt.date(2026, 12, 25), 10 * 60)  # a Friday: juldagen
ORDINARY_FRIDAY_10 = instant_ms(dt.date(2026, 12, 11), 10 * 60)
MIDSUMMER_EVE_10 = instant_ms(dt.date(2026, 6, 19), 10 * 60)  # midsommarafton, a Friday


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(DEMO_CATALOGUE)


def ids(catalogue: Catalogue, **query: object) -> list[str]:
    found = find_units(catalogue.units, CALENDAR, UnitFilter(**query))  # type: ignore[arg-type]
    return [f.unit.id for f in found]


def test_on_juldagen_the_health_centre_is_closed_and_the_emergency_department_open(catalogue: Catalogue) -> None:
    open_on_christmas = ids(catalogue, at_ms=CHRISTMAS_DAY_10, open_only=True, region="vm")
    assert "akut-vasteras" in open_on_christmas and "jour-vasteras" in open_on_christmas
    assert "vc-kungsor" not in open_on_christmas and "vc-sala" not in open_on_christmas
    open_on_a_friday = ids(catalogue, at_ms=ORDINARY_FRIDAY_10, open_only=True, region="vm")
    assert "vc-kungsor" in open_on_a_friday and "akut-vasteras" in open_on_a_friday
    assert "jour-vasteras" not in open_on_a_friday  # the out-of-hours clinic opens at five on weekdays


def test_midsommarafton_is_a_holiday_for_the_opening_hours(catalogue: Catalogue) -> None:
    assert "vc-gottsunda" not in ids(catalogue, at_ms=MIDSUMMER_EVE_10, open_only=True)
    assert "jour-uppsala" in ids(catalogue, at_ms=MIDSUMMER_EVE_10, open_only=True)  # holiday hours 09-21


def test_a_closed_unit_says_when_it_opens_and_an_open_one_when_it_closes(catalogue: Catalogue) -> None:
    [found] = find_units([catalogue.get("vc-kungsor")], CALENDAR, UnitFilter(CHRISTMAS_DAY_10))  # type: ignore[list-item]
    assert not found.open and found.opens_ms == instant_ms(dt.date(2026, 12, 28), 8 * 60)  # Monday after Christmas
    [found] = find_units([catalogue.get("jour-vasteras")], CALENDAR, UnitFilter(CHRISTMAS_DAY_10))  # type: ignore[list-item]
    assert found.open and found.closes_ms == instant_ms(dt.date(2026, 12, 25), 20 * 60)


def test_kind_and_service_narrow_the_list(catalogue: Catalogue) -> None:
    assert set(ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="emergency")) == {"akut-vasteras", "akut-uppsala"}
    tbe = set(ids(catalogue, at_ms=ORDINARY_FRIDAY_10, service="vaccine:tbe"))
    assert tbe == {"vacc-vm", "vacc-up"}
    influenza = set(ids(catalogue, at_ms=ORDINARY_FRIDAY_10, service="vaccine:influenza", region="vm"))
    assert influenza == {"vacc-vm", "vc-kungsor"}
    late_pharmacy = ids(catalogue, at_ms=ORDINARY_FRIDAY_10 + 12 * 3_600_000, kind="pharmacy", open_only=True)
    assert late_pharmacy == ["apotek-vasteras"]  # 22:00: Linnéan has closed, Stjärnan is open to 23
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="pharmacy", open_only=True, region="up") == [
        "apotek-enkoping", "apotek-uppsala"
    ]  # fmt: skip


def test_age_leaves_out_the_units_that_do_not_take_the_patient(catalogue: Catalogue) -> None:
    youth = ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="youth_clinic")
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="youth_clinic", age=16) == youth
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="youth_clinic", age=40) == []
    psychiatry = ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="psychiatric_emergency", age=15)
    assert psychiatry == []  # adults only: children go to child psychiatry through 1177
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="child_health", age=3) == ["bvc-vasteras"]
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="child_health", age=7) == []


def test_the_nearest_units_come_first_then_by_swedish_name(catalogue: Catalogue) -> None:
    kungsor = place_of(catalogue, "736 30")
    assert kungsor is not None and kungsor.name == "Kungsör"
    primary = ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="primary_care", near=kungsor)
    assert primary == ["vc-kungsor", "vc-viksang", "vc-enkoping", "vc-sala", "vc-gottsunda"]
    uppsala = place_of(catalogue, "Uppsala")
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="primary_care", near=uppsala)[0] == "vc-gottsunda"
    # Without a place, by name in Swedish order: Ö after Z, Å and Ä before Ö.
    assert ids(catalogue, at_ms=ORDINARY_FRIDAY_10, kind="primary_care") == [
        "vc-enkoping", "vc-gottsunda", "vc-kungsor", "vc-sala", "vc-viksang"
    ]  # fmt: skip


def test_units_at_the_same_place_sort_by_name() -> None:
    catalogue = load_catalogue(DEMO_CATALOGUE)
    vasteras = place_of(catalogue, "västerås")
    same_building = ids(catalogue, at_ms=ORDINARY_FRIDAY_10, near=vasteras, kind="maternity", region="vm")
    assert same_building == ["bmm-vasteras"]
    found = find_units(catalogue.units, CALENDAR, UnitFilter(ORDINARY_FRIDAY_10, near=vasteras, region="vm"))
    distances = [f.distance_km for f in found]
    assert distances == sorted(distances, key=lambda d: round(d or 0, 1))


def test_haversine_is_the_great_circle_distance() -> None:
    assert haversine_km(59.8586, 17.6389, 59.8586, 17.6389) == 0
    assert haversine_km(59.6099, 16.5448, 59.8586, 17.6389) == pytest.approx(66.6, abs=1)  # Västerås–Uppsala


def test_a_place_is_a_municipality_or_a_postcode(catalogue: Catalogue) -> None:
    assert place_of(catalogue, " Östhammar ").name == "Östhammar"  # type: ignore[union-attr]
    assert place_of(catalogue, "815 30").name == "Tierp"  # type: ignore[union-attr]
    assert place_of(catalogue, "745").name == "Enköping"  # type: ignore[union-attr]
    assert place_of(catalogue, "114 55") is None and place_of(catalogue, "Göteborg") is None


def test_the_referral_message_says_where_when_and_how(catalogue: Catalogue) -> None:
    unit = catalogue.get("vc-kungsor")
    assert unit is not None
    monday_before_christmas = instant_ms(dt.date(2026, 12, 21), 9 * 60)
    text = referral_text(unit, CALENDAR, monday_before_christmas, "sv")
    lines = text.splitlines()
    assert lines[0] == "Jag hänvisar dig till Kungsörs vårdcentral (vårdcentral)."
    assert "Adress: Drottninggatan 14, 736 30 Kungsör" in lines
    assert "Öppet i dag, måndag 21 december: 08:00–16:00" in lines
    assert "Öppettider: mån–fre 08:00–16:00, lör–sön stängt." in lines
    assert "Helgdagar: stängt." in lines
    assert "Observera torsdag 24 december (julafton): stängt" in lines
    assert "Observera fredag 25 december (juldagen): stängt" in lines
    assert "Telefon: 08-465 004 01" in lines and "Webb: https://kungsor-vc.example.se" in lines
    assert any(line.startswith("Hitta hit: Buss 520") for line in lines)


def test_the_referral_message_in_english_on_a_holiday(catalogue: Catalogue) -> None:
    unit = catalogue.get("jour-vasteras")
    assert unit is not None
    text = referral_text(unit, CALENDAR, CHRISTMAS_DAY_10, "en")
    assert "Open today, Friday 25 December (Christmas Day): 10:00–20:00" in text
    assert "Opening hours: Mon–Fri 17:00–22:00, Sat–Sun 10:00–20:00." in text
    assert "Public holidays: 10:00–20:00." in text
    assert "Getting there: Call 1177 before you come." in text


def test_round_the_clock_hours_read_as_such(catalogue: Catalogue) -> None:
    unit = catalogue.get("akut-uppsala")
    assert unit is not None
    assert week_text(unit.hours.days, "sv") == "mån–sön dygnet runt"
    assert "Du kan komma utan att boka tid." in referral_text(unit, CALENDAR, ORDINARY_FRIDAY_10, "sv")
