"""The triage engine: pure, deterministic session logic.

A session is its inputs — knowledge-base version, entry, patient, and the
answers in the order given — and everything else (the next question, the
result) is computed from them by walking the knowledge base. No I/O, no
clock, no randomness: the same answers give the same result for the life of
a knowledge-base version.

The walk: the red-flag screen (medical entries), the choice of contact
reason, then the reason's questions in reading order. A question is asked
when its condition holds and it still has a finding to ask: a finding that
is known (answered earlier) or cannot apply to this patient (age, sex) is
never asked. Each answer sets findings; after each, the rules are evaluated:
a 112 rule ends the session at once, and once the result sends the patient
elsewhere (emergency department, 1177) only questions that can still raise
it are asked. The result is the highest level any holding rule reaches, or
the reason's base level: when in doubt, triage up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import msgpack

from direkt.queue.model import Skill
from direkt.queue.urgency import Urgency
from direkt.triage import expr as ex
from direkt.triage.errors import InvalidAnswer, NotAsked, NotEligible, StaleSession
from direkt.triage.expr import NOT_MEASURED, UNKNOWN, Context, FactValue
from direkt.triage.model import (
    CARE_LEVEL,
    ELSEWHERE,
    ENTRY_PLACE,
    SCREENED,
    SEXES,
    URGENCY,
    CareLevel,
    Entry,
    Finding,
    FindingType,
    Guidance,
    KnowledgeBase,
    Level,
    Place,
    Question,
    QuestionKind,
    Reason,
    Respondent,
    Rule,
    Text,
    VisitForm,
)

Answer = str | float | tuple[str, ...]
REASON_QUESTION = "reason"
NONE = "none"  # a checklist's "none of these"
YES, NO = "yes", "no"
DONT_KNOW = "unknown"
NOT_MEASURED_ID = "not_measured"
SKIP = "skip"
MAX_TEXT = 2000
MAX_STORED_ANSWERS = 64
PHOTO_REF = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
EMERGENCY_LABEL = Text("Akut tillstånd", "Emergency")

WORDS = {
    YES: Text("Ja", "Yes"),
    NO: Text("Nej", "No"),
    DONT_KNOW: Text("Vet inte", "Don't know"),
    NOT_MEASURED_ID: Text("Inte mätt", "Not measured"),
    NONE: Text("Inget av detta", "None of these"),
}


@dataclass(frozen=True)
class Patient:
    age_months: int  # completed months: a child of 2 years 5 months is 29
    sex: str
    respondent: Respondent = Respondent.SELF

    @property
    def age(self) -> int:
        return self.age_months // 12

    @classmethod
    def aged(cls, years: int, sex: str, respondent: Respondent = Respondent.SELF, months: int = 0) -> Patient:
        return cls(years * 12 + months, sex, respondent)


@dataclass(frozen=True)
class Session:
    version: str
    entry: Entry
    patient: Patient
    answers: tuple[tuple[str, Answer], ...] = ()

    def answer_to(self, question_id: str) -> Answer | None:
        return next((value for qid, value in self.answers if qid == question_id), None)


@dataclass(frozen=True)
class Option:
    id: str
    text: Text
    exclusive: bool = False


@dataclass(frozen=True)
class Asked:
    """A question as it is put to this patient now: only the options that apply."""

    question: Question
    options: tuple[Option, ...] = ()
    finding: Finding | None = None  # the one finding of a yes/no, choice or number question
    skip: Option | None = None  # a number's "not measured" or "don't know"

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def kind(self) -> QuestionKind:
        return self.question.kind

    @property
    def asks(self) -> tuple[str, ...]:
        """The findings this question sets: a checklist's shown options, or its one finding."""
        if self.kind is QuestionKind.CHECKLIST:
            return tuple(o.id for o in self.options if not o.exclusive)
        return self.question.asks


@dataclass(frozen=True)
class FindingsSummary:
    """What the triage found, in clinical words, grouped for staff."""

    present: tuple[Text, ...] = ()
    absent: tuple[Text, ...] = ()
    unknown: tuple[Text, ...] = ()
    measured: tuple[Text, ...] = ()
    free_text: tuple[tuple[Text, str], ...] = ()


