"""The clinician review pack: one HTML page per contact reason and an index, to review and sign a version.

Pure: a knowledge base, the golden cases and the development vignettes in, HTML out. Every text is
escaped; each page carries its own CSS, needs nothing from the network and prints on A4. Swedish
comes first with English beside it. The locked held-out vignettes are never given to it: the team
does not tune the knowledge base to them.
"""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from direkt.queue.model import Skill
from direkt.triage import evaluate
from direkt.triage.answerer import AnswererError
from direkt.triage.errors import TriageFailure
from direkt.triage.model import (
    SEXES,
    Finding,
    FindingType,
    Guidance,
    KnowledgeBase,
    Level,
    Place,
    Question,
    QuestionKind,
    Reason,
    Rule,
    Text,
    VisitForm,
)
from direkt.triage.plain import condition_text
from direkt.triage.replay import check as check_case
from direkt.triage.replay import outcome_fields, run_case
from direkt.triage.validate import reachable_levels, rule_reach, walk_reason

LEVEL_COLOURS = {
    Level.SELF_CARE: "#2e7d32",
    Level.DAYS: "#558b2f",
    Level.TODAY: "#8d6e00",
    Level.SOON: "#ef6c00",
    Level.URGENT: "#d84315",
    Level.IMMEDIATE: "#c62828",
    Level.CALL_1177: "#ad1457",
    Level.EMERGENCY_DEPARTMENT: "#b71c1c",
    Level.CALL_112: "#7f0000",
}
LEVELS = {
    Level.SELF_CARE: Text("Egenvård", "Self-care"),
    Level.DAYS: Text("Inom några dagar", "Within a few days"),
    Level.TODAY: Text("I dag", "Today"),
    Level.SOON: Text("Inom några timmar", "Within a few hours"),
    Level.URGENT: Text("Inom en timme", "Within an hour"),
    Level.IMMEDIATE: Text("Direkt (inom 15 minuter)", "At once (within 15 minutes)"),
    Level.CALL_1177: Text("Ring 1177 nu", "Call 1177 now"),
    Level.EMERGENCY_DEPARTMENT: Text("Akutmottagning nu", "Emergency department now"),
    Level.CALL_112: Text("Ring 112", "Call 112"),
}
GOLD = {
    "emergency": Text("Akut", "Emergency"),
    "same_day": Text("Samma dag", "Same day"),
    "within_days": Text("Inom några dagar", "Within days"),
    "self_care": Text("Egenvård", "Self-care"),
}
MARKS = {
    "exact": Text("Exakt", "Exact"),
    "over": Text("Över", "Over"),
    "under": Text("Under", "Under"),
    "error": Text("Kan inte köras", "Cannot run"),
}
KINDS = {
    QuestionKind.YESNO: Text("Ja/nej", "Yes/no"),
    QuestionKind.CHECKLIST: Text("Checklista (kryssa allt som stämmer)", "Checklist (tick all that apply)"),
    QuestionKind.CHOICE: Text("Ett val", "One choice"),
    QuestionKind.NUMBER: Text("Tal", "Number"),
    QuestionKind.TEXT: Text("Fritext (bara till personalen)", "Free text (for staff only)"),
    QuestionKind.PHOTO: Text("Foto (bara till personalen)", "Photo (for staff only)"),
}
VISITS = {
    VisitForm.CHAT: Text("Chatt", "Chat"),
    VisitForm.VIDEO: Text("Video", "Video"),
    VisitForm.PHYSICAL: Text("Besök på plats", "Visit in person"),
}
ENTRIES = {
    "seek_care": Text("Söka vård", "Seek care"),
    "vaccination": Text("Vaccination", "Vaccination"),
    "youth_clinic": Text("Ungdomsmottagningen", "Youth clinic"),
    "child_health": Text("Barnhälsovården", "Child health care"),
    "admin": Text("Administrativt ärende", "Administrative matter"),
}
SEX_WORDS = {"female": Text("kvinna", "female"), "male": Text("man", "male"), "other": Text("annat", "other")}
HELD_OUT = Text(
    "De låsta testmängderna (held-out) visas medvetet inte: teamet justerar aldrig kunskapsbasen mot dem.",
    "The locked held-out sets are deliberately not shown: the team never tunes the knowledge base to them.",
)
SCREEN = Text("Röd flagg-frågan (alla)", "Screen (all)")
UNREACHED = Text("ingen patient i kontrollen når regeln", "no patient in the check reaches it")
STORY_CHARS = 260


