"""Vaccination self-booking: who may book a vaccination herself, and where (issue 24).

Pure: values in, values out (the date and the units are parameters). The
vaccination triage (triage/kb/reasons/vaccination.toml) decides whether a
person must look at the answers first; this module only reads its result:

- a rule that held (an earlier severe reaction, a fever now, a possibly live
  vaccine in pregnancy or with a weakened immune system) or a profession other
  than ``vaccination``: a person helps (the vaccination queue);
- a vaccine outside the four the source pages offer (covid-19, influenza, TBE,
  pneumococcus): a person helps;
- a child or young person under 18 wanting anything but TBE: a person helps
  (``needs_person``). Influenza is never given under 6 months, the nasal
  influenza vaccine for children 2-17 is live (not for a weakened immune
  system), covid-19 for children needs a doctor's assessment and pneumococcal
  vaccination of children belongs to child health care or a specialist: none
  of that is for a self-booked adult vaccination clinic. TBE is self-booked
  from one year of age (a guardian books for the child);
- otherwise the recommendation for the patient's age, the season of the day of
  the visit and the risk groups the triage knows about decides (``RULES``
  below, in our own words).

Age limits, on the conservative side (a higher limit sends more to a person), as
Folkhälsomyndigheten recommends them (checked December 2026):

- influenza: 65 and older, or a medical risk group; the season October to March;
- covid-19: 75 and older (the recommendations valid from 1 September 2025 raised
  the limit from 65), or an adult with a weakened immune system; the same season
  (the regions vaccinate against covid-19 once a year, from the autumn);
- pneumococcus: 75 and older (the special vaccination programme offers it the year
  a person turns 75; we ask for completed years, so a little later), or an adult
  with a weakened immune system; all year;
- TBE: from one year of age, all year.

The triage does not ask about chronic illness (heart, lung, kidney disease,
diabetes …), so below those ages the only risk group it can see is a weakened
immune system. Anyone else who believes they belong to a risk group is helped by
a person, never refused.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

SOURCES = (
    "Folkhälsomyndigheten: Rekommendationer om vaccination mot influensa (riskgrupper, säsong)",
    "Folkhälsomyndigheten: Rekommendationer om vaccination mot covid-19 (gäller från 1 september 2025)",
    "Folkhälsomyndigheten: Pneumokockvaccination som ett särskilt vaccinationsprogram för personer 75 år "
    "och äldre och för riskgrupper",
    "Folkhälsomyndigheten: Vaccination mot TBE (fästingburen hjärninflammation)",
    "Inera, Vårdguiden (the national health-advice site): Vaccinationer",
)

# The triage's answer (finding ``vaccine_wanted``) and the catalogue's service for it.
SERVICE = {
    "covid19": "vaccine:covid19",
    "influenza": "vaccine:influenza",
    "tbe": "vaccine:tbe",
    "pneumococcal": "vaccine:pneumococcus",
}
PROFESSION = "vaccination"  # the triage's profession when no rule sent the case to a nurse
INFLUENZA_FROM = 65  # influenza is recommended to everyone from this age
ELDERLY = 75  # covid-19 and pneumococcus are recommended to everyone from this age
TBE_FROM = 1  # TBE vaccination is given from one year of age
ADULT = 18
# The autumn and winter campaign for influenza and covid-19: the regions start it in October
# (their exact start date varies a little by year) and vaccinate through the winter; outside it
# a person helps (for example someone going abroad to the other hemisphere's season).
SEASON_MONTHS = frozenset({10, 11, 12, 1, 2, 3})


@dataclass(frozen=True)
class Text:
    sv: str
    en: str

    def view(self) -> dict[str, str]:
        return {"sv": self.sv, "en": self.en}


@dataclass(frozen=True)
class Patient:
    """What the vaccination triage tells about the patient."""

    age: int  # completed years
    for_child: bool  # a guardian answers and books for the child
    immunosuppressed: bool
    pregnant: bool


@dataclass(frozen=True)
class TriageOutcome:
    """The part of a finished triage this module reads."""

    reason: str  # the contact reason's code
    profession: str
    rules: tuple[str, ...]  # every rule that held
    vaccine: str  # the ``vaccine_wanted`` answer ("" if not asked)


@dataclass(frozen=True)
class Eligibility:
    """Whether the patient may book herself; if not, why (``code``) in the citizen's words."""

    eligible: bool
    code: str  # "ok", "not_vaccination", "needs_person", "other_vaccine", "season", "not_recommended"
    vaccine: str
    text: Text

    @property
    def service(self) -> str:
        return SERVICE.get(self.vaccine, "")


