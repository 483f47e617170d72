"""The result of a finished walk: the highest level any holding rule reaches, or the reason's base level.

When in doubt, triage up. The result says who takes the case, whether and
where a visit follows, why (the deciding rule), the advice, the safety net
and first aid, and the findings in clinical words for staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from direkt.queue.model import Skill
from direkt.queue.urgency import Urgency
from direkt.triage import expr as ex
from direkt.triage.answers import answer_text
from direkt.triage.errors import InvalidAnswer
from direkt.triage.expr import NOT_MEASURED, UNKNOWN, Context, FactValue
from direkt.triage.model import (
    CARE_LEVEL,
    ELSEWHERE,
    ENTRY_PLACE,
    URGENCY,
    CareLevel,
    Entry,
    Finding,
    FindingType,
    Guidance,
    KnowledgeBase,
    Level,
    Place,
    QuestionKind,
    Reason,
    Rule,
    Text,
    VisitForm,
)
from direkt.triage.session import SKIP
from direkt.triage.walk import Walk, rule_tests

EMERGENCY_LABEL = Text("Akut tillstånd", "Emergency")


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


@dataclass(frozen=True)
class Decision:
    """What decides a result: the rules that hold, the level, the deciding rule, advice and safety net.

    The path walk checks every outcome for advice and safety-netting; it needs
    only this, not the findings and answers in words that a ``Result`` adds.
    """

    reason: Reason | None
    ctx: Context
    held: tuple[Rule, ...]  # in reading order
    level: Level
    decided_by: Rule | None  # None: the reason's base level decided
    advice: tuple[Text, ...]
    safety_net: tuple[Text, ...]


def decide(kb: KnowledgeBase, state: Walk) -> Decision:
    """The deciding part of the result of a finished walk (``outcome`` adds the rest)."""
    reason, ctx = state.reason, state.context()
    held = tuple(r for r, test in rule_tests(kb, reason) if test(ctx))
    if reason is None and not held:  # never silently: a finished session has a reason or a red flag
        raise InvalidAnswer("the chosen contact reason does not exist in this knowledge base")
    level = max([reason.base if reason is not None else Level.SELF_CARE, *(r.level for r in held)])
    decided = _deciding(kb, reason, held, level)
    return Decision(
        reason,
        ctx,
        held,
        level,
        decided,
        _guidance(reason.advice if reason else (), level, ctx, decided.advice if decided else None),
        _safety_net(kb, reason, level, ctx),
    )


def _deciding(kb: KnowledgeBase, reason: Reason | None, held: Sequence[Rule], level: Level) -> Rule | None:
    """At the deciding level the reason's own rule speaks first: it says more than the screen's."""
    at_level = [r for r in held if r.level is level]
    if not at_level or reason is None:
        return at_level[0] if at_level else None
    own = _own_rules(kb, reason)
    return next((r for r in at_level if id(r) in own), at_level[0])


def _own_rules(kb: KnowledgeBase, reason: Reason) -> frozenset[int]:
    """The identities of ``reason``'s own rules (memoised: no deep hash of every rule per outcome)."""
    key = ("own rules", reason.code)
    found = kb.memo.get(key)
    if not isinstance(found, frozenset):
        found = frozenset(id(r) for r in reason.rules)
        kb.memo[key] = found
    return found


def outcome(kb: KnowledgeBase, state: Walk) -> Result:
    """The result of a finished walk."""
    decision = decide(kb, state)
    reason, held, level, decided = decision.reason, decision.held, decision.level, decision.decided_by
    code, label = (reason.code, reason.label) if reason else ("emergency", EMERGENCY_LABEL)
    visit = _visit(reason, held, level)
    return Result(
        reason_code=code,
        reason_label=label,
        level=level,
        care_level=CARE_LEVEL[level],
        urgency=URGENCY[level],
        profession=_profession(reason, held),
        visit=visit,
        place=_place(reason, held, state.session.entry) if visit is VisitForm.PHYSICAL else None,
        decided_by=decided,
        why=decided.why if decided else None,
        advice=decision.advice,
        safety_net=decision.safety_net,
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
