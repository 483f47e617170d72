"""The triage engine: pure, deterministic session logic.

A session is its inputs — knowledge-base version, entry, patient, and the
answers in the order given — and everything else (the next question, the
result) is computed from them by walking the knowledge base. No I/O, no
clock, no randomness: the same answers give the same result for the life of
a knowledge-base version.

This module holds what its callers do with a session: start it (after the
age and respondent rules), answer, change an earlier answer, go back, get the
result, store and load it. The parts it is built from: ``session`` (the
values), ``walk`` (which question comes next), ``answers`` (what an answer may
be and which findings it sets) and ``outcome`` (the result of a finished walk:
the highest level any holding rule reaches, or the reason's base level: when
in doubt, triage up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import msgpack

from direkt.triage.answers import validate_answer
from direkt.triage.errors import InvalidAnswer, NotAsked, NotEligible
from direkt.triage.expr import FactValue
from direkt.triage.model import SEXES, Entry, KnowledgeBase, Respondent
from direkt.triage.outcome import Result, outcome
from direkt.triage.session import Answer, Asked, Patient, Session
from direkt.triage.walk import check_version, walk

MAX_STORED_ANSWERS = 64


# -- starting ----------------------------------------------------------------------


def start(kb: KnowledgeBase, entry: Entry, patient: Patient) -> Session:
    """Open a session after the age and respondent rules.

    Raises:
        NotEligible: with a text that says where to turn instead.
    """
    check_eligible(kb, entry, patient)
    return Session(kb.version, entry, patient)


def _refuse(sv: str, en: str) -> NotEligible:
    return NotEligible(en, {"sv": sv, "en": en})


def check_eligible(kb: KnowledgeBase, entry: Entry, patient: Patient) -> None:
    months, respondent = patient.age_months, patient.respondent
    if type(months) is not int or not 0 <= months <= 120 * 12 + 11:
        raise NotEligible("age must be a whole number of months between 0 and 120 years")
    if patient.sex not in SEXES:
        raise NotEligible(f"sex must be one of {sorted(SEXES)}")
    age = patient.age
    if entry is Entry.CHILD_HEALTH:
        if respondent is not Respondent.GUARDIAN or age >= 6:
            raise _refuse(
                "Barnhälsovården är för barn under 6 år, och det är en vårdnadshavare som svarar.",
                "Child health care is for children under 6, and a guardian answers.",
            )
        return
    if age < 1:
        signs = kb.screen.warning_signs
        refusal = kb.screen.refusal_under_one
        raise _refuse(f"{refusal.sv}\n{signs.sv}", f"{refusal.en}\n{signs.en}")
    if respondent is Respondent.GUARDIAN and age >= 13:
        raise _refuse(
            "Från 13 år loggar den unga in själv med sin e-legitimation. Du kan också ringa 1177 för råd.",
            "From 13, the young person logs in themselves with their own e-ID. You can also call 1177 for advice.",
        )
    if respondent is Respondent.SELF and age < 13:
        raise _refuse(
            "Barn under 13 år behöver en vårdnadshavare som svarar åt dem.",
            "Children under 13 need a guardian to answer for them.",
        )
    if entry is Entry.YOUTH_CLINIC and not 13 <= age <= 23:
        raise _refuse("Ungdomsmottagningen är för dig som är 13–23 år.", "The youth clinic is for people aged 13–23.")


def next_question(kb: KnowledgeBase, session: Session) -> Asked | None:
    return walk(kb, session).pending


# -- answering -----------------------------------------------------------------------


def answer(kb: KnowledgeBase, session: Session, question_id: str, value: object) -> Session:
    """Answer the current question.

    Raises:
        NotAsked: ``question_id`` is not the question being asked.
        InvalidAnswer: the value does not fit the question (an implausible number says so).
    """
    current = _check_asked(walk(kb, session).pending, question_id)
    answered = (*session.answers, (question_id, validate_answer(current, value)))
    return replace(session, answers=answered)


def _check_asked(current: Asked | None, question_id: str) -> Asked:
    if current is None or current.id != question_id:
        asked = current.id if current else "nothing (the session is complete)"
        raise NotAsked(f"question {question_id!r} is not being asked; the current question is {asked}")
    return current


def change(kb: KnowledgeBase, session: Session, question_id: str, value: object) -> Session:
    """Go back and change an earlier answer; every later question re-evaluates.

    Later answers are kept where their question is still asked the same way,
    and dropped where it no longer is.

    Raises:
        NotAsked: the question has not been answered.
        InvalidAnswer: the new value does not fit the question.
    """
    check_version(kb, session)
    position = next((i for i, (qid, _) in enumerate(session.answers) if qid == question_id), None)
    if position is None:
        raise NotAsked(f"question {question_id!r} has not been answered, so it cannot be changed")
    before = replace(session, answers=session.answers[:position])
    current = answer(kb, before, question_id, value)
    rest = replace(current, answers=current.answers + session.answers[position + 1 :])
    kept = walk(kb, rest, lenient=True)
    return replace(session, answers=tuple((a.id, v) for a, v in kept.answered))


def back(kb: KnowledgeBase, session: Session) -> Session:
    """Drop the last answer."""
    check_version(kb, session)
    return replace(session, answers=session.answers[:-1])


# -- the result ----------------------------------------------------------------------


def result(kb: KnowledgeBase, session: Session) -> Result | None:
    """The outcome, or None while questions remain."""
    state = walk(kb, session)
    if not state.done:
        return None
    return outcome(kb, state)


# -- storage -----------------------------------------------------------------------


def dump(session: Session) -> bytes:
    """A compact msgpack value for Redis (format 2)."""
    patient = session.patient
    answers = [[qid, list(v) if isinstance(v, tuple) else v] for qid, v in session.answers]
    return msgpack.packb(  # type: ignore[no-any-return]
        {
            "f": 2,
            "v": session.version,
            "e": session.entry.value,
            "p": [patient.age_months, patient.sex, patient.respondent.value],
            "a": answers,
        }
    )


def parse(blob: bytes) -> Session:
    """A stored session as it was stored, whatever its knowledge-base version.

    Raises:
        InvalidAnswer: the value is not a stored session of format 2.
    """
    try:
        raw = msgpack.unpackb(blob)
        if raw["f"] != 2:
            raise ValueError("format")
        version, entry, (months, sex, respondent), answers = raw["v"], Entry(raw["e"]), raw["p"], raw["a"]
        if not isinstance(version, str) or not isinstance(answers, list) or len(answers) > MAX_STORED_ANSWERS:
            raise ValueError("answers")
        pairs = tuple((qid, _stored_value(value)) for qid, value in answers)
        if not all(isinstance(qid, str) for qid, _ in pairs):
            raise ValueError("question id")
        return Session(version, entry, Patient(months, sex, Respondent(respondent)), pairs)
    except (ValueError, TypeError, KeyError, OverflowError, msgpack.UnpackException) as exc:
        raise InvalidAnswer(f"not a stored triage session ({type(exc).__name__})") from None


def _stored_value(value: object) -> Answer:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError("answer")
    return value if isinstance(value, str) else float(value)


def load(kb: KnowledgeBase, blob: bytes) -> Session:
    """Read a stored session; every answer is validated again on ``kb``.

    Raises:
        StaleSession: it was made with another knowledge-base version.
        InvalidAnswer: the value is not a session, or an answer does not fit.
        NotEligible: the stored patient breaks the age and respondent rules.
    """
    session = parse(blob)
    check_version(kb, session)
    check_eligible(kb, session.entry, session.patient)  # the age rules hold for stored sessions too
    state = walk(kb, session)
    if len(state.answered) != len(session.answers):
        raise InvalidAnswer("not a stored triage session (answers to questions that are not asked)")
    return session


def facts(kb: KnowledgeBase, session: Session) -> Mapping[str, FactValue]:
    """What the session's answers established, by finding id."""
    return dict(walk(kb, session).facts)