@dataclass(frozen=True)
class Result:
    reason_code: str
    reason_label: Text
    level: Level
    care_level: CareLevel
    urgency: Urgency | None
    profession: Skill  # who takes the case if it is sent to the waiting room
    visit: VisitForm | None  # None when no visit follows (self-care, 112, emergency department, 1177)
    place: Place | None  # where a physical visit happens
    decided_by: Rule | None  # None: the reason's base level decided
    why: Text | None
    advice: tuple[Text, ...]
    safety_net: tuple[Text, ...]
    first_aid: tuple[Text, ...]
    findings: FindingsSummary
    rules: tuple[str, ...]  # every rule that held, in reading order
    version: str
    questions: int  # how many questions were asked
    answers: tuple[tuple[Text, Text], ...] = ()  # the questions and answers in the patient's words


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


# -- the walk ----------------------------------------------------------------------


@dataclass
class Walk:
    """Where a session stands: what was asked and answered, what is known, what comes next."""

    kb: KnowledgeBase
    session: Session
    facts: dict[str, FactValue] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # free-text and photo answers by question id
    answered: list[tuple[Asked, Answer]] = field(default_factory=list)
    pending: Asked | None = None
    reason: Reason | None = None
    level: Level = Level.SELF_CARE
    cursor: int = 0  # where ``step`` looks for the next question

    def fork(self) -> Walk:
        """A copy that can be answered differently (the path walk of ``direkt.triage.validate``)."""
        return replace(self, facts=dict(self.facts), notes=dict(self.notes), answered=list(self.answered))

    def context(self) -> Context:
        patient = self.session.patient
        return Context(self.facts, patient.age, patient.age_months, patient.sex, self.session.entry.value)

    @property
    def done(self) -> bool:
        return self.pending is None


def walk(
    kb: KnowledgeBase,
    session: Session,
    *,
    lenient: bool = False,
    respond: Callable[[Asked], object] | None = None,
) -> Walk:
    """Walk the session's answers; the walk stops at the first question without one.

    Every answer is validated as it is reached. ``lenient`` drops answers that
    no longer fit (after an earlier answer changed) instead of raising.
    ``respond`` answers the questions the session has no answer for (the
    deterministic answerer: one pass instead of a walk per answer); the walk's
    ``session`` then holds every answer given.

    Raises:
        InvalidAnswer: an answer does not fit its question (not when lenient).
    """
    _check_version(kb, session)
    state = Walk(kb, session)
    given = dict(reversed(session.answers))  # the first answer to a question wins
    for asked in _questions(state):
        value: object = given.get(asked.id)
        if value is None and respond is not None:
            value = respond(asked)
        if value is None:
            state.pending = asked
            return state
        try:
            canonical = validate_answer(asked, value)
        except InvalidAnswer:
            if not lenient:
                raise
            state.pending = asked
            return state
        apply(state, asked, canonical)
    if respond is not None:
        state.session = replace(session, answers=tuple((a.id, v) for a, v in state.answered))
    return state


def _questions(state: Walk) -> Iterator[Asked]:
    """The questions to put, given what the walk knows so far (a generator: it reads ``state``)."""
    while (asked := step(state)) is not None:
        yield asked


SCREEN_AT, REASON_AT, FIRST_QUESTION_AT = 0, 1, 2


def step(state: Walk) -> Asked | None:
    """The next question from ``state.cursor`` (which it moves past it), or None: the walk is done.

    The order: the red-flag screen (medical entries), the reason, the reason's
    questions. A 112 ends it; once the patient is sent elsewhere, only what can
    still raise the level is asked.
    """
    kb, session = state.kb, state.session
    while True:
        at = state.cursor
        state.cursor += 1
        if at == SCREEN_AT:
            screen = present(kb, state, kb.screen.question) if session.entry in SCREENED else None
            if screen is not None:
                return screen
            continue
        if state.level is Level.CALL_112:
            return None
        if at == REASON_AT:
            return reason_question(kb, session)
        questions = kb.asked_for(state.reason)
        if at - FIRST_QUESTION_AT >= len(questions):
            state.cursor = at  # stays done
            return None
        asked = _put(kb, state, questions[at - FIRST_QUESTION_AT])
        if asked is not None:
            return asked


def _put(kb: KnowledgeBase, state: Walk, question: Question) -> Asked | None:
    """``question`` as put now, or None when its condition fails or it can no longer matter."""
    if question.when is not None and not ex.holds(question.when, state.context()):
        return None
    if state.level in ELSEWHERE and not _can_raise(kb, state, question):
        return None
    return present(kb, state, question)


