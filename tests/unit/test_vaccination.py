"""Vaccination self-booking (server/care/vaccination.py): who may book herself, and where.

The rule cases walk the real vaccination triage (triage/kb/reasons/vaccination.toml), so a
rule that sends the patient to a person is proved from the knowledge base, not restated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from direkt.server.care.vaccination import (
    Patient,
    TriageOutcome,
    eligibility,
    fitting_units,
    in_season,
    municipalities,
    patient_of,
    place_of,
    read_triage,
)
from direkt.triage import engine, loader
from direkt.triage.model import Entry, Respondent
from direkt.triage.outcome import outcome
from direkt.triage.session import Patient as TriagePatient
from direkt.triage.walk import walk

KB, _ = loader.read()
WINTER = dt.date(2026, 12, 7)
SUMMER = dt.date(2026, 6, 15)


def triage(
    age: int,
    vaccine: str,
    *,
    reaction: str = "no",
    fever: str = "no",
    health: tuple[str, ...] = ("none",),
    respondent: Respondent = Respondent.SELF,
) -> tuple[TriageOutcome, Patient]:
    """Walk the vaccination triage for a patient with these answers: (outcome, patient)."""
    session = engine.start(KB, Entry.VACCINATION, TriagePatient(age * 12, "female", respondent))
    answers = {
        "reason": "vaccination", "vaccination.which": vaccine, "vaccination.other_which": "gula febern",
        "vaccination.reaction": reaction, "vaccination.fever": fever, "vaccination.health": list(health),
        "vaccination.notes": "",
    }  # fmt: skip
    while (pending := walk(KB, session).pending) is not None:
        session = engine.answer(KB, session, pending.id, answers[pending.id])
    walked = walk(KB, session)
    result = outcome(KB, walked)
    read = read_triage(result.reason_code, result.profession.value, result.rules, walked.facts)
    return read, patient_of(age, respondent == Respondent.GUARDIAN, walked.facts)


@pytest.mark.parametrize(
    ("vaccine", "code"), [("tbe", "ok"), ("influenza", "needs_person"), ("covid19", "needs_person")]
)
def test_a_guardian_walks_the_vaccination_triage_for_a_child_of_one(vaccine: str, code: str) -> None:
    read, patient = triage(1, vaccine, health=("immunosuppressed",), respondent=Respondent.GUARDIAN)
    verdict = eligibility(read, patient, WINTER)
    assert verdict.code == code
    assert ("barnets vaccination" in verdict.text.sv) is (code == "ok")  # the guardian reads about the child


@pytest.mark.parametrize(
    ("age", "vaccine", "health", "today", "code"),
    [
        (70, "influenza", ("none",), WINTER, "ok"),
        (65, "influenza", ("none",), WINTER, "ok"),
        (75, "covid19", ("none",), WINTER, "ok"),
        (74, "covid19", ("none",), WINTER, "not_recommended"),  # from 75 (Folkhälsomyndigheten, 2025)
        (40, "covid19", ("immunosuppressed",), WINTER, "ok"),
        (64, "influenza", ("none",), WINTER, "not_recommended"),  # no risk group the triage can see
        (40, "influenza", ("immunosuppressed",), WINTER, "ok"),  # a risk group
        (30, "influenza", ("pregnant",), WINTER, "not_recommended"),  # the week decides: a person
        (70, "influenza", ("none",), SUMMER, "season"),
        (80, "covid19", ("none",), SUMMER, "season"),
        (75, "pneumococcal", ("none",), SUMMER, "ok"),  # all year
        (74, "pneumococcal", ("none",), WINTER, "not_recommended"),  # from 75
        (50, "pneumococcal", ("none",), WINTER, "not_recommended"),
        (50, "pneumococcal", ("immunosuppressed",), SUMMER, "ok"),
        (30, "tbe", ("none",), SUMMER, "ok"),
        (13, "tbe", ("none",), WINTER, "ok"),
        (16, "covid19", ("immunosuppressed",), WINTER, "needs_person"),  # children: a doctor's assessment
        (17, "influenza", ("immunosuppressed",), WINTER, "needs_person"),  # under 18: a person
        (40, "other", ("none",), WINTER, "other_vaccine"),
    ],
)
def test_eligibility_by_age_season_and_risk_group(
    age: int, vaccine: str, health: tuple[str, ...], today: dt.date, code: str
) -> None:
    read, patient = triage(age, vaccine, health=health)
    verdict = eligibility(read, patient, today)
    assert (verdict.code, verdict.eligible) == (code, code == "ok")
    assert verdict.text.sv and verdict.text.en


@pytest.mark.parametrize(
    ("answers", "rule"),
    [
        ({"reaction": "yes"}, "vaccination.severe_reaction"),
        ({"reaction": "unknown"}, "vaccination.severe_reaction"),
        ({"fever": "yes"}, "vaccination.fever_now"),
    ],
)
def test_each_rule_of_the_triage_sends_to_a_person(answers: dict[str, str], rule: str) -> None:
    read, patient = triage(70, "influenza", **answers)  # type: ignore[arg-type]
    assert rule in read.rules
    verdict = eligibility(read, patient, WINTER)
    assert (verdict.eligible, verdict.code) == (False, "needs_person")


def test_a_live_vaccine_in_pregnancy_goes_to_a_nurse_not_a_booking() -> None:
    read, patient = triage(30, "other", health=("pregnant",))
    assert "vaccination.live_vaccine_check" in read.rules and read.profession == "nurse"
    assert eligibility(read, patient, WINTER).code == "needs_person"


def test_a_nurse_profession_alone_is_enough_to_need_a_person() -> None:
    read = TriageOutcome("vaccination", "nurse", (), "influenza")
    assert eligibility(read, Patient(80, False, False, False), WINTER).code == "needs_person"


def test_another_contact_reason_is_not_a_vaccination() -> None:
    read = TriageOutcome("sore_throat", "vaccination", (), "influenza")
    assert eligibility(read, Patient(80, False, False, False), WINTER).code == "not_vaccination"


@pytest.mark.parametrize(
    ("age", "vaccine", "immuno", "code"),
    [
        (5, "tbe", False, "ok"),  # from one year, a guardian books for the child
        (1, "tbe", True, "ok"),  # not live: a weakened immune system does not stop it
        (0, "tbe", False, "not_recommended"),
        (0, "influenza", True, "needs_person"),  # never under 6 months: a person, whatever the risk group
        (8, "influenza", True, "needs_person"),  # a child in a risk group: child health care or a person
        (8, "influenza", False, "needs_person"),  # nor the live nasal vaccine for a child 2-17
        (8, "covid19", True, "needs_person"),
        (8, "pneumococcal", True, "needs_person"),  # child health care or a specialist
        (17, "pneumococcal", False, "needs_person"),
    ],
)
def test_a_child_through_a_guardian(age: int, vaccine: str, immuno: bool, code: str) -> None:
    read = TriageOutcome("vaccination", "vaccination", (), vaccine)
    verdict = eligibility(read, Patient(age, True, immuno, False), WINTER)
    assert verdict.code == code


@pytest.mark.parametrize("vaccine", ["influenza", "covid19"])
def test_the_season_is_that_of_the_visit_day(vaccine: str) -> None:
    read = TriageOutcome("vaccination", "vaccination", (), vaccine)
    elderly = Patient(80, False, False, False)
    days = {dt.date(2027, m, 15): m in (10, 11, 12, 1, 2, 3) for m in range(1, 13)}
    assert {d: eligibility(read, elderly, d).code == "ok" for d in days} == days
    assert in_season(vaccine, dt.date(2027, 3, 31)) and not in_season(vaccine, dt.date(2027, 4, 1))
    assert in_season("tbe", SUMMER) and in_season("pneumococcal", SUMMER)


@dataclass(frozen=True)
class Unit:
    id: str
    municipality: str
    lat: float
    lon: float
    services: frozenset[str] = frozenset({"vaccine:influenza", "vaccine:tbe"})
    booking: bool = True
    min_age: int = 0
    max_age: int = 130


UNITS = [
    Unit("far", "Uppsala", 59.86, 17.64),
    Unit("near", "Köping", 59.51, 15.99),
    Unit("home", "Kungsör", 59.42, 16.10),
    Unit("adults", "Kungsör", 59.42, 16.10, min_age=18),
    Unit("walk-in", "Kungsör", 59.42, 16.10, booking=False),
    Unit("no-tbe", "Kungsör", 59.42, 16.10, services=frozenset({"vaccine:influenza"})),
]


def test_fitting_units_nearest_first_by_service_age_and_booking() -> None:
    origin = place_of(UNITS, "kungsör")
    fits = fitting_units(UNITS, "vaccine:tbe", 10, origin)
    assert [f.unit.id for f in fits] == ["home", "near", "far"]
    assert fits[0].km == 0.0 and fits[1].km is not None and 5 < fits[1].km < 20
    assert [f.unit.id for f in fitting_units(UNITS, "vaccine:tbe", 40, origin)][:2] == ["adults", "home"]


def test_without_a_place_units_come_in_id_order_and_municipalities_are_listed() -> None:
    assert place_of(UNITS, "Atlantis") is None
    assert [f.unit.id for f in fitting_units(UNITS, "vaccine:influenza", 70, None)][:2] == ["adults", "far"]
    assert municipalities(UNITS) == ["Kungsör", "Köping", "Uppsala"]