# -- what is known about a reason ----------------------------------------------------------


@dataclass(frozen=True)
class Golden:
    """A golden case and what the triage gives for it now."""

    case: Mapping[str, Any]
    level: str | None  # None: the case cannot be run
    decided_by: str | None
    differences: tuple[str, ...]


@dataclass(frozen=True)
class Review:
    """One contact reason with the check's figures, its golden cases and its development vignettes."""

    reason: Reason
    levels: frozenset[Level]  # reached by the check's walk or by a witness of one of its rules
    reached: frozenset[str]  # the reason's rules that some patient reaches
    lengths: tuple[int, ...]  # questions asked on each path shape
    golden: tuple[Golden, ...]
    vignettes: tuple[tuple[Mapping[str, Any], evaluate.Scored], ...]

    @property
    def golden_ok(self) -> int:
        return sum(not g.differences for g in self.golden)

    @property
    def exact(self) -> int:
        return sum(s.exact for _, s in self.vignettes)


def review(
    kb: KnowledgeBase, code: str, golden: Iterable[Mapping[str, Any]], vignettes: Iterable[Mapping[str, Any]]
) -> Review:
    """Run ``code``'s golden cases and the development vignettes whose reason it is, with the check's figures."""
    reason = kb.reasons[code]
    walked = walk_reason(kb, reason)
    reached, levels, _ = rule_reach(kb, reason)
    mine = [v for v in vignettes if v.get("reason") == code]
    return Review(
        reason,
        frozenset(walked.levels | levels),
        frozenset(reached),
        tuple(walked.lengths),
        tuple(_golden(kb, case) for case in golden),
        tuple((v, evaluate.score(kb, v)) for v in mine),
    )


def _golden(kb: KnowledgeBase, case: Mapping[str, Any]) -> Golden:
    try:
        got = outcome_fields(run_case(kb, case))
        return Golden(case, got["level"], got["decided_by"], tuple(check_case(kb, case)))
    except (TriageFailure, AnswererError, KeyError, TypeError, ValueError) as exc:
        return Golden(case, None, None, (f"{type(exc).__name__}: {getattr(exc, 'message', exc)}",))


# -- the reason's page -----------------------------------------------------------------------


def reason_page(kb: KnowledgeBase, rv: Review, generated: str) -> str:
    """The page a clinician reads and signs for one contact reason."""
    reason = rv.reason
    body = [
        _header(kb, reason, generated),
        _sources(kb, reason),
        _questions(kb, reason),
        _rules(kb, rv),
        _guidance(kb, reason),
        _outcomes(kb, rv),
        _golden_table(kb, rv),
        _vignette_table(rv),
        _sign_off(kb),
    ]
    return _page(f"{reason.label.sv} / {reason.label.en} ({reason.code})", "\n".join(body))