_PERSON = Text(
    (
        "Dina svar behöver ses av en person innan du vaccineras. Skicka dem till vaccinationsmottagningen, så"
        " hjälper vi dig."
    ),
    (
        "A person needs to see your answers before you are vaccinated. Send them to the vaccination service "
        "and we will help you."
    ),
)
_OTHER = Text(
    "Den vaccinationen kan du inte boka själv här. Skicka dina svar till vaccinationsmottagningen, så hjälper vi dig.",
    (
        "You cannot book that vaccination yourself here. Send your answers to the vaccination service and we "
        "will help you."
    ),
)
_SEASON = Text(
    (
        "Vaccination mot influensa och covid-19 ges i höst- och vintersäsongen (oktober till mars). Skicka "
        "dina svar till vaccinationsmottagningen om du har frågor, så hjälper en person dig."
    ),
    (
        "Vaccination against influenza and covid-19 is given in the autumn and winter season (October to "
        "March). Send your answers to the vaccination service if you have questions, and a person will help "
        "you."
    ),
)


def _risk(age: int) -> Text:
    return Text(
        (
            f"Vaccinationen rekommenderas dig som är {age} år eller äldre och dig som tillhör en riskgrupp, till "
            "exempel med hjärt- eller lungsjukdom, diabetes eller nedsatt immunförsvar. Tror du att du tillhör "
            "en riskgrupp? Skicka dina svar till vaccinationsmottagningen, så hjälper en person dig."
        ),
        (
            f"The vaccination is recommended if you are {age} or older or belong to a risk group, for example "
            "with heart or lung disease, diabetes or a weakened immune system. Do you think you belong to a risk"
            " group? Send your answers to the vaccination service and a person will help you."
        ),
    )


_PREGNANT = Text(
    (
        "Under graviditet beror rekommendationen på graviditetsveckan. Skicka dina svar till "
        "vaccinationsmottagningen, så hjälper en person dig."
    ),
    (
        "In pregnancy the recommendation depends on the week of pregnancy. Send your answers to the "
        "vaccination service and a person will help you."
    ),
)
_CHILD = Text(
    (
        "Barn och unga under 18 år vaccineras mot influensa, covid-19 och pneumokocker efter en bedömning av "
        "vårdpersonal (i barnhälsovården, elevhälsan eller hos en läkare). Skicka svaren till "
        "vaccinationsmottagningen, så hjälper en person er."
    ),
    (
        "Children and young people under 18 are vaccinated against influenza, covid-19 and pneumococcal "
        "disease after an assessment by health care staff (child health care, school health care or a doctor)."
        " Send the answers to the vaccination service and a person will help you."
    ),
)
_OK_CHILD = Text(  # only TBE is self-booked for a child (under 18 anything else goes to a person)
    (
        "Du kan boka en tid för barnets vaccination mot TBE själv. Vaccinet rekommenderas barn från ett års ålder"
        " som bor i eller besöker ett område där TBE finns och vistas i naturen."
    ),
    (
        "You can book a time for the child's vaccination against TBE yourself. The vaccine is recommended for "
        "children from one year of age who live in or visit an area where TBE occurs and spend time outdoors."
    ),
)
_TBE_YOUNG = Text(
    "TBE-vaccin ges från ett års ålder.",
    "TBE vaccine is given from one year of age.",
)
_OK = {
    "influenza": Text(
        "Du kan boka en tid för vaccination mot influensa själv.",
        "You can book a time for vaccination against influenza yourself.",
    ),
    "covid19": Text(
        "Du kan boka en tid för vaccination mot covid-19 själv.",
        "You can book a time for vaccination against covid-19 yourself.",
    ),
    "pneumococcal": Text(
        "Du kan boka en tid för vaccination mot pneumokocker själv.",
        "You can book a time for vaccination against pneumococcal disease yourself.",
    ),
    "tbe": Text(
        (
            "Du kan boka en tid för vaccination mot TBE själv. Vaccinet rekommenderas dig som bor i eller besöker"
            " ett område där TBE finns (till exempel skärgården och kusterna kring Mälaren och Östersjön) och "
            "vistas i naturen."
        ),
        (
            "You can book a time for vaccination against TBE yourself. The vaccine is recommended if you live in "
            "or visit an area where TBE occurs (for example the archipelagos and coasts around Lake Mälaren and "
            "the Baltic) and spend time outdoors."
        ),
    ),
}


def eligibility(triage: TriageOutcome, patient: Patient, day: dt.date) -> Eligibility:
    """Whether ``patient`` may book the vaccination of ``triage`` herself for a visit on ``day``
    (the day of the slot; for an offer, the first day it shows).

    Returns:
        ``eligible`` with ``code`` "ok", or why not: "not_vaccination" (another contact reason),
        "needs_person" (a rule held, the triage chose a nurse, or a patient under 18 wants
        anything but TBE), "other_vaccine", "season" (influenza or covid-19 outside the campaign)
        or "not_recommended" (age or risk group).
    """
    vaccine = triage.vaccine
    if triage.reason != "vaccination":
        return Eligibility(False, "not_vaccination", vaccine, _OTHER)
    if triage.rules or triage.profession != PROFESSION:
        return Eligibility(False, "needs_person", vaccine, _PERSON)
    if vaccine not in SERVICE:
        return Eligibility(False, "other_vaccine", vaccine, _OTHER)
    if patient.age < ADULT and vaccine != "tbe":
        return Eligibility(False, "needs_person", vaccine, _CHILD)
    refused = RULES[vaccine](patient, day)
    if refused is not None:
        code, text = refused
        return Eligibility(False, code, vaccine, text)
    return Eligibility(True, "ok", vaccine, _OK_CHILD if patient.for_child else _OK[vaccine])