def _can_raise(kb: KnowledgeBase, state: Walk, question: Question) -> bool:
    """Whether an answer to ``question`` could still raise the level: a rule above the level
    reads its findings, or it opens a later question that can (a rash before the glass test)."""
    return bool(set(question.asks) & _raising(kb, state.reason, state.level))


def _raising(kb: KnowledgeBase, reason: Reason | None, level: Level) -> frozenset[str]:
    """The findings whose answers can lead to a level above ``level`` (memoised per reason and level)."""
    key = ("raising", reason.code if reason else "", level)
    found = kb.memo.get(key)
    if isinstance(found, frozenset):
        return found
    relevant = {f for r in kb.rules(reason) if r.level > level for f in ex.findings(r.when)}
    for question in reversed(kb.asked_for(reason)):
        if question.when is not None and relevant & set(question.asks):
            relevant |= ex.findings(question.when)
    kb.memo[key] = frozenset(relevant)
    return kb.memo[key]  # type: ignore[return-value]


def present(kb: KnowledgeBase, state: Walk, question: Question) -> Asked | None:
    """``question`` as this patient sees it now, or None when it has nothing left to ask."""
    patient = state.session.patient
    if question.kind in (QuestionKind.TEXT, QuestionKind.PHOTO):
        return None if question.id in state.notes or state.level in ELSEWHERE else Asked(question)
    open_ = [
        kb.findings[f]
        for f in question.asks
        if f not in state.facts and kb.findings[f].applies_to(patient.age, patient.sex)
    ]
    if not open_:
        return None
    if question.kind is QuestionKind.CHECKLIST:
        options = (*(Option(f.id, f.lay) for f in open_), Option(NONE, WORDS[NONE], exclusive=True))
        return Asked(question, options)
    return _about_one(question, open_[0])


def _about_one(question: Question, finding: Finding) -> Asked:
    """A yes/no, choice or number question about ``finding``, with "don't know" or "not measured"."""
    dont_know = (Option(DONT_KNOW, WORDS[DONT_KNOW]),) if question.dont_know else ()
    if question.kind is QuestionKind.YESNO:
        return Asked(question, (Option(YES, WORDS[YES]), Option(NO, WORDS[NO]), *dont_know), finding)
    if question.kind is QuestionKind.CHOICE:
        return Asked(question, (*(Option(v.id, v.lay) for v in finding.values), *dont_know), finding)
    if finding.measurement:
        return Asked(question, (), finding, Option(NOT_MEASURED_ID, WORDS[NOT_MEASURED_ID]))
    return Asked(question, (), finding, dont_know[0] if dont_know else None)


def reason_question(kb: KnowledgeBase, session: Session) -> Asked:
    """The choice of contact reason, limited to what fits entry, age and sex ("something else" last)."""
    patient = session.patient
    key = (REASON_QUESTION, session.entry, patient.age, patient.sex)
    cached = kb.memo.get(key)
    if isinstance(cached, Asked):
        return cached
    eligible = [r for r in kb.reasons.values() if eligible_reason(r, session)]
    eligible.sort(key=lambda r: (r.code == "other", r.label.sv))
    question = Question(
        REASON_QUESTION,
        QuestionKind.CHOICE,
        Text("Vad gäller det?", "What is it about?", "Vad gäller det för {name}?", "What is it about for {name}?"),
    )
    asked = Asked(question, tuple(Option(r.code, r.label) for r in eligible))
    kb.memo[key] = asked
    return asked


def eligible_reason(reason: Reason, session: Session) -> bool:
    patient = session.patient
    return (
        session.entry in reason.entries
        and reason.min_age <= patient.age <= reason.max_age
        and patient.sex in reason.sexes
    )


def apply(state: Walk, asked: Asked, value: Answer) -> None:
    """Record an answer: set its findings, then see whether the patient is now sent elsewhere."""
    state.answered.append((asked, value))
    if asked.id == REASON_QUESTION:
        state.reason = state.kb.reasons.get(str(value))
    else:
        state.facts.update(facts_of(asked, value))
        if asked.kind in (QuestionKind.TEXT, QuestionKind.PHOTO):
            state.notes[asked.id] = str(value)
    state.level = _elsewhere_level(state.kb, state.reason, state.context())


