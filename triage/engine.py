"""The triage engine: pure, deterministic session logic.

A session is its inputs — knowledge-base version, entry, patient, and the
answers in the order given — and everything else (the next question, the
result) is computed from them by walking the knowledge base. No I/O, no
clock, no randomness: the same answers give the same result for the life of
a knowledge-base version.

The walk: the red-flag screen (for medical entries), the choice of contact
reason, then the reason's questions in reading order, each shown only if its
conditions on earlier answers hold. Any red-flag answer ends the session at
once with "call 112 now". The level of the result is the highest level any
answer, the reason's base level or an age rule reaches: when in doubt,
triage up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgpack

from direkt.queue.model import Skill
from direkt.queue.urgency import Urgency
from direkt.server.errors import InvalidAnswer, NotAsked, NotEligible, StaleSession
from direkt.triage.model import (
    CARE_LEVEL,
    SEXES,
    URGENCY,
    CareLevel,
    Condition,
    ContactReason,
    Effect,
    Entry,
    Kind,
    KnowledgeBase,
    Level,
    Option,
    Proxy,
    Question,
    Text,
    VisitForm,
)

Answer = str | float | tuple[str, ...]
REASON_QUESTION = "reason"
MAX_TEXT = 2000
MAX_STORED_ANSWERS = 64
PHOTO_REF = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SCREENED = frozenset({Entry.SEEK_CARE, Entry.YOUTH_CLINIC, Entry.CHILD_HEALTH})


@dataclass(frozen=True)
class Patient:
    age: int
    sex: str
    proxy: Proxy = Proxy.SELF


@dataclass(frozen=True)
class Session:
    version: str
    entry: Entry
    patient: Patient
    answers: tuple[tuple[str, Answer], ...] = ()

    def answer_to(self, question_id: str) -> Answer | None:
        return next((value for qid, value in self.answers if qid == question_id), None)


@dataclass(frozen=True)
class Result:
    reason_code: str
    reason_label: Text
    level: Level
    care_level: CareLevel
    urgency: Urgency | None
    profession: Skill
    visit: VisitForm
    advice: Text | None
    red_flag: Text | None
    summary: tuple[tuple[Text, Text], ...]
    version: str
    notes: tuple[Text, ...] = ()  # first aid and where to turn, from the answers, in reading order


EMERGENCY_LABEL = Text("Akut tillstånd", "Emergency")


# -- starting ----------------------------------------------------------------------


def start(kb: KnowledgeBase, entry: Entry, patient: Patient) -> Session:
    """Open a session after the age and proxy rules.

    Raises:
        NotEligible: with a message that says where to turn instead.
    """
    check_eligible(kb, entry, patient)
    return Session(kb.version, entry, patient)


def check_eligible(kb: KnowledgeBase, entry: Entry, patient: Patient) -> None:
    age, proxy = patient.age, patient.proxy
    if type(age) is not int or not 0 <= age <= 120:
        raise NotEligible("age must be a whole number of years between 0 and 120")
    if patient.sex not in SEXES:
        raise NotEligible(f"sex must be one of {sorted(SEXES)}")
    if age < 1 and entry is not Entry.CHILD_HEALTH:
        raise NotEligible(kb.refusal_under_one.sv + "\n" + kb.warning_signs.sv)
    if entry is Entry.CHILD_HEALTH:
        if proxy is not Proxy.GUARDIAN or age >= 6:
            raise NotEligible("Barnhälsovården är för barn under 6 år, via vårdnadshavare.")
    elif proxy is Proxy.GUARDIAN and not 1 <= age <= 12:
        raise NotEligible("En vårdnadshavare kan bara svara för barn 1–12 år.")
    elif proxy is Proxy.SELF and age < 13:
        raise NotEligible("Barn under 13 år behöver en vårdnadshavare som svarar åt dem.")
    if entry is Entry.YOUTH_CLINIC and not (13 <= age <= 23 and proxy is Proxy.SELF):
        raise NotEligible("Ungdomsmottagningen är för dig som är 13–23 år.")


# -- walking -----------------------------------------------------------------------


def reason_question(kb: KnowledgeBase, session: Session) -> Question:
    """The choice of contact reason, limited to what fits entry, age and sex."""
    key = (REASON_QUESTION, session.entry, session.patient.age, session.patient.sex)
    cached = kb.memo.get(key)
    if isinstance(cached, Question):
        return cached
    options = tuple(
        Option(r.code, r.label)
        for r in sorted(kb.reasons.values(), key=lambda r: r.label.sv)
        if eligible_reason(r, session)
    )
    question = Question(REASON_QUESTION, Kind.SINGLE, Text("Vad gäller det?", "What is it about?"), options)
    kb.memo[key] = question
    return question


def eligible_reason(reason: ContactReason, session: Session) -> bool:
    patient = session.patient
    return (
        session.entry in reason.entries
        and reason.min_age <= patient.age <= reason.max_age
        and patient.sex in reason.sexes
    )


def chosen_reason(kb: KnowledgeBase, session: Session) -> ContactReason | None:
    code = session.answer_to(REASON_QUESTION)
    return kb.reasons.get(code) if isinstance(code, str) else None


def walk(kb: KnowledgeBase, session: Session) -> tuple[list[tuple[Question, Answer]], Question | None]:
    """The answered questions in reading order, and the next question (None: done)."""
    answered: list[tuple[Question, Answer]] = []
    given = _given(session)
    for question in _shown(kb, session, given):
        value = given.get(question.id)
        if value is None:
            return answered, question
        answered.append((question, value))
        if ends_session(question, value):
            return answered, None
    return answered, None


def _given(session: Session) -> dict[str, Answer]:
    """The answers by question id; the first answer wins, as in ``Session.answer_to``.

    Every replay (``load``, ``change``) walks once per answer, so lookups here
    are a dict, not a scan of the answers.
    """
    return dict(reversed(session.answers))


def _shown(kb: KnowledgeBase, session: Session, given: dict[str, Answer]) -> Any:
    """Generator of the questions shown, given the answers so far."""
    if session.entry in SCREENED:
        yield kb.red_flags
    yield reason_question(kb, session)
    code = given.get(REASON_QUESTION)
    reason = kb.reasons.get(code) if isinstance(code, str) else None
    if reason is None:
        return
    for question in reason.questions:
        if all(_holds(c, session, given) for c in question.show_if):
            yield question


def _holds(condition: Condition, session: Session, given: dict[str, Answer]) -> bool:
    if condition.patient == "sex":
        return session.patient.sex in condition.any_of
    if condition.patient == "age":
        return _in_range(session.patient.age, condition)
    value = given.get(condition.question)
    if value is None:
        return False
    if isinstance(value, float | int):
        return _in_range(value, condition) and not condition.any_of
    chosen = {value} if isinstance(value, str) else set(value)
    return bool(chosen & condition.any_of)


def _in_range(value: float, condition: Condition) -> bool:
    low_ok = condition.at_least is None or value >= condition.at_least
    high_ok = condition.below is None or value < condition.below
    return low_ok and high_ok


def next_question(kb: KnowledgeBase, session: Session) -> Question | None:
    _check_version(kb, session)
    return walk(kb, session)[1]


# -- answering -----------------------------------------------------------------------


def answer(kb: KnowledgeBase, session: Session, question_id: str, value: object) -> Session:
    """Answer the current question.

    Raises:
        NotAsked: ``question_id`` is not the question being asked.
        InvalidAnswer: the value does not fit the question.
    """
    current = _check_asked(next_question(kb, session), question_id)
    answered = (*session.answers, (question_id, validate_answer(current, value)))
    return Session(session.version, session.entry, session.patient, answered)


def _check_asked(current: Question | None, question_id: str) -> Question:
    if current is None or current.id != question_id:
        asked = current.id if current else "nothing (the session is complete)"
        raise NotAsked(f"question {question_id!r} is not being asked; the current question is {asked}")
    return current


def change(kb: KnowledgeBase, session: Session, question_id: str, value: object) -> Session:
    """Go back and change an earlier answer; every later question re-evaluates.

    Later answers are kept where their question is still asked, and dropped
    where it no longer is.
    """
    _check_version(kb, session)
    if session.answer_to(question_id) is None:
        raise NotAsked(f"question {question_id!r} has not been answered, so it cannot be changed")
    replayed = replace(session, answers=())
    for qid, old in session.answers:
        new = value if qid == question_id else old
        current = next_question(kb, replayed)
        if current is not None and current.id == qid:
            replayed = answer(kb, replayed, qid, new)
    return replayed


def validate_answer(question: Question, value: object) -> Answer:
    """The answer in canonical form, or InvalidAnswer saying what is wrong."""
    kind = question.kind
    if kind in (Kind.SINGLE, Kind.BODY, Kind.YESNO):
        return _one_option(question, value)
    if kind is Kind.MULTI:
        return _many_options(question, value)
    if kind is Kind.NUMBER:
        return _number(question, value)
    if kind is Kind.TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise InvalidAnswer(f"{question.id}: expected text of at most {MAX_TEXT} characters")
        return value
    if not isinstance(value, str) or not (value == "skip" or PHOTO_REF.match(value)):
        raise InvalidAnswer(f"{question.id}: expected a photo reference or 'skip'")
    return value


def _one_option(question: Question, value: object) -> str:
    ids = [o.id for o in question.options]
    if not isinstance(value, str) or value not in ids:
        raise InvalidAnswer(f"{question.id}: unknown option {value!r}; choose one of {ids}")
    return value


def _many_options(question: Question, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidAnswer(f"{question.id}: choose one or more options")
    chosen = tuple(_one_option(question, v) for v in value)
    if len(set(chosen)) != len(chosen):
        raise InvalidAnswer(f"{question.id}: an option was chosen twice")
    exclusive = {o.id for o in question.options if o.exclusive}
    if exclusive & set(chosen) and len(chosen) > 1:
        raise InvalidAnswer(f"{question.id}: {sorted(exclusive & set(chosen))[0]!r} cannot be combined")
    return tuple(o.id for o in question.options if o.id in chosen)  # knowledge-base order


def _number(question: Question, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        raise InvalidAnswer(f"{question.id}: expected a number")
    low, high = question.minimum, question.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidAnswer(f"{question.id}: {value} is outside {low}–{high}")
    return float(value)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def ends_session(question: Question, value: Answer) -> bool:
    """Whether this answer is a red flag (the session ends with "call 112 now").

    The same as ``any(e.red_flag for e in effects(question, value))``, without
    building the effects: the walk asks it for every answered question.
    """
    if isinstance(value, float):
        return question.kind is Kind.NUMBER and any(t.effect.red_flag and t.applies(value) for t in question.thresholds)
    red = question.red_flag_options
    chosen = (value,) if isinstance(value, str) else value
    if not red or not isinstance(chosen, tuple) or not any(oid in chosen for oid in red):
        return False
    return question.kind.has_options


def effects(question: Question, value: Answer) -> list[Effect]:
    """What an answer does to the result."""
    if question.kind is Kind.NUMBER and isinstance(value, float):
        return [t.effect for t in question.thresholds if t.applies(value)]
    if question.kind.has_options:
        chosen = (value,) if isinstance(value, str) else value
        return [o.effect for o in question.options if isinstance(chosen, tuple) and o.id in chosen]
    return []


# -- the result ----------------------------------------------------------------------


def result(kb: KnowledgeBase, session: Session) -> Result | None:
    """The outcome, or None while questions remain."""
    _check_version(kb, session)
    answered, pending = walk(kb, session)
    if pending is not None:
        return None
    found = [e for q, v in answered for e in effects(q, v)]
    reason = chosen_reason(kb, session)
    red = next((e for e in found if e.red_flag), None)
    if red is None and reason is None:  # never silently: a finished session has a reason or a red flag
        raise InvalidAnswer("the chosen contact reason does not exist in this knowledge base")
    summary = tuple((q.text, _answer_text(q, v)) for q, v in answered)
    notes = tuple(dict.fromkeys(e.note for e in found if e.note is not None))
    if red is not None or reason is None:
        code, label = (reason.code, reason.label) if reason else ("emergency", EMERGENCY_LABEL)
        return Result(
            code, label, Level.EMERGENCY, CareLevel.CALL_112, None, Skill.NURSE,
            VisitForm.PHYSICAL, None, red.why if red else None, summary, kb.version, notes,
        )  # fmt: skip
    level = max([reason.base, *(e.level for e in found), *_age_levels(reason, session.patient)])
    return Result(
        reason.code, reason.label, level, CARE_LEVEL[level], URGENCY[level],
        _profession(reason, found), max([reason.visit, *(e.visit for e in found if e.visit is not None)]),
        reason.advice if level is Level.SELF_CARE else None, None, summary, kb.version, notes,
    )  # fmt: skip


def _age_levels(reason: ContactReason, patient: Patient) -> list[Level]:
    return [r.level for r in reason.age_rules if r.minimum_age <= patient.age <= r.maximum_age]


def _profession(reason: ContactReason, found: Sequence[Effect]) -> Skill:
    """The override of the most urgent answer that names one, else the reason's profession."""
    named = [e for e in found if e.profession is not None]
    return max(named, key=lambda e: e.level).profession if named else reason.profession  # type: ignore[return-value]


