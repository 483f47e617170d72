"""The deterministic answerer: a patient who answers every question from a list of findings.

A vignette (or a test, or a load client) states the findings that are true
of the patient; the answerer answers each question as that patient would:

    a presence finding listed as true        -> ticked / "yes"
    listed as "unknown"                     -> "don't know" where offered, else "no"
    not listed (or false)                    -> not ticked / "no"
    a number listed                          -> the number
    a measurement not listed                 -> "not measured"
    another number not listed                -> "don't know" (the vignette must give it if none is offered)
    a choice listed                          -> that value
    a choice not listed                      -> "don't know" where offered, else the finding's normal value
    the contact reason                       -> the vignette's reason
    free text, photo                         -> left empty, skipped

Pure: it only chooses answers; ``run`` drives the engine with them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from direkt.triage.engine import start
from direkt.triage.errors import InvalidAnswer
from direkt.triage.model import Entry, FindingType, KnowledgeBase
from direkt.triage.outcome import Result, outcome
from direkt.triage.plain import Reader, question_view
from direkt.triage.session import (
    DONT_KNOW,
    NO,
    NONE,
    NOT_MEASURED_ID,
    REASON_QUESTION,
    SKIP,
    YES,
    Asked,
    Patient,
    Session,
)
from direkt.triage.walk import walk

READER = Reader()
Stated = Mapping[str, object]  # finding id -> True / False / "unknown" / "not_measured" / number / value id
MAX_QUESTIONS = 64


class AnswererError(ValueError):
    """The findings cannot answer a question (a number with no value and no "don't know")."""


def choose(question: Mapping[str, Any], stated: Stated, reason: str) -> object:
    """The answer of a patient of whom ``stated`` is true, to a question as the widget gets it
    (``direkt.triage.plain.question_view``): the same answerer serves the evaluation, the
    tests and the scripted load clients, which see only the HTTP API."""
    qid, kind = question["id"], question["kind"]
    if qid == REASON_QUESTION:
        return reason
    if kind in ("text", "photo"):
        return "" if kind == "text" else SKIP
    offered = [o["id"] for o in question["options"]]
    if kind == "checklist":
        chosen = [o["id"] for o in question["options"] if not o["exclusive"] and stated.get(o["id"]) is True]
        return chosen or [NONE]
    value = stated.get(question["asks"][0])
    skip = question["skip"]["id"] if question.get("skip") else None
    return _ANSWERS[kind](question, value, offered, skip)


def _yes_no(question: Mapping[str, Any], value: object, offered: list[str], skip: str | None) -> object:
    if value is True:
        return YES
    return DONT_KNOW if value == DONT_KNOW and DONT_KNOW in offered else NO


def _choice(question: Mapping[str, Any], value: object, offered: list[str], skip: str | None) -> object:
    if isinstance(value, str) and value in offered:
        return value
    if DONT_KNOW in offered:
        return DONT_KNOW
    if question.get("normal") in offered:
        return question["normal"]
    raise AnswererError(f"{question['id']}: state a value ({sorted(offered)})")


def _number(question: Mapping[str, Any], value: object, offered: list[str], skip: str | None) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if skip is not None:
        return skip
    raise AnswererError(f"{question['id']}: state a number for {question['asks'][0]}")


_ANSWERS: dict[str, Callable[[Mapping[str, Any], object, list[str], str | None], object]] = {
    "yesno": _yes_no,
    "choice": _choice,
    "number": _number,
}


@dataclass(frozen=True)
class Run:
    """A finished session and the questions it took."""

    session: Session
    result: Result
    asked: tuple[str, ...]


def run(kb: KnowledgeBase, entry: Entry, patient: Patient, reason: str, stated: Stated) -> Run:
    """Answer a whole session from ``stated``.

    Raises:
        AnswererError: the findings cannot answer a question.
        InvalidAnswer, NotEligible: from the engine (an implausible number, an ineligible patient).
    """
    asked: list[str] = []

    def respond(question: Asked) -> object:
        if len(asked) >= MAX_QUESTIONS:
            raise AnswererError(f"more than {MAX_QUESTIONS} questions")
        asked.append(question.id)
        return choose(question_view(question, READER), stated, reason)

    state = walk(kb, start(kb, entry, patient), respond=respond)
    if not state.done:
        raise InvalidAnswer("the session did not finish")
    return Run(state.session, outcome(kb, state), tuple(asked))


def check_stated(kb: KnowledgeBase, stated: Stated) -> list[str]:
    """Problems with stated findings: unknown ids and values of the wrong kind."""
    problems = []
    for finding_id, value in stated.items():
        finding = kb.findings.get(finding_id)
        if finding is None:
            problems.append(f"no finding {finding_id!r} in the vocabulary")
        elif finding.type is FindingType.PRESENCE and value not in (True, False, DONT_KNOW):
            problems.append(f"{finding_id}: true, false or 'unknown', not {value!r}")
        elif finding.type is FindingType.CHOICE and value not in {v.id for v in finding.values} | {DONT_KNOW}:
            problems.append(f"{finding_id}: one of {[v.id for v in finding.values]} or 'unknown', not {value!r}")
        elif finding.type is FindingType.NUMBER and not _number_like(value):
            problems.append(f"{finding_id}: a number, 'unknown' or 'not_measured', not {value!r}")
    return problems


def _number_like(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or value in (DONT_KNOW, NOT_MEASURED_ID)
