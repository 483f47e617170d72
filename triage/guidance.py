"""Nurse guidance per contact reason: what to assess, what to ask, when to refer and where,
and the self-care advice to give.

Every contact reason of the knowledge base has an article. Its base is composed from what the
knowledge base already says (the reason's questions, its rules in clinical words with their
levels, its advice and safety-netting, its search terms and sources); a hand-written file
``kb/guidance/<code>.toml`` adds the nurse's own points for the commonest reasons:

    reason  = "sore_throat"                  # the contact reason it belongs to
    summary = { sv = "...", en = "..." }     # one paragraph for the nurse
    assess  = [{ sv = "...", en = "..." }]   # what to assess
    ask     = [{ sv = "...", en = "..." }]   # questions to ask (before the triage's own)
    refer   = [{ kind = "primary_care", sv = "...", en = "..." }]   # when to refer, and where
    advice  = [{ sv = "...", en = "..." }]   # self-care advice the nurse can insert
    terms   = { sv = [...], en = [...] }     # more words to be found by
    sources = ["..."]                        # the public guidance it is written from

The guidance files live under the knowledge base's directory, so they are part of the files
the knowledge base's version hashes and its snapshots keep: a changed article is a new
knowledge-base version, and a case's guidance can be read as it was when it was triaged.
This module is pure: files (path -> bytes) and a knowledge base in, articles and problems out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from direkt.triage import tomldecode
from direkt.triage.loader import TextSpec
from direkt.triage.model import ELSEWHERE, KnowledgeBase, Level, Place, Reason, Rule, Text, VisitForm
from direkt.triage.plain import rule_text

GUIDANCE_DIR = "guidance/"
# The kinds of care unit of the referral catalogue (direkt.server.care.catalogue).
KINDS = (
    "primary_care",
    "out_of_hours",
    "emergency",
    "youth_clinic",
    "child_health",
    "maternity",
    "dental_emergency",
    "pharmacy",
    "1177",
)
KIND_NAMES: dict[str, Text] = {
    "primary_care": Text("Vårdcentral", "Health centre"),
    "out_of_hours": Text("Jourmottagning", "Out-of-hours clinic"),
    "emergency": Text("Akutmottagning eller 112", "Emergency department or 112"),
    "youth_clinic": Text("Ungdomsmottagning", "Youth clinic"),
    "child_health": Text("Barnavårdscentral", "Child health centre"),
    "maternity": Text("Barnmorskemottagning", "Maternity clinic"),
    "dental_emergency": Text("Tandvårdsjour", "Emergency dentist"),
    "pharmacy": Text("Apotek", "Pharmacy"),
    "1177": Text("1177 på telefon", "1177 by telephone"),
}
LEVEL_WORDS: dict[Level, Text] = {
    Level.CALL_112: Text("ring 112", "call 112"),
    Level.EMERGENCY_DEPARTMENT: Text("akutmottagning i dag", "emergency department today"),
    Level.CALL_1177: Text("1177 bedömer direkt", "1177 assesses at once"),
    Level.IMMEDIATE: Text("bedömning genast", "assessment at once"),
    Level.URGENT: Text("bedömning inom en timme", "assessment within an hour"),
    Level.SOON: Text("bedömning inom några timmar", "assessment within hours"),
    Level.TODAY: Text("bedömning i dag", "assessment today"),
    Level.DAYS: Text("bedömning inom några dagar", "assessment within days"),
    Level.SELF_CARE: Text("egenvård", "self-care"),
}
_PLACE_KIND = {
    Place.YOUTH_CLINIC: "youth_clinic",
    Place.CHILD_HEALTH: "child_health",
    Place.MATERNITY: "maternity",
    Place.DENTIST: "dental_emergency",
    Place.VACCINATION: "primary_care",
    Place.HEALTH_CENTRE: "primary_care",
}


@dataclass(frozen=True)
class Referral:
    """Refer to a ``kind`` of care unit ``when`` this holds (at ``level``, if a rule says so)."""

    kind: str
    when: Text
    level: Level | None = None


@dataclass(frozen=True)
class Article:
    id: str  # the contact reason's code
    title: Text
    area: Text
    summary: Text | None
    assess: tuple[Text, ...]
    ask: tuple[Text, ...]
    refer: tuple[Referral, ...]
    advice: tuple[Text, ...]  # self-care advice to give, as the patient reads it
    safety_net: tuple[Text, ...]
    terms: Mapping[str, tuple[str, ...]]
    sources: tuple[str, ...]
    written: bool  # has hand-written nurse guidance beside what the knowledge base says
    findings: tuple[Text, ...] = ()  # the findings its questions ask, in clinical words (searched)
    ages: tuple[int, int] = (0, 120)  # the patients its reason serves, youngest and oldest


@dataclass(frozen=True)
class Guide:
    """Every article by id, and the knowledge-base version they belong to."""

    version: str
    articles: Mapping[str, Article] = field(default_factory=dict)


# -- the hand-written files -------------------------------------------------------------


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ReferralSpec(_Strict):
    kind: str
    sv: str
    en: str


class ArticleSpec(_Strict):
    reason: str
    sources: list[str]
    summary: TextSpec | None = None
    assess: list[TextSpec] = msgspec.field(default_factory=list)
    ask: list[TextSpec] = msgspec.field(default_factory=list)
    refer: list[ReferralSpec] = msgspec.field(default_factory=list)
    advice: list[TextSpec] = msgspec.field(default_factory=list)
    terms: dict[str, list[str]] = msgspec.field(default_factory=dict)


def build_guide(kb: KnowledgeBase) -> tuple[Guide, list[str]]:
    """The articles of ``kb`` (its reasons and the guidance files among ``kb.files``), and every problem."""
    problems: list[str] = []
    specs = _specs(kb.files, problems)
    for name, spec in specs.items():
        problems += [f"{name}: {p}" for p in check_spec(spec, kb)]
    written = {s.reason: s for s in specs.values() if s.reason in kb.reasons}
    articles = {code: compose(kb, reason, written.get(code)) for code, reason in kb.reasons.items()}
    return Guide(kb.version, articles), problems


def guide_of(kb: KnowledgeBase) -> Guide:
    """The guide of ``kb``, built once and kept in its memo (the validation has checked it)."""
    key = ("guidance", kb.version)
    found = kb.memo.get(key)
    if not isinstance(found, Guide):
        found = build_guide(kb)[0]
        kb.memo[key] = found
    return found


def _specs(files: Mapping[str, bytes], problems: list[str]) -> dict[str, ArticleSpec]:
    specs: dict[str, ArticleSpec] = {}
    seen: dict[str, str] = {}
    for name in sorted(n for n in files if n.startswith(GUIDANCE_DIR)):
        try:
            spec = tomldecode.decode(files[name], ArticleSpec)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        if spec.reason in seen:
            problems.append(f"{name}: the guidance for {spec.reason!r} is also in {seen[spec.reason]}")
            continue
        seen[spec.reason] = name
        specs[name] = spec
    return specs


def check_spec(spec: ArticleSpec, kb: KnowledgeBase) -> list[str]:
    """What is wrong with one hand-written article."""
    problems = [] if spec.reason in kb.reasons else [f"no contact reason {spec.reason!r} in the knowledge base"]
    if not [s for s in spec.sources if s.strip()]:
        problems.append("name the public guidance it is written from (sources)")
    texts = [spec.summary] if spec.summary else []
    texts += [*spec.assess, *spec.ask, *spec.advice]
    texts += [TextSpec(sv=r.sv, en=r.en) for r in spec.refer]
    if any(not t.sv.strip() or not t.en.strip() for t in texts):
        problems.append("a text is empty in Swedish or English")
    problems += [f"refer: unknown kind {r.kind!r}; use {list(KINDS)}" for r in spec.refer if r.kind not in KINDS]
    problems += [f"terms: unknown language {lang!r} (sv, en)" for lang in spec.terms if lang not in ("sv", "en")]
    if any(not w.strip() for words in spec.terms.values() for w in words):
        problems.append("terms: an empty term")
    return problems


# -- composing an article ------------------------------------------------------------------


def compose(kb: KnowledgeBase, reason: Reason, spec: ArticleSpec | None) -> Article:
    """One reason's article: the hand-written points first, then what the knowledge base says."""
    own = list(reason.rules)
    return Article(
        id=reason.code,
        title=reason.label,
        area=kb.phrases.area.get(reason.area, Text(reason.area, reason.area)),
        summary=_text(spec.summary) if spec and spec.summary else None,
        assess=tuple(_text(t) for t in (spec.assess if spec else [])) + tuple(_rule_point(kb, r) for r in own),
        ask=tuple(_text(t) for t in (spec.ask if spec else [])) + _questions(kb, reason),
        refer=tuple(Referral(r.kind, Text(r.sv.strip(), r.en.strip())) for r in (spec.refer if spec else []))
        + _referrals(kb, reason, own),
        advice=tuple(_text(t) for t in (spec.advice if spec else []))
        + _unique([a.text for a in reason.advice] + [r.advice for r in own if r.advice]),
        safety_net=_unique([s.text for s in reason.safety_net]),
        terms=_terms(reason, spec),
        sources=tuple(dict.fromkeys([*reason.sources, *(spec.sources if spec else [])])),
        written=spec is not None,
        findings=_findings(kb, reason),
        ages=(reason.min_age, reason.max_age),
    )


