"""The pages of the clinician review pack: one per contact reason, and the index.

A reason's page shows its sources, its questions with every option and limit,
its rules and guidance, the levels the check's walk reaches, its golden cases
and the development vignettes, then the sign-off. The index lists every
reviewed reason with its figures.
"""

from __future__ import annotations

import statistics
import textwrap
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from direkt.triage import evaluate
from direkt.triage import reviewhtml as h
from direkt.triage.model import (
    SEXES,
    Finding,
    FindingType,
    Guidance,
    KnowledgeBase,
    Question,
    QuestionKind,
    Reason,
    Rule,
    Text,
)
from direkt.triage.plain import condition_text
from direkt.triage.review import Golden, Review
from direkt.triage.validate import reachable_levels

STORY_CHARS = 260


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
    return h.page(f"{reason.label.sv} / {reason.label.en} ({reason.code})", "\n".join(body))


def _header(kb: KnowledgeBase, reason: Reason, generated: str) -> str:
    sexes = (
        ", ".join(h.SEX_WORDS[s].sv for s in sorted(reason.sexes)),
        ", ".join(h.SEX_WORDS[s].en for s in sorted(reason.sexes)),
    )
    entries = [h.ENTRIES.get(e, Text(e, e)) for e in sorted(reason.entries)]
    area = kb.phrases.area.get(reason.area, Text(reason.area, reason.area))
    rows = [
        (Text("Kod", "Code"), h.code(reason.code)),
        (
            Text("Ålder", "Ages"),
            h.both_str(f"{reason.min_age}–{reason.max_age} år", f"{reason.min_age}–{reason.max_age} years"),
        ),
        (Text("Kön", "Sexes"), h.both_str(*sexes)),
        (Text("Ingångar", "Entries"), h.both_str(", ".join(t.sv for t in entries), ", ".join(t.en for t in entries))),
        (Text("Område", "Area"), h.both(area)),
        (Text("Sökord", "Search terms"), h.both_str(*(", ".join(reason.terms.get(lang, ())) for lang in ("sv", "en")))),
        (Text("Grundnivå (ingen regel gäller)", "Base level (no rule holds)"), h.level_tag(reason.base)),
        (Text("Yrke", "Profession"), h.both(h.profession(kb, reason.profession))),
        (Text("Kontaktform", "Visit"), h.both(h.VISITS[reason.visit])),
        (Text("Plats för besök", "Place of visits"), h.place_text(kb, reason.place)),
        (Text("Röd flagg-frågor först", "Red-flag screen first"), h.both(h.yes(reason.screened))),
        (Text("Kunskapsbasens version", "Knowledge-base version"), h.code(kb.version)),
        (Text("Skapad", "Generated"), escape(generated)),
    ]
    table = "".join(f"<tr><th>{h.both(k)}</th><td>{v}</td></tr>" for k, v in rows)
    title = (
        f'<h1><span lang="sv">{escape(reason.label.sv)}</span> / <span lang="en">{escape(reason.label.en)}</span></h1>'
    )
    everything = h.inline(Text("Alla kontaktorsaker", "All contact reasons"))
    back = f'<p class="noprint"><a href="index.html">{everything}</a></p>'
    return f'<header>{back}{title}<table class="facts">{table}</table></header>'


def _sources(kb: KnowledgeBase, reason: Reason) -> str:
    own = h.bullets(reason.sources)
    screen = ""
    if reason.screened:
        heading = h.inline(
            Text(
                "Röd flagg-frågornas källor (gäller alla medicinska orsaker)",
                "The screen's sources (apply to every medical reason)",
            )
        )
        screen = f"<h3>{heading}</h3>{h.bullets(kb.screen.sources)}"
    return h.section("sources", Text("Källor", "Sources"), own + screen)


def _questions(kb: KnowledgeBase, reason: Reason) -> str:
    parts = []
    if reason.screened:
        parts.append(
            _question(kb, reason, kb.screen.question, Text("Röd flagg-frågan (alla)", "Red-flag screen (all)"))
        )
        parts += [_question(kb, reason, q, Text("Riskfaktorer (alla)", "Risk modifiers (all)")) for q in kb.screen.risk]
    parts += [_question(kb, reason, q, None) for q in reason.questions]
    return h.section("questions", Text("Frågor i ordning", "Questions in order"), "\n".join(parts))