def _header(kb: KnowledgeBase, reason: Reason, generated: str) -> str:
    sexes = (
        ", ".join(SEX_WORDS[s].sv for s in sorted(reason.sexes)),
        ", ".join(SEX_WORDS[s].en for s in sorted(reason.sexes)),
    )
    entries = [ENTRIES.get(e, Text(e, e)) for e in sorted(reason.entries)]
    area = kb.phrases.area.get(reason.area, Text(reason.area, reason.area))
    rows = [
        (Text("Kod", "Code"), _code(reason.code)),
        (
            Text("Ålder", "Ages"),
            _both_str(f"{reason.min_age}–{reason.max_age} år", f"{reason.min_age}–{reason.max_age} years"),
        ),
        (Text("Kön", "Sexes"), _both_str(*sexes)),
        (Text("Ingångar", "Entries"), _both_str(", ".join(t.sv for t in entries), ", ".join(t.en for t in entries))),
        (Text("Område", "Area"), _both(area)),
        (Text("Sökord", "Search terms"), _both_str(*(", ".join(reason.terms.get(lang, ())) for lang in ("sv", "en")))),
        (Text("Grundnivå (ingen regel gäller)", "Base level (no rule holds)"), _level(reason.base)),
        (Text("Yrke", "Profession"), _both(_profession(kb, reason.profession))),
        (Text("Kontaktform", "Visit"), _both(VISITS[reason.visit])),
        (Text("Plats för besök", "Place of visits"), _place(kb, reason.place)),
        (Text("Röd flagg-frågor först", "Red-flag screen first"), _both(_yes(reason.screened))),
        (Text("Kunskapsbasens version", "Knowledge-base version"), _code(kb.version)),
        (Text("Skapad", "Generated"), escape(generated)),
    ]
    table = "".join(f"<tr><th>{_both(k)}</th><td>{v}</td></tr>" for k, v in rows)
    title = (
        f'<h1><span lang="sv">{escape(reason.label.sv)}</span> / <span lang="en">{escape(reason.label.en)}</span></h1>'
    )
    back = (
        f'<p class="noprint"><a href="index.html">{_inline(Text("Alla kontaktorsaker", "All contact reasons"))}</a></p>'
    )
    return f'<header>{back}{title}<table class="facts">{table}</table></header>'


def _sources(kb: KnowledgeBase, reason: Reason) -> str:
    own = _list(reason.sources)
    screen = ""
    if reason.screened:
        heading = _inline(
            Text(
                "Röd flagg-frågornas källor (gäller alla medicinska orsaker)",
                "The screen's sources (apply to every medical reason)",
            )
        )
        screen = f"<h3>{heading}</h3>{_list(kb.screen.sources)}"
    return _section("sources", Text("Källor", "Sources"), own + screen)


def _questions(kb: KnowledgeBase, reason: Reason) -> str:
    parts = []
    if reason.screened:
        parts.append(
            _question(kb, reason, kb.screen.question, Text("Röd flagg-frågan (alla)", "Red-flag screen (all)"))
        )
        parts += [_question(kb, reason, q, Text("Riskfaktorer (alla)", "Risk modifiers (all)")) for q in kb.screen.risk]
    parts += [_question(kb, reason, q, None) for q in reason.questions]
    return _section("questions", Text("Frågor i ordning", "Questions in order"), "\n".join(parts))


def _question(kb: KnowledgeBase, reason: Reason, q: Question, shared: Text | None) -> str:
    badge = f' <span class="badge">{_inline(shared)}</span>' if shared else ""
    meta = [_inline(KINDS[q.kind])]
    if q.body_map:
        meta.append(_inline(Text("visas som kroppskarta", "shown as a body map")))
    if q.kind in (QuestionKind.YESNO, QuestionKind.CHOICE, QuestionKind.NUMBER) and q.dont_know:
        meta.append(_inline(Text("”Vet inte” erbjuds", "“Don't know” offered")))
    lines = [f'<h3><span class="id">{escape(q.id)}</span>{badge}</h3>', f'<p class="meta">{" · ".join(meta)}</p>']
    lines.append(_labelled(Text("Fråga", "Question"), _both(q.text)))
    if q.help is not None:
        lines.append(_labelled(Text("Hjälptext", "Help"), _both(q.help)))
    if q.staff is not None:
        lines.append(_labelled(Text("Till personalen", "For staff"), _both(q.staff)))
    if q.when is not None:
        lines.append(_labelled(Text("Ställs bara när", "Asked only when"), _condition(kb, q)))
    if q.asks:
        lines.append(_options(kb, reason, q))
    return f'<article class="card" id="q-{escape(q.id)}">{"".join(lines)}</article>'


def _condition(kb: KnowledgeBase, item: Question | Rule | Guidance) -> str:
    if item.when is None:
        return _both(Text("alltid", "always"))
    return _both_str(condition_text(kb, item.when, "sv"), condition_text(kb, item.when, "en"))