def _elsewhere_level(kb: KnowledgeBase, reason: Reason | None, ctx: Context) -> Level:
    """The walk's level: the highest holding rule that sends the patient elsewhere, else self-care.

    Only these change what is asked (a 112 ends the questions; elsewhere, only
    what can raise it is asked), so the walk evaluates only them; the result
    evaluates every rule.
    """
    key = ("elsewhere", reason.code if reason else "")
    rules = kb.memo.get(key)
    if not isinstance(rules, tuple):
        rules = tuple(r for r in kb.rules(reason) if r.level in ELSEWHERE)
        kb.memo[key] = rules
    return max((r.level for r in rules if ex.holds(r.when, ctx)), default=Level.SELF_CARE)


def facts_of(asked: Asked, value: Answer) -> dict[str, FactValue]:
    """The findings an answer sets."""
    kind = asked.kind
    if kind is QuestionKind.CHECKLIST:
        chosen = set(value) if isinstance(value, tuple) else set()
        return {f: f in chosen for f in asked.asks}
    if asked.finding is None:
        return {}
    finding_id = asked.finding.id
    if value == DONT_KNOW:
        return {finding_id: UNKNOWN}
    if value == NOT_MEASURED_ID:
        return {finding_id: NOT_MEASURED}
    if kind is QuestionKind.YESNO:
        return {finding_id: value == YES}
    if isinstance(value, tuple):
        raise InvalidAnswer(f"{asked.id}: one value, not several")
    return {finding_id: value}  # a choice's value id, or a number


def level_of(kb: KnowledgeBase, reason: Reason | None, ctx: Context) -> Level:
    base = reason.base if reason is not None else Level.SELF_CARE
    return max([base, *(r.level for r in kb.rules(reason) if ex.holds(r.when, ctx))])


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
    _check_version(kb, session)
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
    _check_version(kb, session)
    return replace(session, answers=session.answers[:-1])


def validate_answer(asked: Asked, value: object) -> Answer:
    """The answer in canonical form, or InvalidAnswer saying what is wrong."""
    kind = asked.kind
    if kind is QuestionKind.CHECKLIST:
        return _many_options(asked, value)
    if kind.has_options:
        return _one_option(asked, value)
    if kind is QuestionKind.NUMBER:
        return _number(asked, value)
    if kind is QuestionKind.TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise InvalidAnswer(f"{asked.id}: expected text of at most {MAX_TEXT} characters")
        return value
    if not isinstance(value, str) or not (value == SKIP or PHOTO_REF.match(value)):
        raise InvalidAnswer(f"{asked.id}: expected a photo reference or 'skip'")
    return value


def _one_option(asked: Asked, value: object) -> str:
    ids = [o.id for o in asked.options]
    if not isinstance(value, str) or value not in ids:
        raise InvalidAnswer(f"{asked.id}: unknown option {str(value)[:40]!r}; choose one of {ids}")
    return value


def _many_options(asked: Asked, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidAnswer(
            f"{asked.id}: choose one or more options",
            {"sv": "Välj det som stämmer, eller Inget av detta.", "en": "Choose what applies, or None of these."},
        )
    chosen = tuple(_one_option(asked, v) for v in value)
    if len(set(chosen)) != len(chosen):
        raise InvalidAnswer(f"{asked.id}: an option was chosen twice")
    if NONE in chosen and len(chosen) > 1:
        raise InvalidAnswer(
            f"{asked.id}: 'none' cannot be combined with other options",
            {"sv": "Inget av detta kan inte väljas tillsammans med något annat.",
             "en": "None of these cannot be chosen together with anything else."},
        )  # fmt: skip
    if chosen == (NONE,):
        return (NONE,)
    return tuple(o.id for o in asked.options if o.id in chosen)  # knowledge-base order


def _number(asked: Asked, value: object) -> float | str:
    if asked.skip is not None and value == asked.skip.id:
        return asked.skip.id
    finding = asked.finding
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value) or finding is None:
        raise InvalidAnswer(
            f"{asked.id}: expected a number",
            {"sv": "Skriv ett tal.", "en": "Enter a number."},
        )
    if finding.integer and value != int(value):
        unit = finding.unit or Text("", "")
        raise InvalidAnswer(
            f"{asked.id}: expected whole {unit.en}",
            {"sv": f"Skriv ett helt antal {unit.sv}.", "en": f"Enter a whole number of {unit.en}."},
        )
    low, high = finding.low, finding.high
    if (low is not None and value < low) or (high is not None and value > high):
        raise implausible(finding, value)
    return float(value)


