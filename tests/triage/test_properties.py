"""Properties of the real knowledge base, over random patients and random answers.

* determinism: the same answers give the same questions and the same result;
* a present red flag never lowers the level;
* no finding is asked twice on one path;
* every path ends;
* no question or option is shown to a patient it cannot apply to (ages 1–110, both sexes);
* every sign on the red-flag screen ends in 112 whatever the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from direkt.triage import engine
from direkt.triage import expr as ex
from direkt.triage.answerer import choose, run
from direkt.triage.engine import answer, next_question, result, start
from direkt.triage.errors import NotEligible
from direkt.triage.loader import load
from direkt.triage.model import SCREENED, Entry, Level, QuestionKind, Reason, Respondent
from direkt.triage.paths import patients
from direkt.triage.plain import Reader, question_view
from direkt.triage.session import REASON_QUESTION, Asked, Patient, Session
from direkt.triage.walk import walk

KB = load(walk_paths=False)
REASONS = sorted(KB.reasons.values(), key=lambda r: r.code)
MEDICAL = [r for r in REASONS if r.entries & SCREENED]
SCREEN = KB.screen.question
# One strategy, made once: hypothesis labels a sampled_from by hashing its elements, and a reason
# hashes deeply (every question, rule and text); made inside ``sessions`` it cost a third of the time.
REASON_CHOICE = st.sampled_from(REASONS)


def patient_for(reason: Reason, age: int, sex: str) -> tuple[Entry, Patient] | None:
    entry = Entry.SEEK_CARE if Entry.SEEK_CARE in reason.entries else sorted(reason.entries)[0]
    if not (reason.min_age <= age <= reason.max_age) or sex not in reason.sexes:
        return None
    respondent = Respondent.GUARDIAN if age <= 12 else Respondent.SELF
    patient = Patient.aged(age, sex, respondent)
    try:
        engine.check_eligible(KB, entry, patient)
    except NotEligible:
        return None
    return entry, patient


@st.composite
def sessions(draw: st.DrawFn) -> tuple[Session, list[str]]:
    """A finished session with random answers, and the ids of the questions asked."""
    reason = draw(REASON_CHOICE)
    entry, patient = draw(st.sampled_from(patients(KB, reason)))
    session = start(KB, entry, patient)
    asked: list[str] = []
    while (question := next_question(KB, session)) is not None:
        assert len(asked) < 40, "a path that does not end"
        asked.append(question.id)
        if question.id == SCREEN.id:
            value: Any = draw(st.sampled_from([["none"], ["none"], ["none"], [question.options[0].id]]))
        elif question.id == REASON_QUESTION:
            value = reason.code
        else:
            value = draw(answers(question))
        session = answer(KB, session, question.id, value)
    return session, asked


def answers(asked: Asked) -> st.SearchStrategy[Any]:
    kind = asked.kind
    if kind is QuestionKind.CHECKLIST:
        ids = [o.id for o in asked.options if not o.exclusive]
        return st.one_of(st.just(["none"]), st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True))
    if kind.has_options:
        return st.sampled_from([o.id for o in asked.options])
    if kind is QuestionKind.NUMBER:
        finding = asked.finding
        assert finding is not None and finding.low is not None and finding.high is not None
        numbers = (
            st.integers(int(finding.low), int(finding.high))
            if finding.integer
            else st.floats(finding.low, finding.high).map(lambda x: round(x, 1))
        )
        return st.one_of(numbers, st.just(asked.skip.id)) if asked.skip else numbers
    return st.just("" if kind is QuestionKind.TEXT else "skip")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_same_answers_same_questions_same_result(case: tuple[Session, list[str]]) -> None:
    session, asked = case
    replayed = start(KB, session.entry, session.patient)
    again: list[str] = []
    for qid, value in session.answers:
        again.append(qid)
        replayed = answer(KB, replayed, qid, value)
    assert again == asked
    assert result(KB, replayed) == result(KB, session) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_no_finding_is_asked_twice(case: tuple[Session, list[str]]) -> None:
    session, _ = case
    walked = walk(KB, session)
    seen: list[str] = [f for asked, _ in walked.answered for f in asked.asks]
    assert len(seen) == len(set(seen))


RED_FLAG_FINDINGS = sorted(
    {f for r in KB.rules(None) if r.level >= Level.EMERGENCY_DEPARTMENT for f in ex.findings(r.when)}
    | {f for reason in REASONS for r in reason.rules if r.level is Level.CALL_112 for f in ex.findings(r.when)}
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(REASONS),
    st.data(),
)
def test_adding_a_present_red_flag_never_lowers_the_level(reason: Reason, data: st.DataObject) -> None:
    entry, patient = data.draw(st.sampled_from(patients(KB, reason)))
    pool = sorted(f for q in reason.questions for f in q.asks) + list(SCREEN.asks)
    stated: dict[str, object] = {f: True for f in data.draw(st.lists(st.sampled_from(pool), max_size=4, unique=True))}
    flag = data.draw(st.sampled_from(RED_FLAG_FINDINGS))
    before = run(KB, entry, patient, reason.code, stated).result.level
    after = run(KB, entry, patient, reason.code, {**stated, flag: True}).result.level
    assert after >= before, (flag, stated)


@pytest.mark.parametrize("reason", MEDICAL, ids=lambda r: r.code)
def test_every_screen_sign_ends_in_112_for_every_reason(reason: Reason) -> None:
    for entry, patient in patients(KB, reason):
        shown = next_question(KB, start(KB, entry, patient))
        assert shown is not None and shown.id == SCREEN.id
        for option in shown.options:
            if option.exclusive:
                continue
            session = answer(KB, start(KB, entry, patient), SCREEN.id, [option.id])
            outcome = result(KB, session)
            assert outcome is not None and outcome.level is Level.CALL_112, (reason.code, option.id)
            assert outcome.first_aid


@pytest.mark.parametrize("reason", REASONS, ids=lambda r: r.code)
def test_no_option_is_shown_to_a_patient_it_cannot_apply_to(reason: Reason) -> None:
    """Every question and option, walked for every age 1–110 and both sexes with the answers that open most."""
    stated = _opening(reason)
    for age in range(1, 111):
        for sex in ("female", "male"):
            who = patient_for(reason, age, sex)
            if who is None:
                continue
            entry, patient = who
            for asked in _shown(entry, patient, reason, stated):
                for finding_id in asked.asks:
                    finding = KB.findings[finding_id]
                    assert finding.applies_to(age, sex), (reason.code, asked.id, finding_id, age, sex)


def _opening(reason: Reason) -> Mapping[str, object]:
    """Yes to everything the reason asks that does not end the questions early (once per reason)."""
    return {
        f: True
        for q in reason.questions
        for f in q.asks
        if KB.findings[f].type.value == "presence"
        and not any(r.level >= Level.CALL_1177 and f in ex.findings(r.when) for r in KB.rules(reason))
    }


def _shown(entry: Entry, patient: Patient, reason: Reason, stated: Mapping[str, object]) -> list[Asked]:
    """The questions of a path that answers ``stated`` (``_opening``): yes to all it can without ending early."""
    session = start(KB, entry, patient)
    shown: list[Asked] = []
    while (asked := next_question(KB, session)) is not None:
        shown.append(asked)
        session = answer(KB, session, asked.id, choose(question_view(asked, Reader()), stated, reason.code))
    return shown