def _options(kb: KnowledgeBase, reason: Reason, q: Question) -> str:
    """The findings a question asks of this reason's patients (an option for no one of them is left out)."""
    head = _row_head(
        Text("Fynd (id)", "Finding (id)"),
        Text("Patienten läser", "The patient reads"),
        Text("Kliniska ord", "Clinical words"),
    )
    rows = []
    findings = [kb.findings[f] for f in q.asks]
    shown = [f for f in findings if _for_reason(f, reason)]
    for finding in shown:
        rows.append(_option_row(finding.id, finding.lay, finding.staff, _limits(finding)))
        if finding.type is FindingType.CHOICE:
            rows += [
                _option_row(
                    f"  = {v.id}", v.lay, v.staff, _inline(Text("normal", "normal")) if v.id == finding.normal else ""
                )
                for v in finding.values
            ]
    hidden = ""
    if len(shown) < len(findings):
        n = len(findings) - len(shown)
        left_out = Text(
            f"{n} alternativ visas aldrig för orsakens patienter (ålder, kön)",
            f"{n} options are never shown to this reason's patients (age, sex)",
        )
        hidden = f'<p class="note">{_inline(left_out)}</p>'
    return f'<table class="options">{head}{"".join(rows)}</table>{hidden}'


def _for_reason(finding: Finding, reason: Reason) -> bool:
    """Whether some patient of ``reason`` can be asked ``finding`` (ages overlap, a sex in common)."""
    ages = finding.min_age <= reason.max_age and reason.min_age <= finding.max_age
    return ages and bool(finding.sexes & reason.sexes)


def _option_row(ident: str, lay: Text, staff: Text, note: str) -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return f'<tr><td class="id">{_breakable(ident)}{note_html}</td><td>{_both(lay)}</td><td>{_both(staff)}</td></tr>'


def _limits(finding: Finding) -> str:
    notes = []
    if finding.type is FindingType.NUMBER:
        unit = finding.unit or Text("", "")
        notes.append(
            _both_str(f"{finding.low:g}–{finding.high:g} {unit.sv}", f"{finding.low:g}–{finding.high:g} {unit.en}")
        )
        if finding.measurement:
            notes.append(_inline(Text("mätvärde: ”ej mätt” erbjuds", "measurement: “not measured” offered")))
    if (finding.min_age, finding.max_age) != (0, 120):
        notes.append(
            _inline(
                Text(f"bara {finding.min_age}–{finding.max_age} år", f"only ages {finding.min_age}–{finding.max_age}")
            )
        )
    if finding.sexes != SEXES:
        sexes = sorted(finding.sexes)
        notes.append(
            _both_str(
                "bara " + ", ".join(SEX_WORDS[s].sv for s in sexes), "only " + ", ".join(SEX_WORDS[s].en for s in sexes)
            )
        )
    return " ".join(notes)


def _rules(kb: KnowledgeBase, rv: Review) -> str:
    reason = rv.reason
    own = set(reason.rules)
    parts = []
    for level in sorted({r.level for r in kb.rules(reason)}, reverse=True):
        rules = [
            _rule(kb, r, shared=r not in own, reached=r.id in rv.reached) for r in kb.rules(reason) if r.level is level
        ]
        parts.append(
            f'<h3 class="level" style="border-color:{LEVEL_COLOURS[level]}">{_level(level)}</h3>' + "".join(rules)
        )
    note = ""
    if reason.screened:
        note = _para(
            Text(
                "Röd flagg-frågornas regler gäller alla medicinska orsaker och är märkta.",
                "The screen's rules hold for every medical reason and are marked.",
            )
        )
    return _section("rules", Text("Regler, mest brådskande först", "Rules, most urgent first"), note + "\n".join(parts))


def _rule(kb: KnowledgeBase, rule: Rule, *, shared: bool, reached: bool) -> str:
    badges = [f'<span class="badge">{_inline(SCREEN)}</span>'] if shared else []
    if not shared and not reached:
        badges.append(f'<span class="warn">{_inline(UNREACHED)}</span>')
    lines = [
        f'<h4><span class="id">{escape(rule.id)}</span> {" ".join(badges)}</h4>',
        _labelled(Text("Nivå", "Level"), _level(rule.level)),
        _labelled(Text("Villkor", "Condition"), _condition(kb, rule)),
    ]
    if rule.staff is not None:
        lines.append(_labelled(Text("Till personalen", "For staff"), _both(rule.staff)))
    lines.append(_labelled(Text("Varför (till patienten)", "Why (to the patient)"), _both(rule.why)))
    if rule.profession is not None:
        lines.append(_labelled(Text("Yrke", "Profession"), _both(_profession(kb, rule.profession))))
    if rule.visit is not None:
        lines.append(_labelled(Text("Kontaktform", "Visit"), _both(VISITS[rule.visit])))
    if rule.place is not None:
        lines.append(_labelled(Text("Plats", "Place"), _place(kb, rule.place)))
    if rule.advice is not None:
        lines.append(_labelled(Text("Råd", "Advice"), _both(rule.advice)))
    if rule.first_aid is not None:
        lines.append(_labelled(Text("Första hjälpen", "First aid"), _both(rule.first_aid)))
    colour = LEVEL_COLOURS[rule.level]
    style = f"border-left-color:{colour}"
    return f'<article class="card rule" id="rule-{escape(rule.id)}" style="{style}">{"".join(lines)}</article>'


