"""Results and questions in plain words, for the person who answers.

Pure rendering: a ``Result`` or an ``Asked`` question in, JSON-ready values
out, every text in Swedish and English and in the respondent's form (a
guardian reads the guardian form with the child's name). No internal code
reaches a person: levels, professions, visit forms and places are spelled
out by the knowledge base's phrasebook. Staff get the findings in clinical
words and the rule that decided the level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from direkt.triage import expr as ex
from direkt.triage.model import Finding, KnowledgeBase, Level, Rule, Text
from direkt.triage.outcome import FindingsSummary, Result
from direkt.triage.session import REASON_QUESTION, Asked

LANGS = ("sv", "en")


@dataclass(frozen=True)
class Reader:
    """Who reads: the patient (``child`` None) or a guardian for the child named ``child``."""

    child: str | None = None

    def text(self, value: Text | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {lang: value.get(lang, self.child) for lang in LANGS}

    def texts(self, values: Iterable[Text]) -> list[dict[str, str]]:
        return [{lang: v.get(lang, self.child) for lang in LANGS} for v in values]


def both(value: Text) -> dict[str, str]:
    return {"sv": value.sv, "en": value.en}


# -- questions -------------------------------------------------------------------------


def question_view(asked: Asked, reader: Reader, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """A question as the widget shows it; ``asks`` names the findings it sets.

    With ``kb``, the choice of contact reason carries what the citizen finds it by:
    each reason's body area and everyday words, and the areas to browse.
    """
    finding = asked.finding
    view = {
        "id": asked.id,
        "kind": asked.kind.value,
        "text": reader.text(asked.question.text),
        "help": reader.text(asked.question.help),
        "options": [{"id": o.id, "text": reader.text(o.text), "exclusive": o.exclusive} for o in asked.options],
        "skip": {"id": asked.skip.id, "text": both(asked.skip.text)} if asked.skip else None,
        "unit": both(finding.unit) if finding and finding.unit else None,
        "minimum": finding.low if finding else None,
        "maximum": finding.high if finding else None,
        "integer": bool(finding and finding.integer),
        "body_map": asked.question.body_map,
        "asks": list(asked.asks),
        "normal": finding.normal if finding else None,
    }
    if kb is not None and asked.id == REASON_QUESTION:
        view["browse"] = browse_view(kb, [o.id for o in asked.options])
    return view


def browse_view(kb: KnowledgeBase, codes: Iterable[str]) -> dict[str, Any]:
    """The body areas (those with a reason on offer, in the phrasebook's order) and each reason's words."""
    reasons = {code: kb.reasons[code] for code in codes if code in kb.reasons}
    used = {r.area for r in reasons.values()}
    return {
        "areas": [{"id": area, "text": both(text)} for area, text in kb.phrases.area.items() if area in used],
        "reasons": {
            code: {"area": r.area, "terms": {lang: list(r.terms.get(lang, ())) for lang in LANGS}}
            for code, r in reasons.items()
        },
        "last": "other",  # "something else" stays last, whatever the search or the order
    }


# -- results ---------------------------------------------------------------------------


def headline(kb: KnowledgeBase, result: Result) -> Text:
    return kb.phrases.headline[result.level]


def visit_text(kb: KnowledgeBase, result: Result) -> Text | None:
    """Who will contact the patient, how, and where a visit happens."""
    if result.visit is None:
        return None
    frame = kb.phrases.visit[result.visit]
    profession = kb.phrases.profession[result.profession]
    place = kb.phrases.place[result.place] if result.place else Text("", "")

    def fill(template: str | None, lang: str) -> str | None:
        if template is None:
            return None
        who = profession.get(lang)
        filled = template.replace("{profession_cap}", who[:1].upper() + who[1:]).replace("{profession}", who)
        return filled.replace("{place}", place.get(lang))

    return Text(
        fill(frame.sv, "sv") or "",
        fill(frame.en, "en") or "",
        fill(frame.sv_child, "sv"),
        fill(frame.en_child, "en"),
    )


def result_view(kb: KnowledgeBase, result: Result, reader: Reader) -> dict[str, Any]:
    """The whole result: what the citizen reads and what staff read."""
    return {
        "reason": {"code": result.reason_code, "label": both(result.reason_label)},
        "level": result.level.label,
        "care_level": result.care_level.value,
        "urgency": int(result.urgency) if result.urgency is not None else None,
        "profession": result.profession.value,
        "visit": result.visit.name.lower() if result.visit is not None else None,
        "place": result.place.value if result.place is not None else None,
        "headline": reader.text(headline(kb, result)),
        "visit_text": reader.text(visit_text(kb, result)),
        "why": reader.text(result.why),
        "advice": reader.texts(result.advice),
        "safety_net": reader.texts(result.safety_net),
        "first_aid": reader.texts(result.first_aid),
        "chat_anyway": reader.text(kb.phrases.chat_anyway) if result.level is Level.SELF_CARE else None,
        "decided_by": decided_view(kb, result.decided_by),
        "findings": findings_view(result.findings),
        "rules": list(result.rules),
        "kb_version": result.version,
        "questions": result.questions,
        "answers": [{"question": reader.text(q), "answer": reader.text(a)} for q, a in result.answers],
    }


def decided_view(kb: KnowledgeBase, rule: Rule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"rule": rule.id, "level": rule.level.label, "staff": both(rule_text(kb, rule))}


def findings_view(summary: FindingsSummary) -> dict[str, Any]:
    return {
        "present": [both(t) for t in summary.present],
        "absent": [both(t) for t in summary.absent],
        "unknown": [both(t) for t in summary.unknown],
        "measured": [both(t) for t in summary.measured],
        "free_text": [{"question": both(q), "answer": a} for q, a in summary.free_text],
    }


# -- conditions in clinical words ------------------------------------------------------------

_WORDS = {
    "and": Text(" och ", " and "),
    "or": Text(" eller ", " or "),
    "not": Text("inte ", "not "),
    "at_least": Text("minst", "at least"),
    "of": Text("av", "of"),
    "unknown": Text("vet ej", "unknown"),
    "absent": Text("nej", "no"),
    "known": Text("känt", "known"),
    "asked": Text("frågat", "asked"),
    "age": Text("ålder", "age"),
    "age_months": Text("ålder i månader", "age in months"),
    "sex": Text("kön", "sex"),
    "entry": Text("ingång", "entry"),
}


def rule_text(kb: KnowledgeBase, rule: Rule) -> Text:
    """The rule in clinical words: its own staff text, or its condition spelled out."""
    if rule.staff is not None:
        return rule.staff
    return Text(condition_text(kb, rule.when, "sv"), condition_text(kb, rule.when, "en"))


def condition_text(kb: KnowledgeBase, expr: ex.Expr, lang: str, nested: bool = False) -> str:
    """A condition in clinical words ("Feber och Nackstelhet", "Temperatur ≥ 39 °C")."""
    return _TEXTS[type(expr)](kb, expr, lang, nested)


def _joined(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    joiner = _WORDS["and" if isinstance(expr, ex.All) else "or"].get(lang)
    inner = joiner.join(condition_text(kb, e, lang, nested=True) for e in expr.operands)
    return f"({inner})" if nested else inner


def _negated(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    return _WORDS["not"].get(lang) + condition_text(kb, expr.operand, lang, nested=True)


def _counted(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    inner = ", ".join(condition_text(kb, e, lang, nested=True) for e in expr.operands)
    return f"{_WORDS['at_least'].get(lang)} {expr.count} {_WORDS['of'].get(lang)} ({inner})"


def _present(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    return _label(kb, expr.finding, lang)


def _function(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    return f"{_label(kb, expr.finding, lang)}: {_WORDS[expr.name].get(lang)}"


def _compared(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    op = {">=": "≥", "<=": "≤"}.get(expr.op, expr.op)
    return f"{_label(kb, expr.subject, lang)} {op} {expr.number:g}{_unit(kb, expr.subject, lang)}"


def _one_of(kb: KnowledgeBase, expr: Any, lang: str, nested: bool) -> str:
    values = [_value_label(kb, expr.subject, v, lang) for v in expr.values]
    return f"{_label(kb, expr.subject, lang)}: {_WORDS['or'].get(lang).join(values)}"


_TEXTS: dict[type, Callable[[KnowledgeBase, Any, str, bool], str]] = {
    ex.All: _joined,
    ex.Any_: _joined,
    ex.Not: _negated,
    ex.AtLeast: _counted,
    ex.Has: _present,
    ex.Func: _function,
    ex.Compare: _compared,
    ex.OneOf: _one_of,
}


def _label(kb: KnowledgeBase, subject: str, lang: str) -> str:
    finding: Finding | None = kb.findings.get(subject)
    if finding is not None:
        return finding.staff.get(lang)
    return _WORDS[subject].get(lang) if subject in _WORDS else subject


def _unit(kb: KnowledgeBase, subject: str, lang: str) -> str:
    finding = kb.findings.get(subject)
    if subject == "age":
        return " år" if lang == "sv" else " years"
    if subject == "age_months":
        return " mån" if lang == "sv" else " months"
    return f" {finding.unit.get(lang)}" if finding and finding.unit else ""


def _value_label(kb: KnowledgeBase, subject: str, value: str, lang: str) -> str:
    finding = kb.findings.get(subject)
    chosen = finding.value(value) if finding else None
    return chosen.staff.get(lang) if chosen else value
