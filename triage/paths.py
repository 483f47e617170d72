"""Every path through a contact reason, for every kind of patient it serves.

The walk of path shapes branches on the answers that decide which questions
follow (and on numbers either side of every bound a condition reads), and
records each path's length, the levels reached, the questions shown, findings
asked twice and outcomes without advice. ``rule_reach`` asks, rule by rule,
whether some patient's answers make it hold. ``direkt.triage.validate`` turns
what they find into problems; the review pack shows it as figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from direkt.triage import expr as ex
from direkt.triage.answers import validate_answer
from direkt.triage.engine import check_eligible
from direkt.triage.errors import NotEligible, TriageFailure
from direkt.triage.model import (
    ELSEWHERE,
    Entry,
    KnowledgeBase,
    Level,
    QuestionKind,
    Reason,
    Respondent,
)
from direkt.triage.outcome import decide
from direkt.triage.session import DONT_KNOW, NO, NONE, SKIP, Asked, Patient, Session
from direkt.triage.walk import FIRST_QUESTION_AT, REASON_AT, Walk, apply, reason_question, step, walk

MAX_SHAPES_PER_REASON = 20_000


@dataclass
class Shapes:
    """What the walk of one contact reason found."""

    lengths: list[int] = field(default_factory=list)
    levels: set[Level] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)
    repeated: set[str] = field(default_factory=set)  # findings asked twice on one path (never allowed)
    missing: list[str] = field(default_factory=list)  # outcomes without advice or safety-netting
    truncated: bool = False


def patients(kb: KnowledgeBase, reason: Reason) -> list[tuple[Entry, Patient]]:
    """One patient per age band and sex where what the reason asks can differ."""
    entry = Entry.SEEK_CARE if Entry.SEEK_CARE in reason.entries else sorted(reason.entries)[0]
    ages = {reason.min_age, reason.max_age, 13, 12, 1, 0}
    asked = [*kb.screen.question.asks, *(f for q in kb.asked_for(reason) for f in q.asks)]
    for finding_id in asked:
        finding = kb.findings[finding_id]
        ages |= {finding.min_age - 1, finding.min_age, finding.max_age, finding.max_age + 1}
    conditions = [q.when for q in kb.asked_for(reason) if q.when] + [r.when for r in kb.rules(reason)]
    for condition in conditions:
        for number in ex.bounds(condition).get("age", ()):
            ages |= {int(number) - 1, int(number), int(number) + 1}
    found = []
    for age in sorted(a for a in ages if reason.min_age <= a <= reason.max_age):
        for sex in sorted(reason.sexes):
            respondent = Respondent.GUARDIAN if age <= 12 else Respondent.SELF
            patient = Patient.aged(age, sex, respondent)
            try:
                check_eligible(kb, entry, patient)
            except NotEligible:
                continue
            found.append((entry, patient))
    return found


def walk_reason(kb: KnowledgeBase, reason: Reason) -> Shapes:
    """Every path shape of ``reason`` (memoised: ``validate`` and ``report`` share one walk)."""
    key = ("shapes", reason.code)
    cached = kb.memo.get(key)
    if isinstance(cached, Shapes):
        return cached
    found = Shapes()
    gating = _gating(kb, reason)
    for entry, patient in patients(kb, reason):
        state = walk(kb, Session(kb.version, entry, patient))
        if state.pending is not None and state.pending.id == kb.screen.question.id:
            apply(state, state.pending, (NONE,))
        else:
            state.cursor = REASON_AT
        apply(state, reason_question(kb, state.session), reason.code)
        state.cursor = FIRST_QUESTION_AT
        for final in _shapes(kb, state, gating, found):
            _record(kb, final, found)
    kb.memo[key] = found
    return found


def _gating(kb: KnowledgeBase, reason: Reason) -> dict[str, set[float]]:
    """Findings whose answers decide which later questions are asked, with the numbers where they switch."""
    gating: dict[str, set[float]] = {}
    for q in kb.asked_for(reason):
        if q.when is not None:
            numbers = ex.bounds(q.when)
            for finding_id in ex.findings(q.when):
                gating.setdefault(finding_id, set()).update(numbers.get(finding_id, ()))
    return gating


def _shapes(kb: KnowledgeBase, state: Walk, gating: dict[str, set[float]], found: Shapes) -> Iterator[Walk]:
    """Depth first over the answers that decide what follows; each branch forks the walk."""
    asked = step(state)
    if asked is None:
        if len(found.lengths) >= MAX_SHAPES_PER_REASON:
            found.truncated = True
            return
        yield state
        return
    found.shown.add(asked.id)
    gates = [gating[f] for f in asked.asks if f in gating]
    values = sample_answers(asked, branch=bool(gates), bounds=set().union(*gates))
    if asked.kind is QuestionKind.CHECKLIST and gates:  # ticks that open nothing cannot change what follows
        values = _gating_ticks(asked, gating)
    for value in values:
        if found.truncated:
            return
        branch = state.fork()
        apply(branch, asked, validate_answer(asked, value))
        yield from _shapes(kb, branch, gating, found)


def _gating_ticks(asked: Asked, gating: dict[str, set[float]]) -> list[tuple[str, ...]]:
    """A checklist's answers that can open later questions: none, each gate alone, every gate together."""
    gates = tuple(o.id for o in asked.options if o.id in gating)
    return [(NONE,), *((g,) for g in gates), *([gates] if len(gates) > 1 else [])]