def _guidance(kb: KnowledgeBase, reason: Reason) -> str:
    blocks = [
        (Text("Råd", "Advice"), reason.advice),
        (Text("Hör av dig igen (säkerhetsnät)", "Safety-netting"), reason.safety_net),
    ]
    parts = []
    for title, guidance in blocks:
        parts.append(f"<h3>{_inline(title)}</h3>")
        parts += [_guidance_block(kb, g) for g in guidance]
    return _section("guidance", Text("Råd och säkerhetsnät", "Advice and safety-netting"), "\n".join(parts))


def _guidance_block(kb: KnowledgeBase, g: Guidance) -> str:
    levels = (
        _both_str(
            ", ".join(LEVELS[lv].sv for lv in sorted(g.levels)), ", ".join(LEVELS[lv].en for lv in sorted(g.levels))
        )
        if g.levels
        else _both(Text("alla nivåer under de akuta", "every level below the emergencies"))
    )
    lines = [
        _labelled(Text("Nivåer", "Levels"), levels),
        _labelled(Text("När", "When"), _condition(kb, g)),
        _labelled(Text("Text", "Text"), _both(g.text)),
    ]
    return f'<article class="card">{"".join(lines)}</article>'


def _outcomes(kb: KnowledgeBase, rv: Review) -> str:
    reason = rv.reason
    reached = sorted(rv.levels, reverse=True)
    upper = sorted(reachable_levels(kb, reason) - rv.levels, reverse=True)
    lines = [_labelled(Text("Nivåer som nås", "Levels reached"), " ".join(_level(lv) for lv in reached))]
    if upper:
        lines.append(
            _labelled(
                Text("Möjliga också enligt reglerna (övre gräns)", "Also possible by the rules (an upper estimate)"),
                " ".join(_level(lv) for lv in upper),
            )
        )
    if rv.lengths:
        median, most = statistics.median(rv.lengths), max(rv.lengths)
        lines.append(
            _labelled(
                Text("Antal frågor per väg", "Questions per path"),
                _both_str(
                    f"median {median:g}, högst {most} ({len(rv.lengths)} vägtyper)",
                    f"median {median:g}, at most {most} ({len(rv.lengths)} path shapes)",
                ),
            )
        )
    unreached = [r.id for r in reason.rules if r.id not in rv.reached]
    if unreached:
        lines.append(
            _labelled(
                Text("Regler som ingen patient i kontrollen når", "Rules no patient in the check reaches"),
                escape(", ".join(unreached)),
            )
        )
    if reason.screened:
        lines.append(
            _labelled(
                Text("Första hjälpen vid 112 (alla)", "First aid with every 112 result"), _both(kb.screen.first_aid)
            )
        )
    note = _para(
        Text(
            "Nivåerna kommer från kontrollens genomgång av alla vägar och ett exempel per regel.",
            "The levels come from the check's walk of every path and one example per rule.",
        )
    )
    return _section("outcomes", Text("Utfall", "Outcomes"), note + "".join(lines))