def in_season(vaccine: str, day: dt.date) -> bool:
    """Whether ``vaccine`` is given on ``day``: influenza and covid-19 only in the campaign."""
    return vaccine not in SEASONAL or day.month in SEASON_MONTHS


SEASONAL = frozenset({"influenza", "covid19"})

Refusal = tuple[str, Text] | None


def _risk_or_age(patient: Patient, from_age: int) -> Refusal:
    # Only adults get here (``eligibility`` sends every child but TBE's to a person).
    if patient.age >= from_age or (patient.immunosuppressed and patient.age >= ADULT):
        return None
    return ("not_recommended", _PREGNANT if patient.pregnant else _risk(from_age))


def _influenza(patient: Patient, day: dt.date) -> Refusal:
    # Folkhälsomyndigheten: 65 and older and medical risk groups, and pregnant women from a week of
    # pregnancy the triage does not ask: those go to a person.
    if not in_season("influenza", day):
        return ("season", _SEASON)
    return _risk_or_age(patient, INFLUENZA_FROM)


def _covid19(patient: Patient, day: dt.date) -> Refusal:
    # Folkhälsomyndigheten (from 1 September 2025): 75 and older, adults with a weakened immune
    # system (and others with risk conditions from 50, which the triage does not ask: a person).
    if not in_season("covid19", day):
        return ("season", _SEASON)
    return _risk_or_age(patient, ELDERLY)


def _pneumococcal(patient: Patient, day: dt.date) -> Refusal:
    # Folkhälsomyndigheten: the special programme for those turning 75 and for risk groups, all year.
    return _risk_or_age(patient, ELDERLY)


def _tbe(patient: Patient, day: dt.date) -> Refusal:
    # Folkhälsomyndigheten: for those who live in or visit a risk area, from one year of age,
    # all year (the basic doses are best begun in winter or spring, before the tick season).
    return None if patient.age >= TBE_FROM else ("not_recommended", _TBE_YOUNG)


RULES = {"influenza": _influenza, "covid19": _covid19, "pneumococcal": _pneumococcal, "tbe": _tbe}


# -- which units ------------------------------------------------------------------------


class VaccinationUnit(Protocol):
    """What a catalogue unit (``direkt.server.care.catalogue.CareUnit``) offers this module."""

    @property
    def id(self) -> str: ...
    @property
    def services(self) -> frozenset[str]: ...
    @property
    def booking(self) -> bool: ...
    @property
    def min_age(self) -> int: ...
    @property
    def max_age(self) -> int: ...
    @property
    def municipality(self) -> str: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...


U = TypeVar("U", bound=VaccinationUnit)


@dataclass(frozen=True)
class Fit(Generic[U]):
    """A unit that fits, and how far it is from the chosen place (km; None: no place known)."""

    unit: U
    km: float | None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The great-circle distance between two (lat, lon) points (haversine, Earth radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def place_of(units: Iterable[VaccinationUnit], municipality: str) -> tuple[float, float] | None:
    """A municipality's point: the middle of the catalogue's units there (None: no unit there)."""
    points = [(u.lat, u.lon) for u in units if u.municipality.casefold() == municipality.casefold()]
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def municipalities(units: Iterable[VaccinationUnit]) -> list[str]:
    """Every municipality the catalogue names, in Swedish alphabetical order (å, ä, ö after z)."""
    return sorted({u.municipality for u in units if u.municipality}, key=swedish_order)


_SWEDISH = str.maketrans({"å": "z\x01", "ä": "z\x02", "ö": "z\x03", "é": "e", "ü": "y"})


def swedish_order(name: str) -> str:
    """A sort key that puts å, ä and ö after z, as a Swedish reader expects."""
    return name.casefold().translate(_SWEDISH)


def fitting_units(units: Sequence[U], service: str, age: int, origin: tuple[float, float] | None) -> list[Fit[U]]:
    """The units that vaccinate with ``service``, take bookings and take a patient of ``age``:
    nearest ``origin`` first (in id order when no place is known)."""
    fits = [
        Fit(u, round(distance_km(origin, (u.lat, u.lon)), 1) if origin else None)
        for u in units
        if service in u.services and u.booking and u.min_age <= age <= u.max_age
    ]
    return sorted(fits, key=lambda f: (f.km if f.km is not None else 0.0, f.unit.id))


def read_triage(reason: str, profession: str, rules: Sequence[str], facts: Mapping[str, object]) -> TriageOutcome:
    """What this module reads of a triage's result (``direkt.triage.outcome.Result``) and its walk's facts."""
    wanted = facts.get("vaccine_wanted")
    return TriageOutcome(reason, profession, tuple(rules), wanted if isinstance(wanted, str) else "")


def patient_of(age: int, for_child: bool, facts: Mapping[str, object]) -> Patient:
    """The patient as the triage knows them: only a "yes" counts as a risk group or a pregnancy."""
    return Patient(age, for_child, facts.get("immunosuppressed") is True, facts.get("pregnant") is True)