def _question(kb: KnowledgeBase, reason: Reason, q: Question, shared: Text | None) -> str:
    badge = f' <span class="badge">{h.inline(shared)}</span>' if shared else ""
    meta = [h.inline(h.KINDS[q.kind])]
    if q.body_map:
        meta.append(h.inline(Text("visas som kroppskarta", "shown as a body map")))
    if q.kind in (QuestionKind.YESNO, QuestionKind.CHOICE, QuestionKind.NUMBER) and q.dont_know:
        meta.append(h.inline(Text("”Vet inte” erbjuds", "“Don't know” offered")))
    lines = [f'<h3><span class="id">{escape(q.id)}</span>{badge}</h3>', f'<p class="meta">{" · ".join(meta)}</p>']
    lines.append(h.labelled(Text("Fråga", "Question"), h.both(q.text)))
    if q.help is not None:
        lines.append(h.labelled(Text("Hjälptext", "Help"), h.both(q.help)))
    if q.staff is not None:
        lines.append(h.labelled(Text("Till personalen", "For staff"), h.both(q.staff)))
    if q.when is not None:
        lines.append(h.labelled(Text("Ställs bara när", "Asked only when"), _condition(kb, q)))
    if q.asks:
        lines.append(_options(kb, reason, q))
    return f'<article class="card" id="q-{escape(q.id)}">{"".join(lines)}</article>'


def _condition(kb: KnowledgeBase, item: Question | Rule | Guidance) -> str:
    if item.when is None:
        return h.both(Text("alltid", "always"))
    return h.both_str(condition_text(kb, item.when, "sv"), condition_text(kb, item.when, "en"))