def _golden_table(kb: KnowledgeBase, rv: Review) -> str:
    head = _row_head(
        Text("Namn", "Name"),
        Text("Patient", "Patient"),
        Text("Fynd", "Key findings"),
        Text("Förväntat", "Expected"),
        Text("Beslutas av", "Decided by"),
        Text("Nu", "Now"),
    )
    rows = [_golden_row(kb, g) for g in rv.golden]
    summary = _both_str(
        f"{rv.golden_ok} av {len(rv.golden)} stämmer nu", f"{rv.golden_ok} of {len(rv.golden)} match now"
    )
    body = f"<p>{summary}</p><table>{head}{''.join(rows)}</table>" if rows else _para(Text("Inga.", "None."))
    return _section("golden", Text("Gyllene fall", "Golden cases"), body)


def _golden_row(kb: KnowledgeBase, g: Golden) -> str:
    expect = g.case.get("expect") if isinstance(g.case.get("expect"), Mapping) else {}
    level = _level_name(expect.get("level")) if expect else ""
    decided = expect.get("decided_by", "–") if expect else "–"
    now = f"{_level_name(g.level)} <span class='id'>{_breakable(g.decided_by or '–')}</span>" if g.level else ""
    verdict = (
        f'<span class="ok">✓</span> {now}'
        if not g.differences
        else f'<span class="warn">✗ {escape("; ".join(g.differences))}</span> {now}'
    )
    cells = [
        escape(str(g.case.get("name", ""))),
        _patient(g.case),
        _stated(kb, g.case.get("findings")),
        level,
        f'<span class="id">{_breakable(str(decided or "–"))}</span>',
        verdict,
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _vignette_table(rv: Review) -> str:
    head = _row_head(
        Text("Id", "Id"),
        Text("Patient", "Patient"),
        Text("Berättelse", "Story"),
        Text("Guldstandard", "Gold level"),
        Text("Nu", "Now"),
        Text("Bedömning", "Verdict"),
    )
    rows = [_vignette_row(v, s) for v, s in rv.vignettes]
    count = len(rv.vignettes)
    summary = _both_str(f"{rv.exact} av {count} exakta", f"{rv.exact} of {count} exact")
    table = f"<p>{summary}</p><table>{head}{''.join(rows)}</table>" if rows else _para(Text("Inga.", "None."))
    note = f'<p class="note">{_both(HELD_OUT)}</p>'
    intro = _para(
        Text(
            "Bara utvecklingsmängderna (tuning, tuning_c, suite_dev).",
            "The development sets only (tuning, tuning_c, suite_dev).",
        )
    )
    return _section("vignettes", Text("Vinjetter", "Vignettes"), intro + note + table)


def _vignette_row(vignette: Mapping[str, Any], s: evaluate.Scored) -> str:
    mark = evaluate.row(s)["mark"]
    gold = _gold(s.gold) + (
        f" ({_inline(Text('godtas också', 'also accepted'))}: {_gold(s.acceptable)})" if s.acceptable else ""
    )
    now = (
        f"{_gold(s.got)} <span class='id'>{escape(s.level or '')} {_breakable(s.decided_by or '')}</span>"
        if s.got
        else ""
    )
    if s.error:
        now = escape(s.error)
    story = textwrap.shorten(str(vignette.get("story", "")), STORY_CHARS, placeholder=" …")
    cells = [
        f'<span class="id" data-vignette="{escape(s.id)}">{escape(s.id)}</span>',
        _patient(vignette),
        f'<span lang="en">{escape(story)}</span>',
        gold,
        now,
        f'<span class="{"ok" if mark == "exact" else "warn"}">{_inline(MARKS[mark])}</span>',
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _sign_off(kb: KnowledgeBase) -> str:
    blank = '<div class="blank"></div>'
    rows = [
        (Text("Granskad av (namn, titel)", "Reviewed by (name, title)"), blank),
        (Text("Datum", "Date"), blank),
        (Text("Granskad version", "Version reviewed"), f"<code>{escape(kb.version)}</code>"),
        (Text("Kommentarer", "Comments"), blank * 5),
        (Text("Underskrift", "Signature"), blank),
    ]
    body = "".join(f'<div class="sign"><div class="what">{_inline(k)}</div>{v}</div>' for k, v in rows)
    return _section("sign-off", Text("Granskning och underskrift", "Review and sign-off"), body)


# -- the index --------------------------------------------------------------------------------


def index_page(kb: KnowledgeBase, reviews: Sequence[Review], generated: str) -> str:
    """Every reviewed contact reason with its figures, linking its page."""
    head = _row_head(
        Text("Kontaktorsak", "Contact reason"),
        Text("Kod", "Code"),
        Text("Frågor", "Questions"),
        Text("Regler", "Rules"),
        Text("Nivåer som nås", "Levels reached"),
        Text("Gyllene fall", "Golden cases"),
        Text("Vinjetter (utveckling)", "Vignettes (development)"),
        Text("Exakta", "Exact"),
    )
    rows = "".join(_index_row(rv) for rv in reviews)
    facts = (
        f'<table class="facts"><tr><th>{_both(Text("Kunskapsbasens version", "Knowledge-base version"))}</th>'
        f"<td>{_code(kb.version)}</td></tr><tr><th>{_both(Text('Skapad', 'Generated'))}</th>"
        f"<td>{escape(generated)}</td></tr></table>"
    )
    body = [
        '<header><h1><span lang="sv">Klinisk granskning av triagen</span> / '
        f'<span lang="en">Clinical review of the triage</span></h1>{facts}</header>',
        _section("reasons", Text("Kontaktorsaker", "Contact reasons"), f"<table>{head}{rows}</table>"),
        _section(
            "screen-sources", Text("Röd flagg-frågornas källor", "The screen's sources"), _list(kb.screen.sources)
        ),
        f'<p class="note">{_both(HELD_OUT)}</p>',
    ]
    return _page("Klinisk granskning / Clinical review", "\n".join(body))


def _index_row(rv: Review) -> str:
    reason = rv.reason
    share = f"{100 * rv.exact / len(rv.vignettes):.0f} %" if rv.vignettes else "–"
    cells = [
        f'<a href="{escape(reason.code)}.html">{_both(reason.label)}</a>',
        _code(reason.code),
        str(len(reason.questions)),
        str(len(reason.rules)),
        " ".join(_level(lv) for lv in sorted(rv.levels, reverse=True)),
        f"{len(rv.golden)} ({rv.golden_ok} ✓)",
        str(len(rv.vignettes)),
        f"{share} ({rv.exact}/{len(rv.vignettes)})",
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


# -- small pieces ------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 14mm; }
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; margin: 1.5em auto;
       max-width: 72em; padding: 0 1em; }
h1 { font-size: 1.7em; margin: 0.2em 0; } h2 { border-bottom: 2px solid #37474f; margin-top: 1.6em; }
h3 { margin: 1em 0 0.3em; } h4 { margin: 0 0 0.3em; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
th, td { border: 1px solid #b0bec5; padding: 0.25em 0.45em; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #eceff1; }
table.facts th { width: 16em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1.2em; }
.pair > [lang=en], .en { color: #455a64; }
.child { font-style: italic; }
.child > div::before { font-style: normal; color: #6a1b9a; font-size: 0.85em; }
.child > [lang=sv]::before { content: "Vårdnadshavare: "; } .child > [lang=en]::before { content: "Guardian: "; }
.card { border: 1px solid #cfd8dc; border-left: 5px solid #607d8b; border-radius: 4px; padding: 0.5em 0.8em;
        margin: 0.5em 0; break-inside: avoid; }
.field { display: grid; grid-template-columns: 11em 1fr; gap: 0.6em; margin: 0.15em 0; }
.field > .what { font-weight: 600; color: #37474f; font-size: 0.9em; }
.id, code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; }
.meta, .note { color: #546e7a; font-size: 0.9em; }
.badge { background: #eceff1; border: 1px solid #90a4ae; border-radius: 3px; padding: 0 0.3em; font-size: 0.8em; }
.level-tag { display: inline-block; border: 1px solid; border-radius: 3px; padding: 0 0.3em; margin: 0.1em 0;
             font-weight: 600; }
h3.level { border-left: 8px solid; padding-left: 0.4em; }
.warn { color: #b71c1c; font-weight: 600; } .ok { color: #2e7d32; font-weight: 600; }
.sign { margin: 0.8em 0; } .sign .what { font-weight: 600; }
.blank { border-bottom: 1px solid #263238; height: 2em; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; } .noprint { display: none; }
  h2 { break-after: avoid; } tr { break-inside: avoid; } #sign-off { break-inside: avoid; }
}
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="sv">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
        f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _section(anchor: str, title: Text, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_inline(title)}</h2>\n{body}\n</section>'


def _both(text: Text) -> str:
    """Swedish beside English, and the guardian forms below when the text has them."""
    pair = _both_str(text.sv, text.en)
    if text.sv_child is None and text.en_child is None:
        return pair
    sv, en = escape(text.sv_child or ""), escape(text.en_child or "")
    return f'{pair}<div class="pair child"><div lang="sv">{sv}</div><div lang="en">{en}</div></div>'


def _both_str(sv: str, en: str) -> str:
    return f'<div class="pair"><div lang="sv">{escape(sv)}</div><div lang="en">{escape(en)}</div></div>'


def _inline(text: Text) -> str:
    return f'<span lang="sv">{escape(text.sv)}</span> / <span lang="en" class="en">{escape(text.en)}</span>'


def _para(text: Text) -> str:
    return f"<p>{_inline(text)}</p>"


def _labelled(what: Text, value: str) -> str:
    return f'<div class="field"><div class="what">{_inline(what)}</div><div>{value}</div></div>'


def _row_head(*titles: Text) -> str:
    return "<tr>" + "".join(f"<th>{_inline(t)}</th>" for t in titles) + "</tr>"


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _breakable(ident: str) -> str:
    """An id that may wrap after its dots and underscores in a narrow column."""
    return escape(ident).replace(".", ".<wbr>").replace("_", "_<wbr>")


def _code(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def _level(level: Level) -> str:
    colour = LEVEL_COLOURS[level]
    style = f"color:{colour};border-color:{colour}"
    return f'<span class="level-tag" style="{style}">{_inline(LEVELS[level])} <code>{level.label}</code></span>'


def _level_name(name: object) -> str:
    try:
        return _level(Level.parse(str(name)))
    except KeyError:
        return escape(str(name))


def _gold(name: str | None) -> str:
    return _inline(GOLD[name]) if name in GOLD else escape(str(name))


def _yes(value: bool) -> Text:
    return Text("ja", "yes") if value else Text("nej", "no")


def _profession(kb: KnowledgeBase, skill: Skill) -> Text:
    return kb.phrases.profession.get(skill, Text(skill.value, skill.value))


def _place(kb: KnowledgeBase, place: Place | None) -> str:
    if place is None:
        return _both(Text("efter ingång", "by entry"))
    return _both(kb.phrases.place.get(place, Text(place.value, place.value)))


def _patient(case: Mapping[str, Any]) -> str:
    age, months, sex = case.get("age", "?"), case.get("months", 0), str(case.get("sex", "?"))
    words = SEX_WORDS.get(sex, Text(sex, sex))
    extra = Text(f" {months} mån", f" {months} mo") if months else Text("", "")
    return _inline(Text(f"{age} år{extra.sv}, {words.sv}", f"{age} y{extra.en}, {words.en}"))


def _stated(kb: KnowledgeBase, findings: object) -> str:
    """A case's findings in clinical words (Swedish, then English)."""
    if not isinstance(findings, Mapping):
        return ""
    texts = [_fact(kb, str(k), v) for k, v in findings.items()]
    return _both_str("; ".join(t.sv for t in texts), "; ".join(t.en for t in texts))


def _fact(kb: KnowledgeBase, finding_id: str, value: object) -> Text:
    finding = kb.findings.get(finding_id)
    label = finding.staff if finding else Text(finding_id, finding_id)
    if value is True:
        return label
    if value is False:
        return Text(f"inte {label.sv}", f"no {label.en}")
    words = {"unknown": Text("vet ej", "unknown"), "not_measured": Text("ej mätt", "not measured")}
    if isinstance(value, str) and value in words:
        return Text(f"{label.sv}: {words[value].sv}", f"{label.en}: {words[value].en}")
    if isinstance(value, int | float):
        unit = finding.unit if finding and finding.unit else Text("", "")
        return Text(f"{label.sv} {value:g} {unit.sv}".strip(), f"{label.en} {value:g} {unit.en}".strip())
    chosen = finding.value(str(value)) if finding else None
    staff = chosen.staff if chosen else Text(str(value), str(value))
    return Text(f"{label.sv}: {staff.sv}", f"{label.en}: {staff.en}")