def implausible(finding: Finding, value: float) -> InvalidAnswer:
    """The error for a number outside the finding's plausible range: say the range, ask again."""
    unit = finding.unit or Text("", "")
    low, high = f"{finding.low:g}", f"{finding.high:g}"
    return InvalidAnswer(
        f"{finding.id}: {value:g} is not a plausible value; expected {low}–{high} {unit.en}".strip(),
        {
            "sv": f"{value:g} {unit.sv} verkar inte stämma för {finding.staff.sv.lower()}. "
            f"Skriv ett värde mellan {low} och {high} {unit.sv}.".replace("  ", " "),
            "en": f"{value:g} {unit.en} does not look right for {finding.staff.en.lower()}. "
            f"Enter a value between {low} and {high} {unit.en}.".replace("  ", " "),
        },
    )


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


# -- the result ----------------------------------------------------------------------


def result(kb: KnowledgeBase, session: Session) -> Result | None:
    """The outcome, or None while questions remain."""
    state = walk(kb, session)
    if not state.done:
        return None
    return outcome(kb, state)


def outcome(kb: KnowledgeBase, state: Walk) -> Result:
    """The result of a finished walk."""
    reason, ctx = state.reason, state.context()
    held = [r for r in kb.rules(reason) if ex.holds(r.when, ctx)]
    if reason is None and not held:  # never silently: a finished session has a reason or a red flag
        raise InvalidAnswer("the chosen contact reason does not exist in this knowledge base")
    level = level_of(kb, reason, ctx)
    # At the deciding level the reason's own rule speaks first: it says more than the screen's.
    own = set(reason.rules) if reason else set()
    decided = next((r for r in sorted(held, key=lambda r: r not in own) if r.level is level), None)
    code, label = (reason.code, reason.label) if reason else ("emergency", EMERGENCY_LABEL)
    profession = _profession(reason, held)
    visit = _visit(reason, held, level)
    return Result(
        reason_code=code,
        reason_label=label,
        level=level,
        care_level=CARE_LEVEL[level],
        urgency=URGENCY[level],
        profession=profession,
        visit=visit,
        place=_place(reason, held, state.session.entry) if visit is VisitForm.PHYSICAL else None,
        decided_by=decided,
        why=decided.why if decided else None,
        advice=_guidance(reason.advice if reason else (), level, ctx, decided.advice if decided else None),
        safety_net=_safety_net(kb, reason, level, ctx),
        first_aid=_first_aid(kb, held, level),
        findings=summarise(kb, state),
        rules=tuple(r.id for r in held),
        version=kb.version,
        questions=len(state.answered),
        answers=tuple((asked.question.text, answer_text(asked, value)) for asked, value in state.answered),
    )


def _profession(reason: Reason | None, held: Sequence[Rule]) -> Skill:
    """The profession of the most urgent holding rule that names one, else the reason's."""
    named = [r for r in held if r.profession is not None]
    if named:
        return max(named, key=lambda r: r.level).profession or Skill.NURSE
    return reason.profession if reason else Skill.NURSE


def _visit(reason: Reason | None, held: Sequence[Rule], level: Level) -> VisitForm | None:
    if reason is None or level in ELSEWHERE or level is Level.SELF_CARE:
        return None
    return max([reason.visit, *(r.visit for r in held if r.visit is not None)])


def _place(reason: Reason | None, held: Sequence[Rule], entry: Entry) -> Place:
    named = [r for r in held if r.place is not None]
    if named:
        return max(named, key=lambda r: r.level).place or ENTRY_PLACE[entry]
    return (reason.place if reason else None) or ENTRY_PLACE[entry]


def applies(guidance: Guidance, level: Level, ctx: Context) -> bool:
    if level in ELSEWHERE:
        return False
    in_level = not guidance.levels or level in guidance.levels
    return in_level and (guidance.when is None or ex.holds(guidance.when, ctx))