def _answer_text(question: Question, value: Answer) -> Text:
    if isinstance(value, float):
        unit = question.unit or Text("", "")
        number = f"{value:g}"
        return Text(f"{number} {unit.sv}".strip(), f"{number} {unit.en}".strip())
    if isinstance(value, str) and not question.kind.has_options:
        return Text(value, value)
    chosen = (value,) if isinstance(value, str) else value
    texts = [o.text for o in question.options if o.id in chosen]
    return Text(", ".join(t.sv for t in texts), ", ".join(t.en for t in texts))


# -- storage -----------------------------------------------------------------------


def dump(session: Session) -> bytes:
    """A compact msgpack value for Redis."""
    patient = session.patient
    answers = [[qid, list(v) if isinstance(v, tuple) else v] for qid, v in session.answers]
    return msgpack.packb(  # type: ignore[no-any-return]
        {
            "v": session.version,
            "e": session.entry.value,
            "p": [patient.age, patient.sex, patient.proxy.value],
            "a": answers,
        }
    )


def load(kb: KnowledgeBase, blob: bytes) -> Session:
    """Read a stored session; every answer is validated again on the current knowledge base.

    Raises:
        StaleSession: it was made with another knowledge-base version.
        InvalidAnswer: the value is not a session.
    """
    try:
        raw = msgpack.unpackb(blob)
        version, entry, (age, sex, proxy), answers = raw["v"], Entry(raw["e"]), raw["p"], raw["a"]
        patient = Patient(age, sex, Proxy(proxy))
        if not isinstance(answers, list) or len(answers) > MAX_STORED_ANSWERS:
            raise ValueError("answers")
        pairs = [(qid, value) for qid, value in answers]
    except (ValueError, TypeError, KeyError, OverflowError, msgpack.UnpackException) as exc:
        raise InvalidAnswer(f"not a stored triage session ({type(exc).__name__})") from None
    if version != kb.version:
        raise StaleSession(f"the session was made with knowledge base {version}; the current one is {kb.version}")
    session = start(kb, entry, patient)  # the age and proxy rules hold for stored sessions too
    bad = next((i for i, (qid, _) in enumerate(pairs) if not isinstance(qid, str)), len(pairs))
    session = replay(kb, session, pairs[:bad])  # the answers before a bad id still raise their own errors first
    if bad < len(pairs):
        raise InvalidAnswer("not a stored triage session (question id)")
    return session


