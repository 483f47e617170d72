"""Scripted answer sets (JSON lines) for regression and clinical review.

One case per line:

    {"name": "high fever, elderly", "entry": "seek_care", "age": 80, "sex": "female",
     "proxy": "self", "answers": [["redflags.now", ["none"]], ["reason", "fever"], ...],
     "expect": {"level": "today", "care_level": "chat_today", "profession": "nurse", "visit": "chat"}}

``expect`` is optional; when present, ``check`` lists every field that differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from direkt.server.errors import InvalidAnswer
from direkt.triage.engine import Patient, Result, answer, result, start
from direkt.triage.model import Entry, KnowledgeBase, Proxy


def run_case(kb: KnowledgeBase, case: Mapping[str, Any]) -> Result | None:
    """Answer a scripted case; None when its answers stop before the end."""
    if not isinstance(case, Mapping):
        raise InvalidAnswer("a case is a JSON object")
    patient = Patient(case["age"], case.get("sex", "female"), Proxy(case.get("proxy", "self")))
    session = start(kb, Entry(case.get("entry", "seek_care")), patient)
    for question_id, value in case["answers"]:
        session = answer(kb, session, question_id, value)
    return result(kb, session)


def outcome_fields(outcome: Result | None) -> dict[str, Any]:
    if outcome is None:
        return {"level": None}
    return {
        "reason": outcome.reason_code,
        "level": outcome.level.name.lower(),
        "care_level": outcome.care_level.value,
        "urgency": outcome.urgency.name.lower() if outcome.urgency else None,
        "profession": outcome.profession.value,
        "visit": outcome.visit.name.lower(),
        "red_flag": outcome.red_flag is not None,
        "advice": outcome.advice is not None,
        "notes": len(outcome.notes),
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
