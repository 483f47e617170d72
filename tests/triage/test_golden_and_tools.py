"""Golden cases for every contact reason, and the review tools as a clinician runs them."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from direkt.triage import tools
from direkt.triage.loader import KB_DIR, load, read
from direkt.triage.replay import check, run_case
from direkt.triage.validate import report, validate

KB = load()
GOLDEN = Path(__file__).parent / "golden"
CASES = [
    pytest.param(json.loads(line), id=f"{path.stem}:{n}")
    for path in sorted(GOLDEN.glob("*.jsonl"))
    for n, line in enumerate(path.read_text().splitlines(), 1)
    if line.strip()
]


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: dict[str, object]) -> None:
    assert check(KB, case) == [], case["name"]


def test_every_reason_has_golden_cases_for_every_level_it_can_reach() -> None:
    reached: dict[str, set[str]] = {}
    for param in CASES:
        case = param.values[0]
        outcome = run_case(KB, case)  # type: ignore[arg-type]
        assert outcome is not None
        reached.setdefault(outcome.reason_code, set()).add(outcome.level.name.lower())
    for code, levels in report(KB)["levels_by_reason"].items():  # type: ignore[union-attr]
        assert set(levels) <= reached.get(code, set()), (
            f"{code}: no golden case for {set(levels) - reached.get(code, set())}"
        )


def test_the_knowledge_base_is_valid_and_large_enough() -> None:
    assert validate(KB) == []
    figures = report(KB)
    assert figures["contact_reasons"] >= 30
    assert all(reason.sources for reason in KB.reasons.values())


def direkt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "direkt.server.cli", *args], capture_output=True, text=True, check=False
    )


def test_check_json_prints_the_figures() -> None:
    done = direkt("triage", "check", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout)
    for key in ("version", "contact_reasons", "questions", "red_flags", "max_path_length"):
        assert key in figures
    assert figures["version"] == KB.version


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "kb"
    shutil.copytree(KB_DIR, broken)
    fever = broken / "reasons" / "fever.toml"
    text = fever.read_text()
    text = text.replace('sources = [\n  "1177.se (Inera): Feber hos vuxna",', "sources = [")
    text = text.replace('advice = { sv = "Vila', 'unused = { sv = "Vila', 1)
    fever.write_text(text.replace("unused = {", "# unused = {"))
    (broken / "reasons" / "dead.toml").write_text(
        'code = "dead"\nlabel = { sv = "Död ände", en = "" }\nsources = ["x"]\n\n'
        '[[questions]]\nid = "dead.q"\nkind = "single"\ntext = { sv = "Fråga?", en = "Question?" }\n'
        'options = [{ id = "only", text = { sv = "Enda", en = "Only" } }]\n\n'
        '[[questions]]\nid = "dead.never"\nkind = "yesno"\ntext = { sv = "Aldrig?", en = "Never?" }\n'
        'show_if = [{ question = "dead.q", any_of = ["missing"] }]\n'
    )
    kb, problems = read(broken)
    assert kb is not None
    problems += validate(kb)
    joined = "\n".join(problems)
    assert "dead.toml.label: the en text is empty" in joined
    assert "a choice needs at least two options" in joined
    assert "names options ['missing']" in joined
    done = direkt("triage", "check", "--json", "--kb", str(broken))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout) == {"valid": False, "problems": problems}


def test_replay_prints_each_result_and_fails_on_a_difference(tmp_path: Path) -> None:
    lines = (GOLDEN / "fever.jsonl").read_text().splitlines()[:2]
    wrong = json.loads(lines[0])
    wrong["expect"] = {"level": "urgent"}
    script = tmp_path / "cases.jsonl"
    script.write_text("\n".join([*lines, json.dumps(wrong), '{"answers": "nonsense", "age": 30}']) + "\n")
    done = direkt("triage", "replay", str(script))
    assert done.returncode == 1
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["ok"] for r in rows] == [True, True, False, False]
    assert rows[2]["differences"] == ["level: expected 'urgent', got 'self_care'"]
    assert "Traceback" not in done.stderr


def test_graph_draws_every_question_of_a_reason(tmp_path: Path) -> None:
    out = tmp_path / "fever.svg"
    assert direkt("triage", "graph", "fever", "--out", str(out)).returncode == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for question in KB.reasons["fever"].questions:
        assert question.id in svg
    unknown = direkt("triage", "graph", "nope")
    assert unknown.returncode == 1 and "no contact reason 'nope'" in unknown.stderr


def test_run_is_an_interactive_session() -> None:
    answers = iter(
        [
            "1",
            "34",
            "1",
            str(len(KB.red_flags.options)),
            _reason_number("fever"),
            "38,1",
            "2",
            "5",
            "2",
            "2",
            "ingen",
            "",
        ]
    )
    out = io.StringIO()
    tools.run_interactive(KB, lambda _prompt: next(answers), out)
    assert "self_care" in out.getvalue() and "Vila" in out.getvalue()


def _reason_number(code: str) -> str:
    from direkt.triage.engine import Patient, reason_question, start
    from direkt.triage.model import Entry

    question = reason_question(KB, start(KB, Entry.SEEK_CARE, Patient(34, "female")))
    return str([o.id for o in question.options].index(code) + 1)


def test_run_survives_bad_terminal_input() -> None:
    answers = iter(
        ["1", "abc", "1",  # a non-number age: asked again
         "3", "5", "1",  # youth clinic at 5: refused, asked again
         "1", "34", "1", "0", "99", "-1", str(len(KB.red_flags.options)), _reason_number("fever"),
         "38,1", "2", "5", "2", "2", "ingen", ""]
    )  # fmt: skip
    out = io.StringIO()
    tools.run_interactive(KB, lambda _prompt: next(answers), out)
    text = out.getvalue()
    assert "hela år" in text and "13–23" in text and "choose a number from 1 to" in text
    assert "self_care" in text  # "0", "99" and "-1" never picked an option


def test_replay_reports_odd_lines_without_crashing(tmp_path: Path) -> None:
    script = tmp_path / "odd.jsonl"
    script.write_text('not json\n{"age": 1e400, "answers": []}\n[1, 2]\n{"age": 30, "answers": [], "expect": [1]}\n')
    done = direkt("triage", "replay", str(script))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 4 and not any(r["ok"] for r in rows) and rows[0]["name"] is None
