"""The clinician review pack (`direkt triage review`): what a clinician reads and signs for a version."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from direkt.triage import review, reviewhtml, reviewpages
from direkt.triage.loader import load
from direkt.triage.model import Level, Text

KB = load(walk_paths=False)
TESTS = Path(__file__).parent
REASONS = ("headache", "child_fever")
# The development vignettes only; the held-out sets are never read, not even here.
DEVELOPMENT = [TESTS / "vignettes" / name for name in ("tuning.jsonl", "tuning_c.jsonl", "suite_dev.jsonl")]
VOID = {"meta", "br", "wbr", "hr", "img", "link", "input"}


def direkt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "direkt.server.cli", *args], capture_output=True, text=True, check=False
    )


def json_lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Page(HTMLParser):
    """A page's text (entities decoded), links, vignette ids and rule cards; fails on unbalanced tags."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[str] = []
        self.vignettes: list[str] = []
        self.open: list[str] = []
        self.rules: dict[str, list[str]] = {}  # rule id -> the text of its card
        self.rows: list[list[str]] = []  # the text of each table row
        self.card: str | None = None  # the rule whose card is open
        self.feed(source)
        self.close()
        assert self.open == [], f"unclosed tags {self.open}"
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if found.get("data-vignette"):
            self.vignettes.append(str(found["data-vignette"]))
        if tag == "article":
            card = found.get("id") or ""
            self.card = card.removeprefix("rule-") if card.startswith("rule-") else None
            if self.card is not None:
                self.rules[self.card] = []
        if tag == "tr":
            self.rows.append([])
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open and self.open[-1] == "style":
            return
        self.chunks.append(data)
        if self.card is not None and "article" in self.open:
            self.rules[self.card].append(data)
        if "tr" in self.open:
            self.rows[-1].append(data)

    def row(self, first: str) -> str:
        """The text of the table row that starts with ``first``."""
        rows = [" ".join(" ".join(r).split()) for r in self.rows]
        return next(r for r in rows if r.startswith(f"{first} "))

    def rule_text(self, rule_id: str) -> str:
        return " ".join(" ".join(self.rules[rule_id]).split())


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Page]:
    out = tmp_path_factory.mktemp("review")
    done = direkt("triage", "review", *REASONS, "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{r}.html" for r in REASONS), "index.html"])
    return {p.stem: Page(p.read_text(encoding="utf-8")) for p in out.iterdir()}


@pytest.mark.parametrize("code", REASONS)
def test_the_questions_and_why_texts_are_in_swedish_and_english(pack: dict[str, Page], code: str) -> None:
    page, reason = pack[code], KB.reasons[code]
    for question in (KB.screen.question, *KB.screen.risk, *reason.questions):
        assert question.id in page.text
        assert words(question.text.sv) in page.text and words(question.text.en) in page.text, question.id
        if question.help is not None:
            assert words(question.help.sv) in page.text and words(question.help.en) in page.text
    for rule in KB.rules(reason):
        assert words(rule.why.sv) in page.text and words(rule.why.en) in page.text, rule.id


@pytest.mark.parametrize("code", REASONS)
def test_every_rule_shows_its_level_most_urgent_first(pack: dict[str, Page], code: str) -> None:
    page = pack[code]
    for rule in KB.rules(KB.reasons[code]):
        card = page.rule_text(rule.id)
        assert rule.level.label in card and reviewhtml.LEVELS[rule.level].sv in card, rule.id
    order = [next(r.level for r in KB.rules(KB.reasons[code]) if r.id == rid) for rid in page.rules]
    assert order == sorted(order, reverse=True)


def test_a_known_red_flag_rule_of_each_reason_is_shown_with_its_level(pack: dict[str, Page]) -> None:
    assert "call_112" in pack["child_fever"].rule_text("child_fever.meningitis")
    assert "Ring 112" in pack["child_fever"].rule_text("child_fever.meningitis")
    thunderclap = next(r for r in KB.reasons["headache"].rules if r.level is Level.CALL_112)
    assert "Ring 112" in pack["headache"].rule_text(thunderclap.id)


