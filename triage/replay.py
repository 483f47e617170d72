"""Golden cases (JSON lines) for regression and clinical review.

One case per line: a patient, the contact reason, the findings that are true
(answered by the deterministic answerer, as in ``direkt triage eval``), and
what the result must be:

    {"name": "high fever, elderly", "entry": "seek_care", "age": 80, "months": 0, "sex": "female",
     "respondent": "self", "reason": "fever", "findings": {"fever": true, "temperature": 40.1},
     "expect": {"level": "today", "care_level": "chat_today", "profession": "nurse", "visit": "chat",
                "decided_by": "fever.high_elderly"}}

``expect`` is optional; when present, ``check`` lists every field that differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from direkt.triage.answerer import Run, check_stated, run
from direkt.triage.errors import InvalidAnswer
from direkt.triage.model import Entry, KnowledgeBase, Respondent
from direkt.triage.session import Patient


def run_case(kb: KnowledgeBase, case: Mapping[str, Any]) -> Run:
    """Answer a scripted case from its findings.

    Raises:
        InvalidAnswer: the case is not an object, or names findings the vocabulary lacks.
        AnswererError, TriageFailure: from the answerer and the engine.
    """
    if not isinstance(case, Mapping):
        raise InvalidAnswer("a case is a JSON object")
    stated = case.get("findings", {})
    if not isinstance(stated, Mapping):
        raise InvalidAnswer("'findings' is a JSON object")
    problems = check_stated(kb, stated)
    if problems:
        raise InvalidAnswer("; ".join(problems))
    months = int(case["age"]) * 12 + int(case.get("months", 0))
    patient = Patient(months, case.get("sex", "female"), Respondent(case.get("respondent", "self")))
    return run(kb, Entry(case.get("entry", "seek_care")), patient, str(case["reason"]), stated)


def outcome_fields(done: Run) -> dict[str, Any]:
    outcome = done.result
    return {
        "reason": outcome.reason_code,
        "level": outcome.level.label,
        "care_level": outcome.care_level.value,
        "urgency": outcome.urgency.name.lower() if outcome.urgency else None,
        "profession": outcome.profession.value,
        "visit": outcome.visit.name.lower() if outcome.visit is not None else None,
        "place": outcome.place.value if outcome.place is not None else None,
        "decided_by": outcome.decided_by.id if outcome.decided_by else None,
        "advice": bool(outcome.advice),
        "safety_net": bool(outcome.safety_net),
        "first_aid": bool(outcome.first_aid),
        "questions": len(done.asked),
    }


def check(kb: KnowledgeBase, case: Mapping[str, Any]) -> list[str]:
    """Differences between a case's expectation and what the engine gives."""
    got = outcome_fields(run_case(kb, case))
    expect = case.get("expect", {})
    if not isinstance(expect, Mapping):
        raise InvalidAnswer("'expect' is a JSON object of expected fields")
    return [
        f"{key}: expected {value!r}, got {got.get(key)!r}" for key, value in expect.items() if got.get(key) != value
    ]