def replay(kb: KnowledgeBase, session: Session, pairs: Sequence[tuple[str, object]]) -> Session:
    """``answer`` each pair in turn: the same session, or the same error, as that loop.

    The loop walks from the first question for every answer. When each
    question's conditions look only at questions before it (``_reads_back``),
    answering a question cannot change what was shown before it, so one walk
    that takes the answers as it goes asks the same questions.
    """
    if not pairs:
        return session
    _check_version(kb, session)
    if session.answers or not _reads_back(kb, session):
        for qid, value in pairs:
            session = answer(kb, session, qid, value)
        return session
    given: dict[str, Answer] = {}
    shown = _shown(kb, session, given)  # reads ``given`` as it advances
    current: Question | None = next(shown, None)
    for qid, value in pairs:
        asked = _check_asked(current, qid)
        given[qid] = validate_answer(asked, value)
        current = None if ends_session(asked, given[qid]) else next(shown, None)
    return Session(session.version, session.entry, session.patient, tuple(given.items()))


def _reads_back(kb: KnowledgeBase, session: Session) -> bool:
    """Question ids are unique and every condition names a question shown before its own (memoised per entry)."""
    key = ("reads_back", session.entry, session.patient.age, session.patient.sex)
    found = kb.memo.get(key)
    if found is None:
        head = ([kb.red_flags] if session.entry in SCREENED else []) + [reason_question(kb, session)]
        found = all(_reads_back_in([*head, *r.questions]) for r in kb.reasons.values())
        kb.memo[key] = found
    return found is True


def _reads_back_in(questions: Sequence[Question]) -> bool:
    before: set[str] = set()
    for question in questions:
        reads = (c.question for c in question.show_if if c.patient not in ("sex", "age"))  # as ``_holds``
        if question.id in before or any(qid not in before for qid in reads):
            return False
        before.add(question.id)
    return True


def _check_version(kb: KnowledgeBase, session: Session) -> None:
    if session.version != kb.version:
        raise StaleSession(
            f"the session was made with knowledge base {session.version}; the current one is {kb.version}"
        )
