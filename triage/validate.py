"""Validation of the knowledge base, and the figures reviewers ask for.

Static checks: names, findings and their ranges, questions (one thing per
option, a guardian form wherever a guardian reads, "not measured" for every
measurement), rules (conditions read findings that some question asks; an
emergency says what to do on the way), and advice with safety-netting for
every level a reason can reach. Then the walk of every path shape through every
reason for every kind of patient it serves (``direkt.triage.paths``): it proves
that every path ends with advice, finds questions that no patient is ever
asked, and rules that no patient reaches.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from direkt.triage import expr as ex
from direkt.triage.guidance import build_guide
from direkt.triage.model import (
    ELSEWHERE,
    Entry,
    Finding,
    FindingType,
    KnowledgeBase,
    Level,
    Question,
    QuestionKind,
    Reason,
    Rule,
    Text,
)
from direkt.triage.paths import MAX_SHAPES_PER_REASON, Shapes, rule_reach, walk_reason
from direkt.triage.session import DONT_KNOW, NONE, NOT_MEASURED_ID

CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
FINDING_ID = re.compile(r"^[a-z][a-z0-9_]{1,60}$")
RESERVED_VALUES = frozenset({DONT_KNOW, NOT_MEASURED_ID, NONE, "?", "-"})
# "A or B" in an option makes an honest yes to A a yes to B: one thing per option.
# Parenthesised examples ("a blood thinner (for example warfarin or apixaban)") are one thing.
BUNDLED = re.compile(r"\b(or|eller)\b", re.IGNORECASE)
SECOND_PERSON = re.compile(r"\b(du|dig|din|ditt|dina|you|your|yours|yourself)\b", re.IGNORECASE)
GUARDIAN_AGES = range(1, 13)
MIN_TERMS = 3  # everyday words and synonyms a citizen may search a reason by


# -- static checks -----------------------------------------------------------------------


def validate(kb: KnowledgeBase, *, walk_paths: bool = True) -> list[str]:
    """Every problem found, as readable lines; empty when valid.

    ``walk_paths=False`` runs the static checks only (quick: for tools that
    read a knowledge base that ``direkt triage check`` has passed).
    """
    problems = static_problems(kb)
    if problems or not walk_paths:
        return problems  # walking a broken knowledge base would only repeat them
    return walk_problems(kb)


def static_problems(kb: KnowledgeBase) -> list[str]:
    problems = check_findings(kb) + check_screen(kb) + check_phrases(kb)
    rule_ids: set[str] = {r.id for r in kb.screen.rules}
    question_ids: set[str] = {kb.screen.question.id}
    for reason in kb.reasons.values():
        problems += check_reason(kb, reason, rule_ids, question_ids)
    return problems + build_guide(kb)[1]  # the nurse guidance (kb/guidance/) is part of the version


def walk_problems(kb: KnowledgeBase) -> list[str]:
    problems: list[str] = []
    for reason in kb.reasons.values():
        problems += check_walk(reason, walk_reason(kb, reason))
        reached, _, missing = rule_reach(kb, reason)
        problems += [
            f"reason {reason.code} rule {r.id}: no patient reaches it (its condition never holds on any path)"
            for r in reason.rules
            if r.id not in reached
        ]
        problems += [
            f"reason {reason.code}: an outcome without advice or safety-netting ({m})" for m in sorted(set(missing))
        ]
    return problems


def bundled(text: str) -> bool:
    """Whether a text joins two things with "or" outside parentheses."""
    return BUNDLED.search(re.sub(r"\([^)]*\)", "", text)) is not None


def check_findings(kb: KnowledgeBase) -> list[str]:
    problems = []
    for finding in kb.findings.values():
        where = f"finding {finding.id}"
        if not FINDING_ID.match(finding.id):
            problems.append(f"{where}: ids are lowercase letters, digits and '_'")
        if finding.type is FindingType.PRESENCE and (bundled(finding.lay.sv) or bundled(finding.lay.en)):
            problems.append(f"{where}: bundled option {finding.lay.en!r}: one thing per option, no 'or'")
        if finding.type is FindingType.NUMBER:
            problems += _check_number(finding, where)
        if finding.type is FindingType.CHOICE:
            problems += _check_choice(finding, where)
        if not 0 <= finding.min_age <= finding.max_age <= 120:
            problems.append(f"{where}: ages {finding.min_age}-{finding.max_age} are not a range within 0-120")
        if finding.min_age <= 12 and _needs_child_form(finding.lay):
            problems.append(f"{where}: the lay text speaks to 'you'; give a guardian form (sv_child, en_child)")
    return problems


# Units of what a person measures with a device: such a number is optional ("not measured").
MEASURED_UNITS = frozenset({"°C", "%", "mmHg", "mmol/l", "beats per minute", "breaths per minute", "kg"})


def _check_number(finding: Finding, where: str) -> list[str]:
    problems = [] if finding.unit else [f"{where}: a number needs a unit"]
    if finding.unit and finding.unit.en in MEASURED_UNITS and not finding.measurement:
        problems.append(f"{where}: its unit {finding.unit.en!r} is a measurement; mark it measurement = true")
    if finding.low is None or finding.high is None or finding.low >= finding.high:
        problems.append(f"{where}: a number needs a plausible range [low, high] with low < high")
    return problems


def _check_choice(finding: Finding, where: str) -> list[str]:
    ids = [v.id for v in finding.values]
    problems = [] if len(ids) >= 2 else [f"{where}: a choice needs at least two values"]
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: value ids repeat")
    if RESERVED_VALUES & set(ids):
        problems.append(f"{where}: value ids {sorted(RESERVED_VALUES & set(ids))} are reserved")
    if finding.normal is not None and finding.normal not in ids:
        problems.append(f"{where}: normal {finding.normal!r} is not one of its values")
    problems += [
        f"{where} value {v.id}: bundled option {v.lay.en!r}: one thing per option, no 'or'"
        for v in finding.values
        if bundled(v.lay.sv) or bundled(v.lay.en)
    ]
    return problems


def _needs_child_form(text: Text | None) -> bool:
    if text is None or text.has_child_form:
        return False
    return SECOND_PERSON.search(text.sv) is not None or SECOND_PERSON.search(text.en) is not None


def check_screen(kb: KnowledgeBase) -> list[str]:
    q = kb.screen.question
    where = f"red-flag screen {q.id}"
    problems = [] if q.kind is QuestionKind.CHECKLIST else [f"{where}: must be a checklist"]
    if not q.text.has_child_form:
        problems.append(f"{where}: the question needs its guardian form")
    emergency = [r for r in kb.screen.rules if r.level in ELSEWHERE]
    for finding_id in q.asks:  # each sign alone must be enough
        finding = kb.findings.get(finding_id)
        age = max(finding.min_age, 1) if finding else 30
        sex = sorted(finding.sexes)[0] if finding else "female"
        alone = ex.Context({finding_id: True}, age, age * 12, sex, "seek_care")
        if not any(r.when.holds(alone) for r in emergency):
            problems.append(
                f"{where}: {finding_id} has no rule that sends the patient to 112 or the emergency department"
            )
    asked = set(q.asks) | {f for r in kb.screen.risk for f in r.asks}
    problems += _check_rules(kb, kb.screen.rules, "screen", asked, guardian=True)
    for risk in kb.screen.risk:
        if not risk.id.startswith("screen."):
            problems.append(f"risk question {risk.id}: ids start with 'screen.'")
        if not risk.text.has_child_form and any(kb.findings[f].min_age <= 12 for f in risk.asks if f in kb.findings):
            problems.append(f"risk question {risk.id}: a guardian may answer; give its guardian form")
        if risk.when is not None and not ex.findings(risk.when) <= asked:
            problems.append(f"risk question {risk.id}: its condition reads findings the screen does not ask")
    return problems


def check_phrases(kb: KnowledgeBase) -> list[str]:
    texts = {f"headline {lv.label}": t for lv, t in kb.phrases.headline.items()}
    texts |= {f"visit {v.name.lower()}": t for v, t in kb.phrases.visit.items()}
    texts["chat_anyway"] = kb.phrases.chat_anyway
    return [f"phrases.toml {name}: needs its guardian form" for name, t in texts.items() if not t.has_child_form]


def serves_children(reason: Reason) -> bool:
    return reason.min_age <= 12 and Entry.ADMIN not in reason.entries


def check_reason(kb: KnowledgeBase, reason: Reason, rule_ids: set[str], question_ids: set[str]) -> list[str]:
    where = f"reason {reason.code}"
    problems = []
    if not CODE.match(reason.code):
        problems.append(f"{where}: code must be lowercase letters, digits and '_'")
    if not reason.sources:
        problems.append(f"{where}: name at least one source")
    if not reason.entries:
        problems.append(f"{where}: offer it in at least one entry")
    if not 0 <= reason.min_age <= reason.max_age <= 120:
        problems.append(f"{where}: ages {reason.min_age}-{reason.max_age} are not a range within 0-120")
    if not reason.questions:
        problems.append(f"{where}: has no questions")
    if reason.area not in kb.phrases.area:
        problems.append(f"{where}: area {reason.area!r} is not one of phrases.toml [area] {sorted(kb.phrases.area)}")
    for lang in ("sv", "en"):
        if len(reason.terms.get(lang, ())) < MIN_TERMS:
            problems.append(f"{where}: give at least {MIN_TERMS} everyday search terms in terms.{lang}")
    guardian = serves_children(reason)
    mixed = guardian and reason.max_age >= 13  # both patients and guardians read its texts
    asked: set[str] = set(kb.screen.question.asks) | (
        {f for q in kb.screen.risk for f in q.asks} if reason.screened else set()
    )
    for question in reason.questions:
        problems += check_question(kb, reason, question, question_ids, asked, guardian, mixed)
        question_ids.add(question.id)
        asked |= set(question.asks)
    for rule in reason.rules:
        if rule.id in rule_ids:
            problems.append(f"{where} rule {rule.id}: the id is used twice")
        rule_ids.add(rule.id)
    problems += _check_rules(kb, reason.rules, reason.code, asked, mixed)
    problems += _check_guidance(kb, reason, mixed)
    return problems


def check_question(
    kb: KnowledgeBase, reason: Reason, q: Question, seen: set[str], asked_before: set[str], guardian: bool, mixed: bool
) -> list[str]:
    """``guardian``: a guardian may answer; ``mixed``: patients answer it too (a "you" is then ambiguous)."""
    where = f"reason {reason.code} question {q.id}"
    problems = []
    if q.id in seen:
        problems.append(f"{where}: the id is used twice")
    if not q.id.startswith(f"{reason.code}."):
        problems.append(f"{where}: ids start with the reason code ('{reason.code}.')")
    if guardian and not q.text.has_child_form:
        problems.append(f"{where}: a guardian may answer; give the question its guardian form (sv_child, en_child)")
    if mixed and _needs_child_form(q.help):
        problems.append(f"{where}: the help speaks to 'you'; give it a guardian form")
    if q.kind is QuestionKind.CHECKLIST and len(q.asks) < 2:
        problems.append(f"{where}: a checklist asks at least two findings (ask one as a yes/no question)")
    if q.body_map and q.kind is not QuestionKind.CHOICE:
        problems.append(f"{where}: only a choice can be a body map")
    if q.when is not None:
        unknown = ex.findings(q.when) - asked_before
        if unknown:
            problems.append(f"{where}: 'when' reads {sorted(unknown)}, which no earlier question asks")
    return problems + [p for f in q.asks for p in _check_asked_finding(reason, q, kb.findings[f], where)]


def _check_asked_finding(reason: Reason, q: Question, finding: Finding, where: str) -> list[str]:
    """A finding as this question asks it: someone it applies to, and a way out for what a lay person may not know."""
    problems = []
    if finding.max_age < reason.min_age or finding.min_age > reason.max_age or not finding.sexes & reason.sexes:
        problems.append(f"{where}: {finding.id} applies to no patient this reason serves")
    if finding.type is FindingType.CHOICE and not q.dont_know and finding.normal is None:
        problems.append(f"{where}: {finding.id} is asked without 'don't know'; give it a normal value")
    if finding.type is FindingType.NUMBER and not finding.measurement and not q.dont_know:
        problems.append(f"{where}: {finding.id} is asked without 'don't know'; a lay person may not know")
    if finding.type is FindingType.NUMBER and finding.measurement and q.kind is not QuestionKind.NUMBER:
        problems.append(f"{where}: {finding.id} is a measurement; ask it on its own, with 'not measured'")
    return problems


def _check_rules(kb: KnowledgeBase, rules: Sequence[Rule], code: str, asked: set[str], guardian: bool) -> list[str]:
    problems = []
    for rule in rules:
        where = f"{code} rule {rule.id}"
        if not rule.id.startswith(f"{code}."):
            problems.append(f"{where}: ids start with '{code}.'")
        never = ex.findings(rule.when) - asked
        if never and code != "screen":
            problems.append(f"{where}: reads {sorted(never)}, which no question of this reason asks")
        if rule.level is Level.EMERGENCY_DEPARTMENT and rule.first_aid is None:
            problems.append(f"{where}: an emergency-department rule says what to do on the way (first_aid)")
        if guardian and not adult_only(kb, rule.when):
            for name in ("why", "advice", "first_aid"):
                if _needs_child_form(getattr(rule, name)):
                    problems.append(
                        f"{where}.{name}: speaks to 'you' and a guardian may read it; give its guardian form"
                    )
    return problems


def adult_only(kb: KnowledgeBase, condition: ex.Expr) -> bool:
    """Whether a condition can hold only from 13 years (its findings, or an age limit on the whole)."""
    parts = condition.operands if isinstance(condition, ex.All) else (condition,)
    if any(isinstance(p, ex.Compare) and p.subject == "age" and _from_13(p) for p in parts):
        return True
    read = ex.findings(condition)
    return bool(read) and all(kb.findings[f].min_age >= 13 for f in read if f in kb.findings)


def _from_13(compare: ex.Compare) -> bool:
    return (compare.op == ">=" and compare.number >= 13) or (compare.op == ">" and compare.number >= 12)


def reachable_levels(kb: KnowledgeBase, reason: Reason) -> set[Level]:
    """The levels a result for ``reason`` can have (an upper estimate)."""
    levels = {reason.base} | {r.level for r in kb.rules(reason) if r.level >= reason.base}
    return {lv for lv in levels if lv >= reason.base}


def _check_guidance(kb: KnowledgeBase, reason: Reason, guardian: bool) -> list[str]:
    where = f"reason {reason.code}"
    problems = []
    for level in sorted(reachable_levels(kb, reason) - ELSEWHERE):
        for name, blocks in (("advice", reason.advice), ("safety_net", reason.safety_net)):
            if not any(g.when is None and (not g.levels or level in g.levels) for g in blocks):
                problems.append(
                    f"{where}: no {name} without a condition for level {level.label} (an outcome without {name})"
                )
    if guardian:
        for name, blocks in (("advice", reason.advice), ("safety_net", reason.safety_net)):
            problems += [
                f"{where} {name} {i + 1}: speaks to 'you' and a guardian may read it; give its guardian form"
                for i, g in enumerate(blocks)
                if _needs_child_form(g.text)
            ]
    problems += [
        f"{where}: a guidance block for {lv.label} is never shown (emergencies get first aid)"
        for g in (*reason.advice, *reason.safety_net)
        for lv in g.levels & ELSEWHERE
    ]
    return problems


def check_walk(reason: Reason, found: Shapes) -> list[str]:
    where = f"reason {reason.code}"
    problems = [
        f"{where}: question {q.id} is never asked on any path" for q in reason.questions if q.id not in found.shown
    ]
    problems += [f"{where}: finding {f} is asked twice on one path" for f in sorted(found.repeated)]
    problems += [f"{where}: an outcome without advice or safety-netting ({m})" for m in sorted(set(found.missing))]
    if found.truncated:
        problems.append(f"{where}: more than {MAX_SHAPES_PER_REASON} path shapes; split the reason")
    return problems


# -- figures -----------------------------------------------------------------------------


def report(kb: KnowledgeBase) -> dict[str, object]:
    """The figures of ``direkt triage check --json``."""
    walks = {code: walk_reason(kb, reason) for code, reason in kb.reasons.items()}
    for code, reason in kb.reasons.items():
        walks[code].levels |= rule_reach(kb, reason)[1]
    lengths = [n for w in walks.values() for n in w.lengths]
    rules = [*kb.screen.rules, *(r for reason in kb.reasons.values() for r in reason.rules)]
    by_type = {t.value: sum(f.type is t for f in kb.findings.values()) for t in FindingType}
    return {
        "version": kb.version,
        "findings": len(kb.findings),
        "findings_by_type": by_type,
        "findings_with_codes": sum(bool(f.codes) for f in kb.findings.values()),
        "rules": len(rules),
        "rules_by_level": {lv.label: sum(r.level is lv for r in rules) for lv in Level},
        "red_flags": sum(r.level in ELSEWHERE for r in rules),
        "contact_reasons": len(kb.reasons),
        "contact_reasons_for_children": sum(serves_children(r) for r in kb.reasons.values()),
        "questions": len(kb.questions()),
        "path_shapes": len(lengths),
        "max_path_length": max(lengths, default=0),
        "median_path_length": statistics.median(lengths) if lengths else 0,
        "reasons": {
            code: {
                "questions": len(kb.reasons[code].questions),
                "rules": len(kb.reasons[code].rules),
                "max_path_length": max(w.lengths, default=0),
                "levels": sorted(lv.label for lv in w.levels),
            }
            for code, w in sorted(walks.items())
        },
    }