def _guidance(blocks: Sequence[Guidance], level: Level, ctx: Context, first: Text | None) -> tuple[Text, ...]:
    texts = [first] if first is not None and level not in ELSEWHERE else []
    texts += [g.text for g in blocks if applies(g, level, ctx)]
    return tuple(dict.fromkeys(texts))


def _safety_net(kb: KnowledgeBase, reason: Reason | None, level: Level, ctx: Context) -> tuple[Text, ...]:
    if level is Level.CALL_1177:
        return (kb.screen.warning_signs,)
    return _guidance(reason.safety_net if reason else (), level, ctx, None)


def _first_aid(kb: KnowledgeBase, held: Sequence[Rule], level: Level) -> tuple[Text, ...]:
    if level not in ELSEWHERE:
        return ()
    texts = [r.first_aid for r in held if r.level is level and r.first_aid is not None]
    if level is Level.CALL_112:
        texts.append(kb.screen.first_aid)
    return tuple(dict.fromkeys(texts))


def answer_text(asked: Asked, value: Answer) -> Text:
    """An answer in the patient's words: the options chosen, the number with its unit, or the text."""
    if isinstance(value, float):
        unit = asked.finding.unit if asked.finding and asked.finding.unit else Text("", "")
        return Text(f"{value:g} {unit.sv}".strip(), f"{value:g} {unit.en}".strip())
    if asked.kind is QuestionKind.TEXT or (asked.kind is QuestionKind.PHOTO and value != SKIP):
        return Text(str(value), str(value))
    chosen = (value,) if isinstance(value, str) else value
    options = [*asked.options, *([asked.skip] if asked.skip else [])]
    texts = [o.text for o in options if o.id in chosen] or [Text("–", "–")]
    return Text(
        ", ".join(t.sv for t in texts),
        ", ".join(t.en for t in texts),
        ", ".join(t.sv_child or t.sv for t in texts) if any(t.sv_child for t in texts) else None,
        ", ".join(t.en_child or t.en for t in texts) if any(t.en_child for t in texts) else None,
    )


def summarise(kb: KnowledgeBase, state: Walk) -> FindingsSummary:
    """The findings in clinical words: present, absent, don't know, measured, free text."""
    groups: dict[str, list[Text]] = {"present": [], "absent": [], "unknown": [], "measured": []}
    for finding_id, value in state.facts.items():
        group, text = _describe(kb.findings[finding_id], value)
        groups[group].append(text)
    free = tuple(
        (asked.question.staff or asked.question.text, value)
        for asked, value in state.answered
        if asked.kind in (QuestionKind.TEXT, QuestionKind.PHOTO) and isinstance(value, str) and value not in ("", SKIP)
    )
    return FindingsSummary(
        tuple(groups["present"]), tuple(groups["absent"]), tuple(groups["unknown"]), tuple(groups["measured"]), free
    )


def _describe(finding: Finding, value: FactValue) -> tuple[str, Text]:
    label = finding.staff
    if value is True:
        return "present", label
    if value is False:
        return "absent", label
    if value == UNKNOWN:
        return "unknown", label
    if finding.type is FindingType.NUMBER:
        unit = finding.unit or Text("", "")
        if value == NOT_MEASURED:
            return "measured", Text(f"{label.sv}: ej mätt", f"{label.en}: not measured")
        number = f"{float(value):g}"
        return "measured", Text(f"{label.sv}: {number} {unit.sv}".strip(), f"{label.en}: {number} {unit.en}".strip())
    chosen = finding.value(str(value))
    staff = chosen.staff if chosen else Text(str(value), str(value))
    return "present", Text(f"{label.sv}: {staff.sv}", f"{label.en}: {staff.en}")


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
    _check_version(kb, session)
    check_eligible(kb, session.entry, session.patient)  # the age rules hold for stored sessions too
    state = walk(kb, session)
    if len(state.answered) != len(session.answers):
        raise InvalidAnswer("not a stored triage session (answers to questions that are not asked)")
    return session


def facts(kb: KnowledgeBase, session: Session) -> Mapping[str, FactValue]:
    """What the session's answers established, by finding id."""
    return dict(walk(kb, session).facts)


def _check_version(kb: KnowledgeBase, session: Session) -> None:
    if session.version != kb.version:
        raise StaleSession(
            f"the session was made with knowledge base {session.version}; the current one is {kb.version}"
        )