def _text(spec: TextSpec) -> Text:
    return Text(spec.sv.strip(), spec.en.strip())


def _unique(texts: list[Text]) -> tuple[Text, ...]:
    """Adult forms only (the nurse adapts them), each once."""
    return tuple(dict.fromkeys(Text(t.sv, t.en) for t in texts))


def _rule_point(kb: KnowledgeBase, rule: Rule) -> Text:
    """ "Dreglar eller stridor → ring 112"."""
    condition, level = rule_text(kb, rule), LEVEL_WORDS[rule.level]
    return Text(f"{condition.sv} → {level.sv}", f"{condition.en} → {level.en}")


def _questions(kb: KnowledgeBase, reason: Reason) -> tuple[Text, ...]:
    return tuple(q.staff or Text(q.text.sv, q.text.en) for q in reason.questions)


def _findings(kb: KnowledgeBase, reason: Reason) -> tuple[Text, ...]:
    asked = dict.fromkeys(f for q in reason.questions for f in q.asks)
    return tuple(kb.findings[f].staff for f in asked if f in kb.findings)


def referral_kind(reason: Reason, rule: Rule) -> str | None:
    """Where a rule sends the patient, as a kind of care unit; None when the nurse's chat is enough."""
    if rule.level in ELSEWHERE:
        return "1177" if rule.level is Level.CALL_1177 else "emergency"
    physical = (rule.visit or reason.visit) is VisitForm.PHYSICAL
    if not physical and rule.level < Level.IMMEDIATE:
        return None
    place = rule.place or reason.place
    if place is not None and place is not Place.HEALTH_CENTRE:
        return _PLACE_KIND[place]
    return "primary_care"  # out of its hours, the out-of-hours clinic: the catalogue knows which is open


