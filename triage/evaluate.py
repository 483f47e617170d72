"""Scoring the triage on clinical vignettes, with the measures the literature uses.

A vignette (one JSON object per line):

    {"id": "A01", "entry": "seek_care", "age": 34, "months": 0, "sex": "female",
     "respondent": "self", "reason": "headache",
     "findings": {"fever": true, "temperature": 38.9, "stiff_neck": true},
     "gold": "emergency", "acceptable": null, "story": "..."}

The deterministic answerer (``direkt.triage.answerer``) answers every question
from the findings. Results and gold standards compare on four care levels, as
in Semigran et al. 2015 and Hill et al. 2020: emergency (112 or the emergency
department now), same day, within days, self-care. ``acceptable`` names one
level more urgent that a reviewer would also accept. A golden case (``expect``
with a ``level``) is scored against its expected level.

Measures: exact (accuracy), acceptable, safe (never less urgent than gold),
under-triage, over-triage, emergency sensitivity, self-care recognised
(sensitivity for self-care), self-care specificity (of the cases that need
care, the share not sent to self-care), and the questions asked.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from direkt.triage.answerer import AnswererError, check_stated, run
from direkt.triage.errors import TriageFailure
from direkt.triage.model import Entry, KnowledgeBase, Level, Respondent
from direkt.triage.session import Patient

GOLD = ("self_care", "within_days", "same_day", "emergency")  # least to most urgent
RANK = {name: i for i, name in enumerate(GOLD)}


def gold_level(level: Level) -> str:
    """The four-level care level of an engine level."""
    if level >= Level.EMERGENCY_DEPARTMENT:
        return "emergency"
    if level >= Level.TODAY:
        return "same_day"
    return "within_days" if level is Level.DAYS else "self_care"


@dataclass(frozen=True)
class Scored:
    id: str
    gold: str
    acceptable: str | None
    got: str | None  # None: the vignette could not be run
    level: str | None
    care_level: str | None
    decided_by: str | None
    asked: tuple[str, ...]
    unasked: tuple[str, ...]  # findings stated true that no question asked
    error: str | None = None

    @property
    def exact(self) -> bool:
        return self.got == self.gold

    @property
    def accepted(self) -> bool:
        return self.exact or (self.got is not None and self.got == self.acceptable)

    @property
    def under(self) -> bool:
        return self.got is not None and RANK[self.got] < RANK[self.gold]

    @property
    def over(self) -> bool:
        return self.got is not None and RANK[self.got] > RANK[self.gold]


def score(kb: KnowledgeBase, vignette: Mapping[str, Any]) -> Scored:
    """Run one vignette; a vignette that cannot run is scored as an error, never silently dropped."""
    vid = str(vignette.get("id", vignette.get("name", "?")))
    gold, acceptable = vignette.get("gold") or _expected(vignette), vignette.get("acceptable")
    if gold not in RANK or (acceptable is not None and acceptable not in RANK):
        return Scored(vid, str(gold), None, None, None, None, None, (), (), f"gold must be one of {GOLD}")
    stated = vignette.get("findings") or {}
    problems = check_stated(kb, stated) if isinstance(stated, Mapping) else ["findings is an object"]
    if problems:
        return Scored(vid, gold, acceptable, None, None, None, None, (), (), "; ".join(problems))
    try:
        patient = Patient(
            int(vignette["age"]) * 12 + int(vignette.get("months", 0)),
            str(vignette["sex"]),
            Respondent(vignette.get("respondent", "self")),
        )
        done = run(kb, Entry(vignette.get("entry", "seek_care")), patient, str(vignette["reason"]), stated)
    except (TriageFailure, AnswererError, KeyError, ValueError, TypeError) as exc:
        return Scored(vid, gold, acceptable, None, None, None, None, (), (), f"{type(exc).__name__}: {exc}")
    outcome = done.result
    asked_findings = {f for q in kb.questions().values() if q.id in done.asked for f in q.asks}
    unasked = tuple(sorted(f for f, v in stated.items() if v is True and f not in asked_findings))
    return Scored(
        vid,
        gold,
        acceptable,
        gold_level(outcome.level),
        outcome.level.label,
        outcome.care_level.value,
        outcome.decided_by.id if outcome.decided_by else None,
        done.asked,
        unasked,
    )


def _expected(case: Mapping[str, Any]) -> str | None:
    """A golden case's expected level as a gold care level (golden cases name the engine's level)."""
    expect = case.get("expect")
    level = expect.get("level") if isinstance(expect, Mapping) else None
    try:
        return gold_level(Level.parse(level)) if isinstance(level, str) else None
    except KeyError:
        return None


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def measures(scored: Sequence[Scored]) -> dict[str, Any]:
    """The figures over a set of scored vignettes (percentages, and counts beside them)."""
    ran = [s for s in scored if s.got is not None]
    n = len(ran)
    emergencies = [s for s in ran if s.gold == "emergency"]
    self_care = [s for s in ran if s.gold == "self_care"]
    need_care = [s for s in ran if s.gold != "self_care"]
    counts = [len(s.asked) for s in ran]
    return {
        "vignettes": len(scored),
        "errors": len(scored) - n,
        "exact": _share(sum(s.exact for s in ran), n),
        "acceptable": _share(sum(s.accepted for s in ran), n),
        "safe": _share(sum(not s.under for s in ran), n),
        "under_triage": _share(sum(s.under for s in ran), n),
        "over_triage": _share(sum(s.over for s in ran), n),
        "emergency_sensitivity": _share(sum(s.got == "emergency" for s in emergencies), len(emergencies)),
        "emergencies_caught": f"{sum(s.got == 'emergency' for s in emergencies)} of {len(emergencies)}",
        "self_care_recognised": f"{sum(s.got == 'self_care' for s in self_care)} of {len(self_care)}",
        "self_care_sensitivity": _share(sum(s.got == "self_care" for s in self_care), len(self_care)),
        "self_care_specificity": _share(sum(s.got != "self_care" for s in need_care), len(need_care)),
        "questions_median": statistics.median(counts) if counts else None,
        "questions_max": max(counts, default=None),
        "by_gold": {
            gold: {
                "n": len(group),
                "exact": _share(sum(s.exact for s in group), len(group)),
                "safe": _share(sum(not s.under for s in group), len(group)),
                "under": sum(s.under for s in group),
                "over": sum(s.over for s in group),
            }
            for gold in reversed(GOLD)
            for group in [[s for s in ran if s.gold == gold]]
        },
    }


def row(s: Scored) -> dict[str, Any]:
    mark = "error" if s.got is None else "exact" if s.exact else "under" if s.under else "over"
    return {
        "id": s.id,
        "gold": s.gold,
        "acceptable": s.acceptable,
        "got": s.got,
        "mark": mark,
        "level": s.level,
        "care_level": s.care_level,
        "decided_by": s.decided_by,
        "questions": len(s.asked),
        "asked": list(s.asked),
        "unasked_findings": list(s.unasked),
        "error": s.error,
    }
