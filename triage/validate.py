"""Validation of the knowledge base, and the figures reviewers ask for.

Static checks (ids, options, ranges, conditions, texts, sources) and a walk of
every path through every contact reason with representative answers (each
option; for numbers, the range ends and every threshold and condition
boundary). The walk proves that every path ends in an outcome, finds
questions no path reaches, and checks that every outcome that needs
self-care advice has it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from direkt.server.errors import NotEligible
from direkt.triage.engine import (
    REASON_QUESTION,
    SCREENED,
    Patient,
    Session,
    answer,
    check_eligible,
    next_question,
    result,
    validate_answer,
)
from direkt.triage.model import ContactReason, Entry, Kind, KnowledgeBase, Level, Proxy, Question

CODE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
STEP = 0.01  # just below a 'below' bound
MAX_PATHS_PER_REASON = 50_000


@dataclass
class Walk:
    """What the exhaustive walk of one contact reason found."""

    lengths: list[int] = field(default_factory=list)
    levels: set[Level] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)
    missing_advice: bool = False
    truncated: bool = False


TYPICAL_AGE = {Entry.CHILD_HEALTH: 2, Entry.YOUTH_CLINIC: 18}


def representative(reason: ContactReason) -> tuple[Entry, Patient]:
    """An entry and a patient for whom the reason is offered (for walks and tests)."""
    entry = Entry.SEEK_CARE if Entry.SEEK_CARE in reason.entries else sorted(reason.entries)[0]
    age = min(max(reason.min_age, TYPICAL_AGE.get(entry, 30)), reason.max_age)
    sex = sorted(reason.sexes)[0]
    return entry, Patient(age, sex, Proxy.GUARDIAN if age <= 12 else Proxy.SELF)


def sample_answers(question: Question, bounds: Iterable[float] = ()) -> Sequence[object]:
    """Representative answers: every option; for numbers the range ends, every
    threshold, and ``bounds`` (where later questions' conditions switch)."""
    if question.kind.has_options:
        return [[o.id] if question.kind is Kind.MULTI else o.id for o in question.options]
    if question.kind is Kind.NUMBER:
        low, high = question.minimum, question.maximum
        points = {low, high, *(t.at_least for t in question.thresholds), *bounds}
        points |= {t.below - STEP for t in question.thresholds if t.below is not None}
        inside = (p for p in points if p is not None and (low is None or p >= low) and (high is None or p <= high))
        return sorted(inside)
    return ["skip"] if question.kind is Kind.PHOTO else ["(fritext)"]


def patients(kb: KnowledgeBase, reason: ContactReason) -> list[tuple[Entry, Patient]]:
    """The patients whose walks together reach everything: every sex a condition
    names, and every age where an age rule or an age condition starts."""
    entry, typical = representative(reason)
    conditions = [c for q in reason.questions for c in q.show_if if c.patient]
    sexes = sorted(reason.sexes) if any(c.patient == "sex" for c in conditions) else [typical.sex]
    bounds = {typical.age, *(r.minimum_age for r in reason.age_rules)}
    for c in conditions:
        if c.patient == "age":
            if c.at_least is not None:
                bounds.add(math.ceil(c.at_least))
            if c.below is not None:
                bounds |= {math.ceil(c.below), math.ceil(c.below) - 1}
    found = []
    for age in sorted(a for a in bounds if reason.min_age <= a <= reason.max_age):
        for sex in sexes:
            patient = Patient(age, sex, Proxy.GUARDIAN if age <= 12 else Proxy.SELF)
            try:
                check_eligible(kb, entry, patient)
            except NotEligible:
                continue
            found.append((entry, patient))
    return found or [(entry, typical)]


def walk_reason(kb: KnowledgeBase, reason: ContactReason) -> Walk:
    found = Walk()
    for entry, patient in patients(kb, reason):
        _walk_patient(kb, reason, entry, patient, found)
    return found


def condition_bounds(reason: ContactReason) -> dict[str, set[float]]:
    """Per number question, the values where a later question's condition switches."""
    bounds: dict[str, set[float]] = {}
    for question in reason.questions:
        for c in question.show_if:
            if c.question and (c.at_least is not None or c.below is not None):
                points = bounds.setdefault(c.question, set())
                points |= {x for x in (c.at_least, c.below) if x is not None}
                if c.below is not None:
                    points.add(c.below - STEP)
    return bounds


def _walk_patient(kb: KnowledgeBase, reason: ContactReason, entry: Entry, patient: Patient, found: Walk) -> None:
    session = Session(kb.version, entry, patient)
    if entry in SCREENED:
        session = answer(kb, session, kb.red_flags.id, ["none"])
    session = answer(kb, session, REASON_QUESTION, reason.code)
    for final in _paths(kb, session, found, condition_bounds(reason)):
        outcome = result(kb, final)
        if outcome is None:  # _paths yields finished sessions only
            raise RuntimeError(f"unfinished path in {reason.code}")
        found.levels.add(outcome.level)
        found.lengths.append(len(final.answers))
        found.missing_advice |= outcome.level is Level.SELF_CARE and outcome.advice is None


def _paths(kb: KnowledgeBase, session: Session, found: Walk, bounds: dict[str, set[float]]) -> Iterator[Session]:
    question = next_question(kb, session)
    if question is None:
        if len(found.lengths) >= MAX_PATHS_PER_REASON:
            found.truncated = True
            return
        yield session
        return
    found.shown.add(question.id)
    for value in sample_answers(question, bounds.get(question.id, ())):
        if found.truncated:
            return
        # the sample values are valid by construction: append without re-walking to the current question
        answered = (*session.answers, (question.id, validate_answer(question, value)))
        yield from _paths(kb, replace(session, answers=answered), found, bounds)


def validate(kb: KnowledgeBase) -> list[str]:
    """Every problem found, as readable lines; empty when valid."""
    problems = _check_red_flags(kb)
    seen_ids: set[str] = {kb.red_flags.id}
    for reason in kb.reasons.values():
        problems += _check_reason(reason, seen_ids)
    if problems:
        return problems  # walking a broken knowledge base would only repeat them
    for reason in kb.reasons.values():
        problems += _check_walk(reason, walk_reason(kb, reason))
    return problems


def _check_red_flags(kb: KnowledgeBase) -> list[str]:
    q = kb.red_flags
    where = f"red-flag screen {q.id}"
    problems = [] if q.kind is Kind.MULTI else [f"{where}: must be a multiple choice"]
    exclusive = [o for o in q.options if o.exclusive]
    if [o.id for o in exclusive] != ["none"]:
        problems.append(f"{where}: needs exactly one exclusive option 'none'")
    problems += [
        f"{where} option {o.id}: every option but 'none' is a red flag"
        for o in q.options
        if not o.exclusive and not o.effect.red_flag
    ]
    return problems


def _check_reason(reason: ContactReason, seen_ids: set[str]) -> list[str]:
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
    earlier: dict[str, Question] = {}
    for question in reason.questions:
        problems += _check_question(reason, question, earlier, seen_ids)
        earlier[question.id] = question
        seen_ids.add(question.id)
    return problems


def _check_question(reason: ContactReason, q: Question, earlier: dict[str, Question], seen: set[str]) -> list[str]:
    where = f"reason {reason.code} question {q.id}"
    problems = []
    if q.id in seen:
        problems.append(f"{where}: the id is used twice")
    if not q.id.startswith(f"{reason.code}."):
        problems.append(f"{where}: ids start with the reason code ('{reason.code}.')")
    if q.kind.has_options and len(q.options) < 2:
        problems.append(f"{where}: a choice needs at least two options (a dead end otherwise)")
    ids = [o.id for o in q.options]
    if len(set(ids)) != len(ids):
        problems.append(f"{where}: option ids repeat")
    if q.kind is not Kind.MULTI and any(o.exclusive for o in q.options):
        problems.append(f"{where}: 'exclusive' only makes sense in a multiple choice")
    if q.kind is Kind.NUMBER:
        problems += _check_number(q, where)
    for condition in q.show_if:
        if condition.patient:
            problems += _check_patient_condition(condition.patient, condition.any_of, where)
            continue
        source = earlier.get(condition.question)
        if source is None:
            problems.append(
                f"{where}: show_if refers to {condition.question!r}, not an earlier question of this reason"
            )
        elif condition.any_of - {o.id for o in source.options}:
            problems.append(f"{where}: show_if names options {sorted(condition.any_of)} that {source.id} lacks")
        elif (condition.at_least is not None or condition.below is not None) != (source.kind is Kind.NUMBER):
            problems.append(f"{where}: show_if compares numbers only for number questions")
    return problems


def _check_patient_condition(field_name: str, any_of: frozenset[str], where: str) -> list[str]:
    if field_name == "sex":
        unknown = any_of - {"female", "male", "other"}
        return [f"{where}: show_if on sex names {sorted(unknown)}; use female, male, other"] if unknown else []
    if field_name == "age":
        return [f"{where}: show_if on age takes at_least/below, not any_of"] if any_of else []
    return [f"{where}: show_if patient must be 'sex' or 'age'"]


def _check_number(q: Question, where: str) -> list[str]:
    if q.minimum is None or q.maximum is None or q.minimum >= q.maximum:
        return [f"{where}: a number question needs min < max"]
    problems = [] if q.unit else [f"{where}: a number question needs a unit"]
    for t in q.thresholds:
        bound = t.at_least if t.at_least is not None else t.below
        if bound is not None and not q.minimum <= bound <= q.maximum:
            problems.append(f"{where}: threshold {bound:g} is outside {q.minimum:g}-{q.maximum:g}")
    return problems


def _check_walk(reason: ContactReason, found: Walk) -> list[str]:
    where = f"reason {reason.code}"
    problems = [
        f"{where}: question {q.id} is never asked on any path" for q in reason.questions if q.id not in found.shown
    ]
    if found.missing_advice:
        problems.append(f"{where}: a path ends in self-care, but the reason has no advice")
    if found.truncated:
        problems.append(f"{where}: more than {MAX_PATHS_PER_REASON} paths; split the reason")
    return problems


def report(kb: KnowledgeBase) -> dict[str, object]:
    """The figures of ``direkt triage check --json``."""
    walks = {code: walk_reason(kb, reason) for code, reason in kb.reasons.items()}
    lengths = [n for w in walks.values() for n in w.lengths]
    red_flags = (
        sum(o.effect.red_flag for o in kb.red_flags.options)
        + sum(o.effect.red_flag for r in kb.reasons.values() for q in r.questions for o in q.options)
        + sum(t.effect.red_flag for r in kb.reasons.values() for q in r.questions for t in q.thresholds)
    )
    return {
        "version": kb.version,
        "contact_reasons": len(kb.reasons),
        "questions": len(kb.questions()),
        "red_flags": red_flags,
        "paths": len(lengths),
        "max_path_length": max(lengths, default=0),
        "median_path_length": statistics.median(lengths) if lengths else 0,
        "levels_by_reason": {code: sorted(lv.name.lower() for lv in w.levels) for code, w in sorted(walks.items())},
    }