def sample_answers(asked: Asked, *, branch: bool, bounds: Iterable[float] = ()) -> Sequence[object]:
    """The answers to try: every option when the answer decides what follows, else the plainest one."""
    kind = asked.kind
    if kind is QuestionKind.TEXT:
        return [""]
    if kind is QuestionKind.PHOTO:
        return [SKIP]
    if kind is QuestionKind.CHECKLIST:
        if not branch:
            return [(NONE,)]
        every = tuple(o.id for o in asked.options if not o.exclusive)  # a gate can read two ticks together
        return [(o.id,) for o in asked.options] + ([every] if len(every) > 1 else [])
    if kind.has_options:
        plain = NO if kind is QuestionKind.YESNO else _normal(asked)
        return [o.id for o in asked.options] if branch else [plain]
    finding = asked.finding
    points: list[object] = [asked.skip.id] if asked.skip else []
    if finding is not None and finding.low is not None and finding.high is not None:
        inside = {finding.low, finding.high, *(b for b in bounds if finding.low <= b <= finding.high)}
        if branch:
            points += sorted(inside)
        elif not points:
            points.append(finding.low)
    return points


def _normal(asked: Asked) -> str:
    finding = asked.finding
    if finding is not None and finding.normal is not None and any(o.id == finding.normal for o in asked.options):
        return finding.normal
    return asked.options[0].id


def _record(kb: KnowledgeBase, state: Walk, found: Shapes) -> None:
    result = decide(kb, state)  # not the whole outcome: its words for staff and patient are not checked here
    found.levels.add(result.level)
    found.lengths.append(len(state.answered))
    seen: set[str] = set()
    for asked, _ in state.answered:
        found.repeated |= seen & set(asked.asks)
        seen |= set(asked.asks)
    if result.level not in ELSEWHERE and (not result.advice or not result.safety_net):
        found.missing.append(f"{result.level.label} via {result.decided_by.id if result.decided_by else 'base'}")


# -- can every rule hold? ----------------------------------------------------------------


def witnesses(expr: ex.Expr, kb: KnowledgeBase, limit: int = 32) -> list[dict[str, object]]:
    """Findings under which ``expr`` may hold (candidates; the engine decides)."""
    if isinstance(expr, ex.All | ex.AtLeast):
        operands = expr.operands if isinstance(expr, ex.All) else expr.operands[: expr.count]
        found: list[dict[str, object]] = [{}]
        for operand in operands:
            found = [{**a, **b} for a in found for b in witnesses(operand, kb, limit)][:limit]
        return found
    if isinstance(expr, ex.Any_):
        return [w for e in expr.operands for w in witnesses(e, kb, limit)][:limit]
    return _leaf_witnesses(expr, kb)


def _leaf_witnesses(expr: ex.Expr, kb: KnowledgeBase) -> list[dict[str, object]]:
    if isinstance(expr, ex.Has):
        return [{expr.finding: True}]
    if isinstance(expr, ex.Func):
        return [{expr.finding: {"unknown": DONT_KNOW, "absent": False}.get(expr.name, True)}]
    if isinstance(expr, ex.Compare) and expr.subject in kb.findings:
        return [{expr.subject: _satisfying(expr, kb)}]
    if isinstance(expr, ex.OneOf) and expr.subject in kb.findings:
        return [{expr.subject: v} for v in expr.values]
    return [{}]  # "not ...", and conditions on the patient (every kind of patient is tried)


def _opened(reason: Reason, stated: dict[str, object], kb: KnowledgeBase) -> dict[str, object]:
    """``stated`` plus what opens the questions that ask it (a rash before the glass test)."""
    opened = dict(stated)
    questions = kb.asked_for(reason)
    for _ in range(len(questions)):
        gates = [q.when for q in questions if q.when is not None and set(q.asks) & set(opened)]
        extra = {k: v for gate in gates for k, v in (witnesses(gate, kb) or [{}])[0].items() if k not in opened}
        if not extra:
            break
        opened.update(extra)
    return opened


def _satisfying(compare: ex.Compare, kb: KnowledgeBase) -> float:
    finding = kb.findings[compare.subject]
    step = 1.0 if finding.integer else 0.1
    value = {">": compare.number + step, "<": compare.number - step}.get(compare.op, compare.number)
    return round(value, 1)


def rule_reach(kb: KnowledgeBase, reason: Reason) -> tuple[set[str], set[Level], list[str]]:
    """The rules of ``reason`` that some patient can reach, the levels reached, and outcomes without advice."""
    key = ("reach", reason.code)
    cached = kb.memo.get(key)
    if isinstance(cached, tuple):
        return cached
    from direkt.triage.answerer import AnswererError, run

    reached: set[str] = set()
    levels: set[Level] = set()
    missing: list[str] = []
    people = patients(kb, reason)
    for rule in reason.rules:
        for stated in (_opened(reason, w, kb) for w in witnesses(rule.when, kb)):
            for entry, patient in people:
                try:
                    done = run(kb, entry, patient, reason.code, stated).result
                except (AnswererError, TriageFailure):
                    continue
                levels.add(done.level)
                if done.level not in ELSEWHERE and (not done.advice or not done.safety_net):
                    missing.append(f"{done.level.label} via {rule.id}")
                if rule.id in done.rules:
                    reached.add(rule.id)
                    break
            if rule.id in reached:
                break
    kb.memo[key] = (reached, levels, missing)
    return reached, levels, missing
