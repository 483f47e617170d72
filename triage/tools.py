"""Review tools behind ``direkt triage``: check, run, replay, eval, graph and review.

Thin I/O around the pure engine: they read files and a terminal and write
JSON, text and SVG.
"""

from __future__ import annotations

import datetime as dt
import html
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from direkt.triage import engine, evaluate, review, reviewpages
from direkt.triage.answerer import AnswererError
from direkt.triage.errors import KnowledgeBaseError, TriageFailure
from direkt.triage.loader import KB_DIR, read
from direkt.triage.model import Entry, KnowledgeBase, Level, QuestionKind, Reason, Respondent, Rule, Text
from direkt.triage.outcome import Result
from direkt.triage.plain import condition_text, headline, rule_text, visit_text
from direkt.triage.replay import check as check_case
from direkt.triage.replay import outcome_fields, run_case
from direkt.triage.reviewhtml import LEVEL_COLOURS
from direkt.triage.session import SKIP, Asked, Patient, Session
from direkt.triage.validate import report, validate


def check(out: IO[str], *, as_json: bool, kb_dir: Path = KB_DIR) -> int:
    """Validate the knowledge base; exit status 1 with every problem when invalid."""
    kb, problems = read(kb_dir)
    if kb is not None and not problems:
        problems = validate(kb)
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
            f"knowledge base {figures['version']}: {figures['findings']} findings, {figures['rules']} rules "
            f"({figures['red_flags']} to 112, the emergency department or 1177), {figures['contact_reasons']} "
            f"contact reasons ({figures['contact_reasons_for_children']} for children), {figures['questions']} "
            f"questions; paths of median {figures['median_path_length']} and at most "
            f"{figures['max_path_length']} questions\n"
        )
    return 0


