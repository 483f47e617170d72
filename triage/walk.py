"""The walk: which question comes next, given the answers so far.

The red-flag screen (medical entries), the choice of contact reason, then the
reason's questions in reading order. A question is asked when its condition
holds and it still has a finding to ask: a finding that is known (answered
earlier) or cannot apply to this patient (age, sex) is never asked. After
each answer the rules that send the patient elsewhere are evaluated: a 112
ends the walk at once, and once the patient is sent elsewhere (emergency
department, 1177) only questions that can still raise the level are asked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from direkt.triage import expr as ex
from direkt.triage.answers import facts_of, validate_answer
from direkt.triage.errors import InvalidAnswer, StaleSession
from direkt.triage.expr import Context, FactValue
from direkt.triage.model import (
    ELSEWHERE,
    SCREENED,
    Finding,
    KnowledgeBase,
    Level,
    Question,
    QuestionKind,
    Reason,
    Rule,
    Text,
)
from direkt.triage.session import (
    DONT_KNOW,
    NO,
    NONE,
    NOT_MEASURED_ID,
    REASON_QUESTION,
    WORDS,
    YES,
    Answer,
    Asked,
    Option,
    Session,
)


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
    # Which rules that send elsewhere hold now (indexes into ``_elsewhere_rules``; None: not evaluated yet).
    elsewhere: frozenset[int] | None = field(default=None, repr=False, compare=False)

    _context: tuple[Session, dict[str, FactValue], Context] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def fork(self) -> Walk:
        """A copy that can be answered differently (the path walk of ``direkt.triage.paths``)."""
        return Walk(
            self.kb,
            self.session,
            dict(self.facts),
            dict(self.notes),
            list(self.answered),
            self.pending,
            self.reason,
            self.level,
            self.cursor,
            self.elsewhere,
        )

    def context(self) -> Context:
        """The facts and the patient, made once per walk: it reads ``facts`` live, as answers add to it."""
        made = self._context
        if made is not None and made[0] is self.session and made[1] is self.facts:
            return made[2]
        patient = self.session.patient
        ctx = Context(self.facts, patient.age, patient.age_months, patient.sex, self.session.entry.value)
        self._context = (self.session, self.facts, ctx)
        return ctx

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
    check_version(kb, session)
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
    open_ = tuple(
        f for f in question.asks if f not in state.facts and kb.findings[f].applies_to(patient.age, patient.sex)
    )
    if not open_:
        return None
    if question.kind is not QuestionKind.CHECKLIST:
        open_ = open_[:1]  # a yes/no, choice or number question asks its first open finding
    key = ("asked", question.id, open_)
    known = kb.memo.get(key)
    if isinstance(known, Asked) and known.question is question:
        return known  # the same question about the same findings: one Asked, its asks computed once
    if question.kind is QuestionKind.CHECKLIST:
        findings = [kb.findings[f] for f in open_]
        options = (*(Option(f.id, f.lay) for f in findings), Option(NONE, WORDS[NONE], exclusive=True))
        made = Asked(question, options)
    else:
        made = _about_one(question, kb.findings[open_[0]])
    kb.memo[key] = made
    return made


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
        state.elsewhere = None  # another reason: other rules
        changed: dict[str, FactValue] = {}
    else:
        changed = facts_of(asked, value)
        state.facts.update(changed)
        if asked.kind in (QuestionKind.TEXT, QuestionKind.PHOTO):
            state.notes[asked.id] = str(value)
    state.level = _elsewhere_level(state, changed)


def _elsewhere_level(state: Walk, changed: Mapping[str, FactValue]) -> Level:
    """The walk's level: the highest holding rule that sends the patient elsewhere, else self-care.

    Only these change what is asked (a 112 ends the questions; elsewhere, only
    what can raise it is asked), so the walk evaluates only them; the result
    evaluates every rule. A condition reads only the patient and the findings
    it names, and an answer only adds findings: after the first evaluation,
    only the rules that read a finding just set are evaluated again.
    """
    levels, tests, reading = _elsewhere_rules(state.kb, state.reason)
    ctx, held = state.context(), state.elsewhere
    if held is None:
        held = frozenset(i for i, test in enumerate(tests) if test(ctx))
    else:
        again = {i for finding in changed for i in reading.get(finding, ())}
        if again:
            held = (held - again) | {i for i in again if tests[i](ctx)}
    state.elsewhere = held
    return max((levels[i] for i in held), default=Level.SELF_CARE)


def _elsewhere_rules(
    kb: KnowledgeBase, reason: Reason | None
) -> tuple[tuple[Level, ...], tuple[ex.Test, ...], dict[str, tuple[int, ...]]]:
    """The rules that send ``reason``'s patients elsewhere: levels, compiled conditions, and per
    finding the rules that read it (memoised per reason)."""
    key = ("elsewhere rules", reason.code if reason else "")
    found = kb.memo.get(key)
    if isinstance(found, tuple):
        return found
    rules = [r for r in kb.rules(reason) if r.level in ELSEWHERE]
    reading: dict[str, list[int]] = {}
    for i, rule in enumerate(rules):
        for finding in sorted(ex.findings(rule.when)):
            reading.setdefault(finding, []).append(i)
    made = (
        tuple(r.level for r in rules),
        tuple(ex.compiled(r.when) for r in rules),
        {f: tuple(ids) for f, ids in reading.items()},
    )
    kb.memo[key] = made
    return made


def rule_tests(kb: KnowledgeBase, reason: Reason | None) -> tuple[tuple[Rule, ex.Test], ...]:
    """``kb.rules(reason)`` in reading order, each with its compiled condition (memoised per reason)."""
    key = ("rule tests", reason.code if reason else "")
    found = kb.memo.get(key)
    if not isinstance(found, tuple):
        found = tuple((r, ex.compiled(r.when)) for r in kb.rules(reason))
        kb.memo[key] = found
    return found


def check_version(kb: KnowledgeBase, session: Session) -> None:
    """Raises StaleSession unless ``session`` was made with ``kb``'s version."""
    if session.version != kb.version:
        raise StaleSession(
            f"the session was made with knowledge base {session.version}; the current one is {kb.version}"
        )