def _options(kb: KnowledgeBase, reason: Reason, q: Question) -> str:
    """The findings a question asks of this reason's patients (an option for no one of them is left out)."""
    head = h.row_head(
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
                    f"  = {v.id}", v.lay, v.staff, h.inline(Text("normal", "normal")) if v.id == finding.normal else ""
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
        hidden = f'<p class="note">{h.inline(left_out)}</p>'
    return f'<table class="options">{head}{"".join(rows)}</table>{hidden}'


def _for_reason(finding: Finding, reason: Reason) -> bool:
    """Whether some patient of ``reason`` can be asked ``finding`` (ages overlap, a sex in common)."""
    ages = finding.min_age <= reason.max_age and reason.min_age <= finding.max_age
    return ages and bool(finding.sexes & reason.sexes)


def _option_row(ident: str, lay: Text, staff: Text, note: str) -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return f'<tr><td class="id">{h.breakable(ident)}{note_html}</td><td>{h.both(lay)}</td><td>{h.both(staff)}</td></tr>'


def _limits(finding: Finding) -> str:
    notes = []
    if finding.type is FindingType.NUMBER:
        unit = finding.unit or Text("", "")
        notes.append(
            h.both_str(f"{finding.low:g}–{finding.high:g} {unit.sv}", f"{finding.low:g}–{finding.high:g} {unit.en}")
        )
        if finding.measurement:
            notes.append(h.inline(Text("mätvärde: ”ej mätt” erbjuds", "measurement: “not measured” offered")))
    if (finding.min_age, finding.max_age) != (0, 120):
        notes.append(
            h.inline(
                Text(f"bara {finding.min_age}–{finding.max_age} år", f"only ages {finding.min_age}–{finding.max_age}")
            )
        )
    if finding.sexes != SEXES:
        sexes = sorted(finding.sexes)
        notes.append(
            h.both_str(
                "bara " + ", ".join(h.SEX_WORDS[s].sv for s in sexes),
                "only " + ", ".join(h.SEX_WORDS[s].en for s in sexes),
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
            f'<h3 class="level" style="border-color:{h.LEVEL_COLOURS[level]}">{h.level_tag(level)}</h3>'
            + "".join(rules)
        )
    note = ""
    if reason.screened:
        note = h.para(
            Text(
                "Röd flagg-frågornas regler gäller alla medicinska orsaker och är märkta.",
                "The screen's rules hold for every medical reason and are marked.",
            )
        )
    return h.section(
        "rules", Text("Regler, mest brådskande först", "Rules, most urgent first"), note + "\n".join(parts)
    )


def _rule(kb: KnowledgeBase, rule: Rule, *, shared: bool, reached: bool) -> str:
    badges = [f'<span class="badge">{h.inline(h.SCREEN)}</span>'] if shared else []
    if not shared and not reached:
        badges.append(f'<span class="warn">{h.inline(h.UNREACHED)}</span>')
    lines = [
        f'<h4><span class="id">{escape(rule.id)}</span> {" ".join(badges)}</h4>',
        h.labelled(Text("Nivå", "Level"), h.level_tag(rule.level)),
        h.labelled(Text("Villkor", "Condition"), _condition(kb, rule)),
    ]
    if rule.staff is not None:
        lines.append(h.labelled(Text("Till personalen", "For staff"), h.both(rule.staff)))
    lines.append(h.labelled(Text("Varför (till patienten)", "Why (to the patient)"), h.both(rule.why)))
    if rule.profession is not None:
        lines.append(h.labelled(Text("Yrke", "Profession"), h.both(h.profession(kb, rule.profession))))
    if rule.visit is not None:
        lines.append(h.labelled(Text("Kontaktform", "Visit"), h.both(h.VISITS[rule.visit])))
    if rule.place is not None:
        lines.append(h.labelled(Text("Plats", "Place"), h.place_text(kb, rule.place)))
    if rule.advice is not None:
        lines.append(h.labelled(Text("Råd", "Advice"), h.both(rule.advice)))
    if rule.first_aid is not None:
        lines.append(h.labelled(Text("Första hjälpen", "First aid"), h.both(rule.first_aid)))
    colour = h.LEVEL_COLOURS[rule.level]
    style = f"border-left-color:{colour}"
    return f'<article class="card rule" id="rule-{escape(rule.id)}" style="{style}">{"".join(lines)}</article>'


def _guidance(kb: KnowledgeBase, reason: Reason) -> str:
    blocks = [
        (Text("Råd", "Advice"), reason.advice),
        (Text("Hör av dig igen (säkerhetsnät)", "Safety-netting"), reason.safety_net),
    ]
    parts = []
    for title, guidance in blocks:
        parts.append(f"<h3>{h.inline(title)}</h3>")
        parts += [_guidance_block(kb, g) for g in guidance]
    return h.section("guidance", Text("Råd och säkerhetsnät", "Advice and safety-netting"), "\n".join(parts))


def _guidance_block(kb: KnowledgeBase, g: Guidance) -> str:
    levels = (
        h.both_str(
            ", ".join(h.LEVELS[lv].sv for lv in sorted(g.levels)), ", ".join(h.LEVELS[lv].en for lv in sorted(g.levels))
        )
        if g.levels
        else h.both(Text("alla nivåer under de akuta", "every level below the emergencies"))
    )
    lines = [
        h.labelled(Text("Nivåer", "Levels"), levels),
        h.labelled(Text("När", "When"), _condition(kb, g)),
        h.labelled(Text("Text", "Text"), h.both(g.text)),
    ]
    return f'<article class="card">{"".join(lines)}</article>'


def _outcomes(kb: KnowledgeBase, rv: Review) -> str:
    reason = rv.reason
    reached = sorted(rv.levels, reverse=True)
    upper = sorted(reachable_levels(kb, reason) - rv.levels, reverse=True)
    lines = [h.labelled(Text("Nivåer som nås", "Levels reached"), " ".join(h.level_tag(lv) for lv in reached))]
    if upper:
        lines.append(
            h.labelled(
                Text("Möjliga också enligt reglerna (övre gräns)", "Also possible by the rules (an upper estimate)"),
                " ".join(h.level_tag(lv) for lv in upper),
            )
        )
    if rv.lengths:
        median, most = statistics.median(rv.lengths), max(rv.lengths)
        lines.append(
            h.labelled(
                Text("Antal frågor per väg", "Questions per path"),
                h.both_str(
                    f"median {median:g}, högst {most} ({len(rv.lengths)} vägtyper)",
                    f"median {median:g}, at most {most} ({len(rv.lengths)} path shapes)",
                ),
            )
        )
    unreached = [r.id for r in reason.rules if r.id not in rv.reached]
    if unreached:
        lines.append(
            h.labelled(
                Text("Regler som ingen patient i kontrollen når", "Rules no patient in the check reaches"),
                escape(", ".join(unreached)),
            )
        )
    if reason.screened:
        lines.append(
            h.labelled(
                Text("Första hjälpen vid 112 (alla)", "First aid with every 112 result"), h.both(kb.screen.first_aid)
            )
        )
    note = h.para(
        Text(
            "Nivåerna kommer från kontrollens genomgång av alla vägar och ett exempel per regel.",
            "The levels come from the check's walk of every path and one example per rule.",
        )
    )
    return h.section("outcomes", Text("Utfall", "Outcomes"), note + "".join(lines))


def _golden_table(kb: KnowledgeBase, rv: Review) -> str:
    head = h.row_head(
        Text("Namn", "Name"),
        Text("Patient", "Patient"),
        Text("Fynd", "Key findings"),
        Text("Förväntat", "Expected"),
        Text("Beslutas av", "Decided by"),
        Text("Nu", "Now"),
    )
    rows = [_golden_row(kb, g) for g in rv.golden]
    summary = h.both_str(
        f"{rv.golden_ok} av {len(rv.golden)} stämmer nu", f"{rv.golden_ok} of {len(rv.golden)} match now"
    )
    body = f"<p>{summary}</p><table>{head}{''.join(rows)}</table>" if rows else h.para(Text("Inga.", "None."))
    return h.section("golden", Text("Gyllene fall", "Golden cases"), body)


def _golden_row(kb: KnowledgeBase, g: Golden) -> str:
    expect = g.case.get("expect") if isinstance(g.case.get("expect"), Mapping) else {}
    level = h.level_name(expect.get("level")) if expect else ""
    decided = expect.get("decided_by", "–") if expect else "–"
    now = f"{h.level_name(g.level)} <span class='id'>{h.breakable(g.decided_by or '–')}</span>" if g.level else ""
    verdict = (
        f'<span class="ok">✓</span> {now}'
        if not g.differences
        else f'<span class="warn">✗ {escape("; ".join(g.differences))}</span> {now}'
    )
    cells = [
        escape(str(g.case.get("name", ""))),
        h.patient_text(g.case),
        h.stated(kb, g.case.get("findings")),
        level,
        f'<span class="id">{h.breakable(str(decided or "–"))}</span>',
        verdict,
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _vignette_table(rv: Review) -> str:
    head = h.row_head(
        Text("Id", "Id"),
        Text("Patient", "Patient"),
        Text("Berättelse", "Story"),
        Text("Guldstandard", "Gold level"),
        Text("Nu", "Now"),
        Text("Bedömning", "Verdict"),
    )
    rows = [_vignette_row(v, s) for v, s in rv.vignettes]
    count = len(rv.vignettes)
    summary = h.both_str(f"{rv.exact} av {count} exakta", f"{rv.exact} of {count} exact")
    table = f"<p>{summary}</p><table>{head}{''.join(rows)}</table>" if rows else h.para(Text("Inga.", "None."))
    note = f'<p class="note">{h.both(h.HELD_OUT)}</p>'
    intro = h.para(
        Text(
            "Bara utvecklingsmängderna (tuning, tuning_c, suite_dev).",
            "The development sets only (tuning, tuning_c, suite_dev).",
        )
    )
    return h.section("vignettes", Text("Vinjetter", "Vignettes"), intro + note + table)


def _vignette_row(vignette: Mapping[str, Any], s: evaluate.Scored) -> str:
    mark = evaluate.row(s)["mark"]
    gold = h.gold(s.gold) + (
        f" ({h.inline(Text('godtas också', 'also accepted'))}: {h.gold(s.acceptable)})" if s.acceptable else ""
    )
    now = (
        f"{h.gold(s.got)} <span class='id'>{escape(s.level or '')} {h.breakable(s.decided_by or '')}</span>"
        if s.got
        else ""
    )
    if s.error:
        now = escape(s.error)
    story = textwrap.shorten(str(vignette.get("story", "")), STORY_CHARS, placeholder=" …")
    cells = [
        f'<span class="id" data-vignette="{escape(s.id)}">{escape(s.id)}</span>',
        h.patient_text(vignette),
        f'<span lang="en">{escape(story)}</span>',
        gold,
        now,
        f'<span class="{"ok" if mark == "exact" else "warn"}">{h.inline(h.MARKS[mark])}</span>',
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
    body = "".join(f'<div class="sign"><div class="what">{h.inline(k)}</div>{v}</div>' for k, v in rows)
    return h.section("sign-off", Text("Granskning och underskrift", "Review and sign-off"), body)


# -- the index --------------------------------------------------------------------------------


def index_page(kb: KnowledgeBase, reviews: Sequence[Review], generated: str) -> str:
    """Every reviewed contact reason with its figures, linking its page."""
    head = h.row_head(
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
        f'<table class="facts"><tr><th>{h.both(Text("Kunskapsbasens version", "Knowledge-base version"))}</th>'
        f"<td>{h.code(kb.version)}</td></tr><tr><th>{h.both(Text('Skapad', 'Generated'))}</th>"
        f"<td>{escape(generated)}</td></tr></table>"
    )
    body = [
        '<header><h1><span lang="sv">Klinisk granskning av triagen</span> / '
        f'<span lang="en">Clinical review of the triage</span></h1>{facts}</header>',
        h.section("reasons", Text("Kontaktorsaker", "Contact reasons"), f"<table>{head}{rows}</table>"),
        h.section(
            "screen-sources", Text("Röd flagg-frågornas källor", "The screen's sources"), h.bullets(kb.screen.sources)
        ),
        f'<p class="note">{h.both(h.HELD_OUT)}</p>',
    ]
    return h.page("Klinisk granskning / Clinical review", "\n".join(body))


def _index_row(rv: Review) -> str:
    reason = rv.reason
    share = f"{100 * rv.exact / len(rv.vignettes):.0f} %" if rv.vignettes else "–"
    cells = [
        f'<a href="{escape(reason.code)}.html">{h.both(reason.label)}</a>',
        h.code(reason.code),
        str(len(reason.questions)),
        str(len(reason.rules)),
        " ".join(h.level_tag(lv) for lv in sorted(rv.levels, reverse=True)),
        f"{len(rv.golden)} ({rv.golden_ok} ✓)",
        str(len(rv.vignettes)),
        f"{share} ({rv.exact}/{len(rv.vignettes)})",
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
