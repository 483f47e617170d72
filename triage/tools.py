"""Review tools behind ``direkt triage``: check, run, replay and graph.

Thin I/O around the pure engine: they read files and a terminal and write
JSON, text and SVG.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

import orjson

from direkt.server.errors import DirektError, KnowledgeBaseError
from direkt.triage.engine import Patient, Session, answer, next_question, result, start
from direkt.triage.loader import KB_DIR, read
from direkt.triage.model import SEXES, CareLevel, ContactReason, Entry, Kind, KnowledgeBase, Level, Proxy, Question
from direkt.triage.replay import check as check_case
from direkt.triage.replay import outcome_fields, run_case
from direkt.triage.validate import report, validate

LEVEL_COLOURS = {
    Level.SELF_CARE: "#2e7d32",
    Level.DAYS: "#558b2f",
    Level.TODAY: "#f9a825",
    Level.SOON: "#ef6c00",
    Level.URGENT: "#d84315",
    Level.IMMEDIATE: "#c62828",
    Level.EMERGENCY: "#b71c1c",
}


def check(out: IO[str], *, as_json: bool, kb_dir: Path = KB_DIR) -> int:
    """Validate the knowledge base; exit status 1 with every problem when invalid."""
    kb, problems = read(kb_dir)
    if kb is not None:
        problems += validate(kb)
    if problems or kb is None:
        if as_json:
            out.write(orjson.dumps({"valid": False, "problems": problems}).decode() + "\n")
        else:
            out.write("the triage knowledge base is invalid:\n" + "".join(f"- {p}\n" for p in problems))
        return 1
    figures = {"valid": True, **report(kb)}
    if as_json:
        out.write(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        out.write(
            f"knowledge base {figures['version']}: {figures['contact_reasons']} contact reasons, "
            f"{figures['questions']} questions, {figures['red_flags']} red flags, paths of "
            f"median {figures['median_path_length']} and at most {figures['max_path_length']} questions\n"
        )
    return 0


def replay(kb: KnowledgeBase, lines: Iterable[str], out: IO[str]) -> int:
    """Run each scripted case; print its outcome and any difference from ``expect``."""
    failed = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        case: Any = None
        try:
            case = orjson.loads(line)
            got = outcome_fields(run_case(kb, case))
            differences = check_case(kb, case) if "expect" in case else []
        except (DirektError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            got, differences = {}, [f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"]
        failed += bool(differences)
        row = {"line": number, "name": case.get("name") if isinstance(case, dict) else None, **got}
        out.write(orjson.dumps({**row, "ok": not differences, "differences": differences}).decode() + "\n")
    return 1 if failed else 0


def run_interactive(kb: KnowledgeBase, ask: Callable[[str], str], out: IO[str], lang: str = "sv") -> int:
    """A terminal session, as a citizen would answer. 'b' goes back one question."""
    session = _start(kb, ask, out)
    while (question := next_question(kb, session)) is not None:
        raw = ask(_prompt(question, lang))
        if raw.strip() == "b" and session.answers:
            session = Session(session.version, session.entry, session.patient, session.answers[:-1])
            continue
        try:
            session = answer(kb, session, question.id, _parse(question, raw))
        except (DirektError, ValueError) as exc:
            out.write(f"  ! {getattr(exc, 'message', exc)}\n")
    outcome = result(kb, session)
    if outcome is not None:
        out.write(_describe(outcome, lang))
    return 0


def _start(kb: KnowledgeBase, ask: Callable[[str], str], out: IO[str]) -> Session:
    """Ask entry, age and sex until the age and proxy rules accept them."""
    while True:
        entry = Entry(_choose(ask, out, "Ingång / entry", [e.value for e in Entry]))
        age = ask("Ålder / age: ").strip()
        sex = _choose(ask, out, "Kön / sex", sorted(SEXES))
        if not age.isdigit():
            out.write("  ! ange ålder i hela år / give the age in whole years\n")
            continue
        proxy = Proxy.GUARDIAN if int(age) < 13 else Proxy.SELF
        try:
            return start(kb, entry, Patient(int(age), sex, proxy))
        except DirektError as exc:
            out.write(f"  ! {exc.message}\n")


def _choose(ask: Callable[[str], str], out: IO[str], title: str, choices: list[str]) -> str:
    while True:
        out.write(f"{title}: " + ", ".join(f"{i}) {c}" for i, c in enumerate(choices, 1)) + "\n")
        raw = ask("> ").strip()
        if raw.isdigit() and 1 <= int(raw) <= len(choices):
            return choices[int(raw) - 1]


def _prompt(question: Question, lang: str) -> str:
    lines = [question.text.get(lang)]
    lines += [f"  {i}) {o.text.get(lang)}" for i, o in enumerate(question.options, 1)]
    if question.kind is Kind.NUMBER:
        lines.append(
            f"  ({question.minimum:g}–{question.maximum:g} {question.unit.get(lang) if question.unit else ''})"
        )
    if question.kind is Kind.MULTI:
        lines.append("  (flera: 1,3 / several: 1,3)")
    return "\n".join(lines) + "\n> "


def _parse(question: Question, raw: str) -> Any:
    """Terminal input to an answer; ValueError for what cannot be one."""
    raw = raw.strip()
    if question.kind is Kind.NUMBER:
        return float(raw.replace(",", "."))
    if question.kind is Kind.MULTI:
        return [_option(question, p) for p in raw.split(",") if p.strip()]
    if question.kind.has_options:
        return _option(question, raw)
    return raw


def _option(question: Question, number: str) -> str:
    number = number.strip()
    if not number.isdigit() or not 1 <= int(number) <= len(question.options):
        raise ValueError(f"choose a number from 1 to {len(question.options)}")
    return question.options[int(number) - 1].id


def _describe(outcome: Any, lang: str) -> str:
    lines = [f"\n== {outcome.reason_label.get(lang)}: {outcome.care_level.value} ({outcome.level.name.lower()})"]
    if outcome.care_level is CareLevel.CALL_112:
        lines.append("RING 112 NU / CALL 112 NOW" + (f" — {outcome.red_flag.get(lang)}" if outcome.red_flag else ""))
    else:
        lines.append(f"{outcome.profession.value}, {outcome.visit.name.lower()}")
    lines += [note.get(lang) for note in outcome.notes]
    if outcome.advice:
        lines.append(outcome.advice.get(lang))
    return "\n".join(lines) + "\n"


# -- graph -------------------------------------------------------------------------


def graph_svg(kb: KnowledgeBase, code: str, lang: str = "sv") -> str:
    """One contact reason's flow as SVG: questions in reading order, their
    conditions, and every option coloured by the level it leads to."""
    reason = kb.reasons.get(code)
    if reason is None:
        raise KnowledgeBaseError([f"no contact reason {code!r}; there are {sorted(kb.reasons)}"])
    blocks = [(reason.label.get(lang) + f" ({code})", _reason_lines(reason, lang), "#37474f")]
    blocks += [(q.text.get(lang), _question_lines(q, lang), "#455a64") for q in reason.questions]
    width, y, parts = 900, 20, []
    for title, lines, colour in blocks:
        height = 34 + 20 * len(lines)
        parts.append(_svg_block(20, y, width - 40, height, title, lines, colour))
        if y > 20:
            parts.append(
                f'<line x1="{width / 2}" y1="{y - 16}" x2="{width / 2}" y2="{y}" stroke="#90a4ae" stroke-width="2"/>'
            )
        y += height + 16
    legend = " ".join(f'<tspan fill="{c}">■ {lv.name.lower()}</tspan>' for lv, c in LEVEL_COLOURS.items())
    parts.append(f'<text x="20" y="{y + 10}" font-size="13">{legend}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 30}" '
        f'font-family="sans-serif">\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _reason_lines(reason: ContactReason, lang: str) -> list[tuple[str, str]]:
    lines = [
        (
            f"ages {reason.min_age}–{reason.max_age}; {', '.join(sorted(reason.entries))}; {reason.profession}",
            "#263238",
        ),
        (f"base level: {reason.base.name.lower()}", LEVEL_COLOURS[reason.base]),
    ]
    lines += [
        (f"age {r.minimum_age}–{r.maximum_age}: at least {r.level.name.lower()}", LEVEL_COLOURS[r.level])
        for r in reason.age_rules
    ]
    return lines + [(f"source: {s}", "#546e7a") for s in reason.sources]


def _question_lines(question: Question, lang: str) -> list[tuple[str, str]]:
    lines = [(f"[{question.id}, {question.kind}]", "#607d8b")]
    for condition in question.show_if:
        rule = (
            f"= {', '.join(sorted(condition.any_of))}"
            if condition.any_of
            else " ".join(
                part
                for part in (
                    f">= {condition.at_least:g}" if condition.at_least is not None else "",
                    f"< {condition.below:g}" if condition.below is not None else "",
                )
                if part
            )
        )
        subject = f"patient {condition.patient}" if condition.patient else condition.question
        lines.append((f"only if {subject} {rule}", "#6a1b9a"))
    for option in question.options:
        effect = option.effect
        mark = "112: " if effect.red_flag else ""
        lines.append((f"• {mark}{option.text.get(lang)} → {effect.level.name.lower()}", LEVEL_COLOURS[effect.level]))
    for threshold in question.thresholds:
        lines.append(
            (f"{threshold.label} → {threshold.effect.level.name.lower()}", LEVEL_COLOURS[threshold.effect.level])
        )
    return lines


def _svg_block(x: int, y: int, w: int, h: int, title: str, lines: list[tuple[str, str]], colour: str) -> str:
    out = [
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="#fafafa" stroke="{colour}" stroke-width="2"/>',
        f'<text x="{x + 12}" y="{y + 22}" font-size="15" font-weight="bold" fill="{colour}">'
        f"{html.escape(title)}</text>",
    ]
    for i, (text, fill) in enumerate(lines):
        out.append(f'<text x="{x + 20}" y="{y + 44 + 20 * i}" font-size="13" fill="{fill}">{html.escape(text)}</text>')
    return "\n".join(out)


def write_graph(kb: KnowledgeBase, code: str, path: Path | None, lang: str) -> int:
    svg = graph_svg(kb, code, lang)
    if path is None:
        sys.stdout.write(svg)
    else:
        path.write_text(svg)
    return 0