def _referrals(kb: KnowledgeBase, reason: Reason, rules: list[Rule]) -> tuple[Referral, ...]:
    found = []
    for rule in sorted(rules, key=lambda r: -r.level):
        kind = referral_kind(reason, rule)
        if kind is not None:
            found.append(Referral(kind, rule_text(kb, rule), rule.level))
    return tuple(found)


def _terms(reason: Reason, spec: ArticleSpec | None) -> dict[str, tuple[str, ...]]:
    extra = spec.terms if spec else {}
    return {
        lang: tuple(dict.fromkeys([*reason.terms.get(lang, ()), *(w.strip() for w in extra.get(lang, []))]))
        for lang in ("sv", "en")
    }


# -- views ---------------------------------------------------------------------------------------


def _both(text: Text) -> dict[str, str]:
    return {"sv": text.sv, "en": text.en}


def article_view(article: Article, version: str) -> dict[str, object]:
    """An article as the console reads it, both languages (the nurse may write in either)."""
    return {
        "id": article.id,
        "reason": article.id,
        "title": _both(article.title),
        "area": _both(article.area),
        "summary": _both(article.summary) if article.summary else None,
        "assess": [_both(t) for t in article.assess],
        "ask": [_both(t) for t in article.ask],
        "refer": [
            {"kind": r.kind, "kind_name": _both(KIND_NAMES[r.kind]), "when": _both(r.when)}
            | ({"level": r.level.label} if r.level is not None else {})
            for r in article.refer
        ],
        "advice": [_both(t) for t in article.advice],
        "safety_net": [_both(t) for t in article.safety_net],
        "terms": {lang: list(words) for lang, words in article.terms.items()},
        "sources": list(article.sources),
        "written": article.written,
        "ages": list(article.ages),
        "kb_version": version,
    }