# -- golden cases --------------------------------------------------------------------------


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
        except (TriageFailure, AnswererError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            got, differences = {}, [f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"]
        failed += bool(differences)
        row = {"line": number, "name": case.get("name") if isinstance(case, dict) else None, **got}
        out.write(orjson.dumps({**row, "ok": not differences, "differences": differences}).decode() + "\n")
    return 1 if failed else 0


# -- evaluation ----------------------------------------------------------------------------


def eval_vignettes(kb: KnowledgeBase, lines: Iterable[str], out: IO[str], *, as_json: bool) -> int:
    """Score vignettes; exit status 1 when a vignette cannot be run (it is never silently dropped)."""
    scored: list[evaluate.Scored] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            vignette = orjson.loads(line)
            if not isinstance(vignette, dict):
                raise TypeError("a vignette is a JSON object")
        except (orjson.JSONDecodeError, TypeError) as exc:
            scored.append(evaluate.Scored(f"line {number}", "?", None, None, None, None, None, (), (), str(exc)))
            continue
        scored.append(evaluate.score(kb, vignette))
    figures = evaluate.measures(scored)
    rows = [evaluate.row(s) for s in scored]
    if as_json:
        out.write(orjson.dumps({"version": kb.version, **figures, "vignettes_scored": rows},
                               option=orjson.OPT_INDENT_2).decode() + "\n")  # fmt: skip
    else:
        out.write(_eval_text(kb, figures, rows))
    return 1 if figures["errors"] else 0


def _eval_text(kb: KnowledgeBase, figures: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f} %"

    lines = [
        f"knowledge base {kb.version}: {figures['vignettes']} vignettes, {figures['errors']} could not be run",
        f"  exact care level (accuracy)   {pct(figures['exact'])}",
        f"  exact or acceptable           {pct(figures['acceptable'])}",
        f"  safe (never less urgent)      {pct(figures['safe'])}",
        f"  under-triage                  {pct(figures['under_triage'])}",
        f"  over-triage                   {pct(figures['over_triage'])}",
        f"  emergency sensitivity         {pct(figures['emergency_sensitivity'])} ({figures['emergencies_caught']})",
        f"  self-care recognised          {pct(figures['self_care_sensitivity'])} ({figures['self_care_recognised']})",
        f"  self-care specificity         {pct(figures['self_care_specificity'])}",
        f"  questions asked               median {figures['questions_median']}, max {figures['questions_max']}",
        "  by gold level:                n   exact    safe   under over",
    ]
    for gold, g in figures["by_gold"].items():
        lines.append(
            f"    {gold:<26} {g['n']:>3} {pct(g['exact']):>8} {pct(g['safe']):>8} {g['under']:>5} {g['over']:>4}"
        )
    lines.append("")
    for r in rows:
        got = f"{r['got']} ({r['level']})" if r["got"] else f"ERROR {r['error']}"
        lines.append(f"{r['id']:<8} gold {r['gold']:<12} got {got:<36} {r['mark']:<6} {r['questions']:>2} questions"
                     f"  decided by {r['decided_by'] or 'base level'}")  # fmt: skip
        lines.append(f"         asked: {' '.join(r['asked'])}")
        if r["unasked_findings"]:
            lines.append(f"         never asked, though true: {', '.join(r['unasked_findings'])}")
    return "\n".join(lines) + "\n"


# -- the terminal session ------------------------------------------------------------------

WORDS = {
    "entry": Text("Vad vill du göra?", "What do you want to do?"),
    "who": Text("Vem gäller det?", "Who is it about?"),
    "me": Text("Mig själv", "Myself"),
    "child": Text(
        "Mitt barn (1–12 år, eller under 6 år i barnhälsovården)", "My child (1–12, or under 6 in child health care)"
    ),
    "name": Text("Barnets förnamn: ", "The child's first name: "),
    "age": Text("Ålder i hela år: ", "Age in whole years: "),
    "months": Text("Och hur många månader till (0–11)? ", "And how many more months (0–11)? "),
    "sex": Text("Kön", "Sex"),
    "bad_age": Text("Skriv åldern som ett helt tal.", "Write the age as a whole number."),
    "pick": Text("Välj ett nummer.", "Choose a number."),
    "pick_of": Text("Välj ett eller flera nummer från 1 till {n}.", "Choose one or more numbers from 1 to {n}."),
    "pick_one": Text("Välj ett nummer från 1 till {n}.", "Choose a number from 1 to {n}."),
    "number": Text("Skriv ett tal.", "Enter a number."),
    "several": Text(
        "Flera svar: skriv numren med komma emellan, till exempel 1,3.",
        "Several answers: numbers with commas, for example 1,3.",
    ),
    "optional": Text("Tom rad: {skip}.", "Empty line: {skip}."),
    "back": Text("Skriv b för att gå tillbaka.", "Type b to go back."),
    "range": Text("Från {low} till {high} {unit}.", "From {low} to {high} {unit}."),
    "result": Text("Resultat", "Result"),
    "why": Text("Varför", "Why"),
    "advice": Text("Råd", "Advice"),
    "safety": Text("Hör av dig igen", "Get in touch again"),
    "first_aid": Text("Gör detta nu", "Do this now"),
    "finish": Text("Tryck Enter för att avsluta.", "Press Enter to finish."),
}
ENTRIES = {
    Entry.SEEK_CARE: Text("Söka vård", "Seek care"),
    Entry.VACCINATION: Text("Vaccination", "Vaccination"),
    Entry.YOUTH_CLINIC: Text("Ungdomsmottagningen", "Youth clinic"),
    Entry.CHILD_HEALTH: Text("Barnhälsovården (BVC)", "Child health care"),
    Entry.ADMIN: Text("Administrativt ärende", "An administrative matter"),
}
SEXES = {"female": Text("Kvinna", "Female"), "male": Text("Man", "Male"), "other": Text("Annat", "Other")}


@dataclass
class Terminal:
    """One language, one respondent, throughout."""

    ask: Callable[[str], str]
    out: IO[str]
    lang: str

    def say(self, text: Text | str, child: str | None = None) -> None:
        self.out.write((text if isinstance(text, str) else text.get(self.lang, child)) + "\n")

    def word(self, key: str) -> str:
        return WORDS[key].get(self.lang)

    def choose(self, title: str, choices: list[str]) -> int:
        while True:
            self.say(title)
            for i, choice in enumerate(choices, 1):
                self.say(f"  {i}) {choice}")
            raw = self.ask("> ").strip()
            if raw.isdigit() and 1 <= int(raw) <= len(choices):
                return int(raw) - 1
            self.say("  ! " + self.word("pick"))


def run_interactive(kb: KnowledgeBase, ask: Callable[[str], str], out: IO[str], lang: str = "sv") -> int:
    """A terminal session as a citizen (or a guardian) answers. 'b' goes back one question."""
    term = Terminal(ask, out, lang)
    session, child = _start(kb, term)
    while (asked := engine.next_question(kb, session)) is not None:
        raw = ask(_prompt(asked, term, child))
        if raw.strip().lower() == "b" and session.answers:
            session = engine.back(kb, session)
            continue
        try:
            session = engine.answer(kb, session, asked.id, _parse(asked, raw))
        except TriageFailure as exc:
            text = getattr(exc, "text", None)
            term.say("  ! " + (text.get(lang, exc.message) if isinstance(text, dict) else exc.message))
        except ValueError:
            key = {QuestionKind.NUMBER: "number", QuestionKind.CHECKLIST: "pick_of"}.get(asked.kind, "pick_one")
            term.say("  ! " + term.word(key).format(n=len(asked.options)))
    outcome = engine.result(kb, session)
    if outcome is not None:
        term.say(_describe(kb, outcome, term, child))
        ask(term.word("finish"))  # the result stays on screen until the person has read it
    return 0


def _start(kb: KnowledgeBase, term: Terminal) -> tuple[Session, str | None]:
    """Entry, who answers, age and sex, until the age and respondent rules accept them."""
    while True:
        entries = list(Entry)
        entry = entries[term.choose(term.word("entry"), [ENTRIES[e].get(term.lang) for e in entries])]
        for_child = term.choose(term.word("who"), [term.word("me"), term.word("child")]) == 1
        child = (
            (term.ask(term.word("name")).strip() or ("Barnet" if term.lang == "sv" else "The child"))
            if for_child
            else None
        )
        years = term.ask(term.word("age")).strip()
        if not years.isdigit():
            term.say("  ! " + term.word("bad_age"))
            continue
        months = term.ask(term.word("months")).strip() if for_child and int(years) < 2 else "0"
        sexes = list(SEXES)
        sex = sexes[term.choose(term.word("sex"), [SEXES[s].get(term.lang) for s in sexes])]
        respondent = Respondent.GUARDIAN if for_child else Respondent.SELF
        try:
            extra = int(months) if months.isdigit() and int(months) < 12 else 0
            return engine.start(kb, entry, Patient.aged(int(years), sex, respondent, extra)), child
        except TriageFailure as exc:
            text = getattr(exc, "text", {})
            term.say("  ! " + text.get(term.lang, exc.message))


def _prompt(asked: Asked, term: Terminal, child: str | None) -> str:
    lang = term.lang
    lines = ["", asked.question.text.get(lang, child)]
    if asked.question.help:
        lines.append(f"  ({asked.question.help.get(lang, child)})")
    lines += [f"  {i}) {o.text.get(lang, child)}" for i, o in enumerate(asked.options, 1)]
    finding = asked.finding
    if asked.kind is QuestionKind.NUMBER and finding is not None:
        unit = finding.unit.get(lang) if finding.unit else ""
        lines.append("  " + term.word("range").format(low=f"{finding.low:g}", high=f"{finding.high:g}", unit=unit))
    if asked.kind is QuestionKind.CHECKLIST:
        lines.append("  " + term.word("several"))
    skip = asked.skip.text.get(lang) if asked.skip else None
    if asked.kind in (QuestionKind.TEXT, QuestionKind.PHOTO):
        skip = "–"
    if skip:
        lines.append("  " + term.word("optional").format(skip=skip))
    return "\n".join(lines) + "\n> "


def _parse(asked: Asked, raw: str) -> Any:
    """Terminal input to an answer; ValueError for what cannot be one. Empty is "skip" where optional."""
    raw = raw.strip()
    kind = asked.kind
    if kind is QuestionKind.TEXT:
        return raw
    if kind is QuestionKind.PHOTO:
        return raw or SKIP
    if kind is QuestionKind.NUMBER:
        if not raw and asked.skip is not None:
            return asked.skip.id
        return float(raw.replace(",", "."))
    if kind is QuestionKind.CHECKLIST:
        return [_option(asked, p) for p in raw.split(",") if p.strip()]
    return _option(asked, raw)


def _option(asked: Asked, number: str) -> str:
    number = number.strip()
    if not number.isdigit() or not 1 <= int(number) <= len(asked.options):
        raise ValueError(f"1–{len(asked.options)}")
    return asked.options[int(number) - 1].id


def _describe(kb: KnowledgeBase, outcome: Result, term: Terminal, child: str | None) -> str:
    lang = term.lang
    lines = [
        "",
        f"== {term.word('result')}: {outcome.reason_label.get(lang)} ==",
        headline(kb, outcome).get(lang, child),
    ]
    visit = visit_text(kb, outcome)
    if visit is not None:
        lines.append(visit.get(lang, child))
    sections = [
        ("why", [outcome.why] if outcome.why else []),
        ("first_aid", list(outcome.first_aid)),
        ("advice", list(outcome.advice)),
        ("safety", list(outcome.safety_net)),
    ]
    for key, texts in sections:
        if texts:
            lines.append(f"-- {term.word(key)}:")
            lines += [f"   {t.get(lang, child)}" for t in texts]
    if outcome.level is Level.SELF_CARE:
        lines.append(kb.phrases.chat_anyway.get(lang, child))
    return "\n".join(lines) + "\n"


# -- graph -------------------------------------------------------------------------


def graph_svg(kb: KnowledgeBase, code: str, lang: str = "sv") -> str:
    """One contact reason as SVG for clinical review: its questions in reading order (with the
    findings they ask and when they are asked) and its rules coloured by the level they lead to."""
    reason = kb.reasons.get(code)
    if reason is None:
        raise KnowledgeBaseError([f"no contact reason {code!r}; there are {sorted(kb.reasons)}"])
    blocks = [(reason.label.get(lang) + f" ({code})", _reason_lines(reason), "#37474f")]
    blocks += [(q.text.get(lang), _question_lines(kb, q, lang), "#455a64") for q in reason.questions]
    blocks.append((("Regler" if lang == "sv" else "Rules"), [_rule_line(kb, r, lang) for r in reason.rules], "#37474f"))
    width, y, parts = 980, 20, []
    for title, lines, colour in blocks:
        height = 34 + 20 * len(lines)
        parts.append(_svg_block(20, y, width - 40, height, title, lines, colour))
        y += height + 16
    legend = " ".join(f'<tspan fill="{c}">■ {lv.label}</tspan>' for lv, c in LEVEL_COLOURS.items())
    parts.append(f'<text x="20" y="{y + 10}" font-size="13">{legend}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y + 30}" '
        f'font-family="sans-serif">\n' + "\n".join(parts) + "\n</svg>\n"
    )


def _reason_lines(reason: Reason) -> list[tuple[str, str]]:
    lines = [
        (
            f"ages {reason.min_age}–{reason.max_age}; {', '.join(sorted(reason.entries))}; {reason.profession}",
            "#263238",
        ),
        (f"base level: {reason.base.label}", LEVEL_COLOURS[reason.base]),
    ]
    return lines + [(f"source: {s}", "#546e7a") for s in reason.sources]


def _question_lines(kb: KnowledgeBase, question: Any, lang: str) -> list[tuple[str, str]]:
    lines = [(f"[{question.id}, {question.kind}]", "#607d8b")]
    if question.when is not None:
        lines.append((f"only if {condition_text(kb, question.when, lang)}", "#6a1b9a"))
    lines += [(f"• {kb.findings[f].staff.get(lang)}", "#263238") for f in question.asks]
    return lines


def _rule_line(kb: KnowledgeBase, rule: Rule, lang: str) -> tuple[str, str]:
    return (f"{rule.level.label}: {rule_text(kb, rule).get(lang)}", LEVEL_COLOURS[rule.level])


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


# -- the clinician review pack -------------------------------------------------------------

TESTS_DIR = Path(__file__).resolve().parent.parent / "tests" / "triage"
# The development vignettes only. The locked held-out sets (heldout.jsonl, suite_heldout.jsonl)
# are never read here: the team never tunes the knowledge base to them.
DEVELOPMENT_VIGNETTES = ("tuning.jsonl", "tuning_c.jsonl", "suite_dev.jsonl")


def write_review(
    kb: KnowledgeBase, codes: list[str], out_dir: Path, out: IO[str], err: IO[str], tests_dir: Path = TESTS_DIR
) -> int:
    """One page per contact reason (every reason when ``codes`` is empty) and an index; exit status 2
    for an unknown reason."""
    unknown = [c for c in codes if c not in kb.reasons]
    if unknown:
        err.write(f"direkt: no contact reason {', '.join(unknown)}; there are: {' '.join(sorted(kb.reasons))}\n")
        return 2
    vignettes = [v for name in DEVELOPMENT_VIGNETTES for v in _json_lines(tests_dir / "vignettes" / name)]
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out_dir.mkdir(parents=True, exist_ok=True)
    reviews = []
    for code in dict.fromkeys(codes or sorted(kb.reasons)):
        rv = review.review(kb, code, _json_lines(tests_dir / "golden" / f"{code}.jsonl"), vignettes)
        (out_dir / f"{code}.html").write_text(reviewpages.reason_page(kb, rv, generated), encoding="utf-8")
        reviews.append(rv)
    (out_dir / "index.html").write_text(reviewpages.index_page(kb, reviews, generated), encoding="utf-8")
    out.write(f"{len(reviews)} review pages and index.html in {out_dir} (knowledge base {kb.version})\n")
    return 0


def _json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a file, one a line; none when the file does not exist."""
    if not path.exists():
        return []
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise TriageFailure(f"{path}:{number}: {exc}") from None
        if not isinstance(value, dict):
            raise TriageFailure(f"{path}:{number}: not a JSON object")
        found.append(value)
    return found