@pytest.mark.parametrize("code", REASONS)
def test_the_sources_and_the_version_are_on_the_page(pack: dict[str, Page], code: str) -> None:
    page = pack[code]
    for source in (*KB.reasons[code].sources, *KB.screen.sources):
        assert words(source) in page.text
    assert KB.version in page.text
    assert f"Version reviewed {KB.version}" in page.text  # the sign-off names the version signed
    assert "Reviewed by (name, title)" in page.text and "Comments" in page.text


@pytest.mark.parametrize("code", REASONS)
def test_the_golden_cases_are_listed(pack: dict[str, Page], code: str) -> None:
    cases = json_lines(TESTS / "golden" / f"{code}.jsonl")
    assert cases
    for case in cases:
        assert words(str(case["name"])) in pack[code].text
    assert f"{len(cases)} of {len(cases)} match now" in pack[code].text


@pytest.mark.parametrize("code", REASONS)
def test_the_development_vignettes_are_shown_with_their_gold_level(pack: dict[str, Page], code: str) -> None:
    page = pack[code]
    mine = [v for path in DEVELOPMENT for v in json_lines(path) if v["reason"] == code]
    assert mine and sorted(page.vignettes) == sorted(str(v["id"]) for v in mine)
    for vignette in mine:
        row = page.row(str(vignette["id"]))
        gold = reviewhtml.GOLD[str(vignette["gold"])]
        assert f"{gold.sv} / {gold.en}" in row, vignette["id"]
    assert {"A17", "C14"} <= set(pack["child_fever"].vignettes)  # known development vignettes of child_fever
    assert "Akut / Emergency" in pack["child_fever"].row("C14")  # its gold level


@pytest.mark.parametrize("code", [*REASONS, "index"])
def test_no_held_out_vignette_is_shown(pack: dict[str, Page], code: str) -> None:
    page = pack[code]
    # Held-out ids start with B (heldout.jsonl) and D (suite_heldout.jsonl).
    assert not any(v.startswith(("B", "D")) for v in page.vignettes)
    assert not any(re.match(r"[BD]\d{2,3} ", " ".join(" ".join(r).split())) for r in page.rows)
    assert "deliberately not shown" in page.text


def test_the_index_links_every_page_and_each_page_links_back(pack: dict[str, Page]) -> None:
    index = pack["index"]
    assert sorted(index.links) == sorted(f"{code}.html" for code in REASONS)
    assert KB.version in index.text
    for source in KB.screen.sources:
        assert words(source) in index.text
    for code in REASONS:
        assert KB.reasons[code].label.sv in index.text and KB.reasons[code].label.en in index.text
        assert "index.html" in pack[code].links


def test_an_unknown_reason_is_a_usage_error(tmp_path: Path) -> None:
    done = direkt("triage", "review", "headache", "nope", "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "no contact reason nope" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_every_text_is_escaped() -> None:
    script = "<script>alert(1)</script>"
    reason = KB.reasons["headache"]
    question = dataclasses.replace(reason.questions[0], text=Text(f"sv {script}", f"en {script}"))
    rule = dataclasses.replace(reason.rules[0], why=Text(script, script))
    changed = dataclasses.replace(
        reason,
        label=Text(script, "Headache & co"),
        questions=(question, *reason.questions[1:]),
        rules=(rule, *reason.rules[1:]),
        sources=(script,),
    )
    kb = dataclasses.replace(KB, reasons={**KB.reasons, "headache": changed})
    golden = [{"name": script, "reason": "headache", "age": 30, "sex": "female", "findings": {}}]
    vignettes = [{"id": "X1", "reason": "headache", "age": 30, "sex": "male", "gold": "self_care", "story": script}]
    rv = review.review(kb, "headache", golden, vignettes)
    for page in (reviewpages.reason_page(kb, rv, script), reviewpages.index_page(kb, [rv], script)):
        assert "<script" not in page.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "Headache &amp; co" in page
        Page(page)  # still well formed
