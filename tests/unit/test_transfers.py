"""Transfer targets: which units take a patient, by name, open or when they open, and their queues."""

from __future__ import annotations

import pytest
from support import at

from direkt.queue.hours import SwedishHolidays, parse_weekly
from direkt.queue.model import Skill, Unit, UnitKind
from direkt.server.care.transfers import takes_patient, transfer_targets

OFFICE = parse_weekly({"mon-fri": "08:00-17:00"})
ALWAYS = parse_weekly({"daily": "00:00-24:00", "holidays": "00:00-24:00"})
UNITS = [
    Unit("vc-o", "t", "Östby vårdcentral", UnitKind.PRIMARY_CARE, frozenset({Skill.NURSE, Skill.DOCTOR}), OFFICE),
    Unit("bvc", "t", "Barnhälsovården Testby", UnitKind.CHILD_HEALTH, frozenset({Skill.NURSE}), OFFICE),
    Unit("1177", "t", "1177 Test", UnitKind.ADVICE_1177, frozenset({Skill.NURSE}), ALWAYS),
    Unit("um", "t", "Ungdomsmottagningen", UnitKind.YOUTH_CLINIC, frozenset({Skill.MIDWIFE}), OFFICE),
    Unit("vc-a", "t", "Annanby vårdcentral", UnitKind.PRIMARY_CARE, frozenset({Skill.NURSE}), OFFICE),
]
CALENDAR = SwedishHolidays()


@pytest.mark.parametrize(
    ("kind", "age", "takes"),
    [
        (UnitKind.CHILD_HEALTH, 35, False),
        (UnitKind.CHILD_HEALTH, 5, True),
        (UnitKind.CHILD_HEALTH, 6, False),
        (UnitKind.YOUTH_CLINIC, 12, False),
        (UnitKind.YOUTH_CLINIC, 13, True),
        (UnitKind.YOUTH_CLINIC, 23, True),
        (UnitKind.YOUTH_CLINIC, 24, False),
        (UnitKind.PRIMARY_CARE, 90, True),
        (UnitKind.CHILD_HEALTH, None, True),
    ],
)
def test_a_unit_takes_the_ages_it_is_for(kind: UnitKind, age: int | None, takes: bool) -> None:
    assert takes_patient(kind, age) is takes


def test_an_adult_is_offered_the_units_for_adults_by_swedish_name_with_opening_and_queues() -> None:
    saturday_noon = at("2026-03-07 12:00")
    depths = {("vc-o", Skill.DOCTOR): 3, ("1177", Skill.NURSE): 1}
    targets = transfer_targets(UNITS, depths, CALENDAR, saturday_noon, age=35)
    assert [t["unit"] for t in targets] == ["1177", "vc-a", "vc-o"]  # Ö after Z; no child health, no youth clinic
    by_id = {t["unit"]: t for t in targets}
    assert by_id["1177"]["open"] and by_id["1177"]["opens_ms"] is None
    assert not by_id["vc-o"]["open"] and by_id["vc-o"]["opens_ms"] == at("2026-03-09 08:00")  # Monday 08:00
    assert by_id["vc-o"]["waiting"] == {"doctor": 3, "nurse": 0}


def test_a_child_is_offered_child_health_and_without_an_age_every_unit_is() -> None:
    monday = at("2026-03-09 09:00")
    assert [t["unit"] for t in transfer_targets(UNITS, {}, CALENDAR, monday, age=4)] == ["1177", "vc-a", "bvc", "vc-o"]
    assert len(transfer_targets(UNITS, {}, CALENDAR, monday)) == len(UNITS)
