"""Golden cases for every contact reason, and the review tools as a clinician runs them:
check, replay, eval, run and graph."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support_kb import edit, small_kb, small_kb_dir

from direkt.triage import tools
from direkt.triage.engine import next_question, start
from direkt.triage.loader import KB_DIR, load, read
from direkt.triage.model import Entry, Respondent
from direkt.triage.replay import check, outcome_fields, run_case
from direkt.triage.session import Patient
from direkt.triage.validate import validate
from direkt.triage.walk import reason_question

KB = load(walk_paths=False)
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


def test_every_rule_decides_at_least_one_golden_case() -> None:
    decided = {outcome_fields(run_case(KB, param.values[0]))["decided_by"] for param in CASES}  # type: ignore[arg-type]
    rules = {r.id for reason in KB.reasons.values() for r in reason.rules}
    assert rules - decided == set()
    assert {path.stem for path in GOLDEN.glob("*.jsonl")} >= set(KB.reasons)


def test_the_knowledge_base_is_valid() -> None:
    # The walk of every path (about 15 s of CPU) is made by the server's start in
    # tests/server/test_serve.py::test_serve_is_ready_with_demo_data_and_stops_cleanly_on_sigterm.
    assert validate(KB, walk_paths=False) == []
    assert len(KB.reasons) >= 36
    assert all(reason.sources for reason in KB.reasons.values())


def direkt(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "direkt.server.cli", *args], capture_output=True, text=True, check=False, input=stdin
    )


# -- check -------------------------------------------------------------------------------------


def test_check_json_prints_the_figures(tmp_path: Path) -> None:
    """On two reasons: the whole knowledge base's walk is the server's start (test_serve)."""
    kb = small_kb(tmp_path / "kb")
    done = direkt("triage", "check", "--json", "--kb", str(tmp_path / "kb"))
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout)
    assert figures["version"] == kb.version and figures["valid"] is True
    assert figures["findings"] == len(kb.findings) and figures["contact_reasons"] == len(kb.reasons) == 2
    assert figures["rules"] >= figures["red_flags"] > 10
    assert 0 < figures["median_path_length"] <= figures["max_path_length"]
    assert set(figures["reasons"]) == set(kb.reasons)


@pytest.mark.parametrize(
    ("file", "old", "new", "problem"),
    [
        (  # a bundled option: "A or B" makes an honest yes to A a yes to B
            "findings/general.toml",
            'lay = { sv = "Diarré", en = "Diarrhoea" }',
            'lay = { sv = "Diarré eller kräkningar", en = "Diarrhoea or vomiting" }',
            "finding diarrhoea: bundled option 'Diarrhoea or vomiting'",
        ),
        (  # a question a guardian meets without its guardian form
            "reasons/child_fever.toml",
            ', sv_child = "Har {name} varit utanför Europa de senaste två månaderna?", '
            'en_child = "Has {name} been outside Europe in the last two months?" }',
            " }",
            "question child_fever.travel: a guardian may answer; give the question its guardian form",
        ),
        (  # a measurement without "not measured"
            "findings/general.toml",
            'type = "number"\nmeasurement = true\ninteger = true\nunit = { sv = "slag per minut"',
            'type = "number"\ninteger = true\nunit = { sv = "slag per minut"',
            "finding pulse: its unit 'beats per minute' is a measurement; mark it measurement = true",
        ),
        (  # an outcome without advice
            "reasons/sore_throat.toml",
            "[[advice]]\ntext =",
            '[[advice]]\nlevels = ["urgent"]\ntext =',
            "reason sore_throat: no advice without a condition for level self_care",
        ),
        (  # a rule that reads a finding no question asks
            "reasons/sore_throat.toml",
            'when = "symptom_days >= 7"',
            'when = "symptom_days >= 7 and diarrhoea"',
            "rule sore_throat.long: reads ['diarrhoea'], which no question of this reason asks",
        ),
        (  # a red flag on the screen that sends nobody anywhere
            "screen.toml",
            'when = "stroke_signs"',
            'when = "stroke_signs and fever"',
            "stroke_signs has no rule that sends the patient to 112",
        ),
        (  # a condition naming a finding the vocabulary lacks
            "reasons/sore_throat.toml",
            'when = "very_ill"',
            'when = "very_ill and feeling_blue"',
            "no finding 'feeling_blue' in the vocabulary",
        ),
    ],
    ids=["bundled", "guardian-form", "not-measured", "advice", "unasked-finding", "screen-sign", "unknown-finding"],
)
def test_check_fails_on_what_would_mislead_a_patient(
    tmp_path: Path, file: str, old: str, new: str, problem: str
) -> None:
    kb_dir = small_kb_dir(tmp_path / "kb")
    edit(kb_dir / file, old, new)
    done = direkt("triage", "check", "--json", "--kb", str(kb_dir))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    report_ = json.loads(done.stdout)
    assert report_["valid"] is False
    assert any(problem in p for p in report_["problems"]), report_["problems"]


def test_check_reads_a_broken_file_and_says_which(tmp_path: Path) -> None:
    kb_dir = small_kb_dir(tmp_path / "kb")
    (kb_dir / "reasons" / "broken.toml").write_text('code = "broken"\nlabel = { sv = "x" }\n')
    done = direkt("triage", "check", "--kb", str(kb_dir))
    assert done.returncode == 1 and "reasons/broken.toml" in done.stdout and "Traceback" not in done.stderr


# -- replay ------------------------------------------------------------------------------------


def test_replay_prints_each_result_and_fails_on_a_difference(tmp_path: Path) -> None:
    lines = (GOLDEN / "sore_throat.jsonl").read_text().splitlines()[:2]
    wrong = json.loads(lines[0])
    wrong["expect"] = {"level": "urgent"}
    script = tmp_path / "cases.jsonl"
    script.write_text("\n".join([*lines, json.dumps(wrong), '{"findings": "nonsense", "age": 30}']) + "\n")
    done = direkt("triage", "replay", str(script))
    assert done.returncode == 1
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["ok"] for r in rows] == [True, True, False, False]
    assert rows[2]["differences"] == ["level: expected 'urgent', got 'self_care'"]
    assert "Traceback" not in done.stderr


def test_replay_reports_odd_lines_without_crashing(tmp_path: Path) -> None:
    script = tmp_path / "odd.jsonl"
    script.write_text(
        'not json\n{"age": 1e400, "reason": "fever", "findings": {}}\n[1, 2]\n'
        '{"age": 30, "reason": "fever", "findings": {"no_such": true}, "expect": [1]}\n'
        '{"age": 30, "reason": "fever", "findings": {"temperature": 99}}\n'
    )
    done = direkt("triage", "replay", str(script))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 5 and not any(r["ok"] for r in rows) and rows[0]["name"] is None
    assert "no finding 'no_such'" in rows[3]["differences"][0]
    assert "does not look right" in rows[4]["differences"][0] or "not a plausible value" in rows[4]["differences"][0]


# -- eval --------------------------------------------------------------------------------------

VIGNETTES = [
    {"id": "v1", "age": 30, "sex": "female", "reason": "sore_throat", "findings": {"symptom_days": 2},
     "gold": "self_care"},
    {"id": "v2", "age": 30, "sex": "male", "reason": "sore_throat", "findings": {"drooling": True},
     "gold": "emergency"},
    {"id": "v3", "age": 4, "sex": "female", "respondent": "guardian", "reason": "child_fever",
     "findings": {"temperature": 39.1, "fever_days": 5}, "gold": "within_days"},  # same_day: over-triage
    {"id": "v4", "age": 40, "sex": "female", "reason": "sore_throat", "findings": {"one_sided_throat_pain": True},
     "gold": "emergency"},  # got same_day: under-triage
    {"id": "v5", "age": 40, "sex": "female", "reason": "sore_throat", "findings": {"very_ill": True},
     "gold": "within_days", "acceptable": "same_day"},
]  # fmt: skip


def test_eval_scores_vignettes_with_the_measures_of_the_literature(tmp_path: Path) -> None:
    kb = small_kb(tmp_path / "kb")
    out = io.StringIO()
    status = tools.eval_vignettes(kb, [json.dumps(v) for v in VIGNETTES], out, as_json=True)
    figures = json.loads(out.getvalue())
    assert status == 0 and figures["errors"] == 0
    assert figures["exact"] == 40.0 and figures["acceptable"] == 60.0
    assert figures["under_triage"] == 20.0 and figures["over_triage"] == 40.0 and figures["safe"] == 80.0
    assert figures["emergency_sensitivity"] == 50.0 and figures["emergencies_caught"] == "1 of 2"
    assert figures["self_care_recognised"] == "1 of 1" and figures["self_care_specificity"] == 100.0
    rows = {r["id"]: r for r in figures["vignettes_scored"]}
    assert rows["v4"]["mark"] == "under" and rows["v3"]["mark"] == "over" and rows["v1"]["mark"] == "exact"
    assert rows["v2"]["asked"][:3] == ["screen.now", "reason", "screen.risk"]  # the risk modifiers, once
    assert rows["v2"]["asked"][-1] == "sore_throat.danger"
    assert rows["v3"]["decided_by"] == "child_fever.five_days"


def test_eval_prints_a_readable_report_and_fails_on_a_vignette_it_cannot_run(tmp_path: Path) -> None:
    kb = small_kb(tmp_path / "kb")
    bad = [
        {"id": "x1", "age": 30, "reason": "sore_throat", "findings": {"nonsense": True}, "gold": "self_care"},
        {"id": "x2", "age": 30, "sex": "female", "reason": "sore_throat", "findings": {}, "gold": "maybe"},
    ]
    out = io.StringIO()
    lines = [json.dumps(v) for v in VIGNETTES + bad] + ["{not json"]
    status = tools.eval_vignettes(kb, lines, out, as_json=False)
    text = out.getvalue()
    assert status == 1
    assert re.search(r"exact care level \(accuracy\)\s+40\.0 %", text)
    assert "emergency sensitivity" in text and "self-care specificity" in text and "questions asked" in text
    assert "x1" in text and "no finding 'nonsense'" in text and "gold must be one of" in text
    assert "3 could not be run" in text


def test_eval_scores_golden_cases_against_their_expected_level() -> None:
    done = direkt("triage", "eval", str(GOLDEN / "sore_throat.jsonl"), str(GOLDEN / "child_fever.jsonl"), "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["errors"] == 0 and figures["exact"] == 100.0
    assert figures["vignettes"] == sum(
        len((GOLDEN / f"{p}.jsonl").read_text().splitlines()) for p in ("sore_throat", "child_fever")
    )


def test_eval_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps(VIGNETTES[1]) + "\n")
    done = direkt("triage", "eval", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["emergencies_caught"] == "1 of 1"


# -- the terminal session ----------------------------------------------------------------------


def _none_number(kb: object, patient: Patient) -> str:
    screen = next_question(kb, start(kb, Entry.SEEK_CARE, patient))  # type: ignore[arg-type]
    assert screen is not None
    return str(len(screen.options))


def _reason_number(kb: object, code: str, patient: Patient) -> str:
    question = reason_question(kb, start(kb, Entry.SEEK_CARE, patient))  # type: ignore[arg-type]
    return str([o.id for o in question.options].index(code) + 1)


def _risk_none(kb: object, patient: Patient) -> str:
    """The number of "none of these" on the risk modifiers for ``patient``."""
    fits = [f for f in kb.screen.risk[0].asks if kb.findings[f].applies_to(patient.age, patient.sex)]  # type: ignore[attr-defined]
    return str(len(fits) + 1)


def test_run_speaks_one_language_asks_who_answers_and_keeps_the_result(tmp_path: Path) -> None:
    kb = small_kb(tmp_path / "kb")
    child = Patient.aged(4, "female", Respondent.GUARDIAN)
    prompts: list[str] = []
    answers = iter(
        ["1", "2", "Alva", "4", "1",  # seek care, my child Alva, 4 years, female
         "0",  # no screen option 0: asked again
         _none_number(kb, child),  # "none of these"
         _reason_number(kb, "child_fever", child),
         _risk_none(kb, child),  # no risk modifier
         "",  # temperature: empty is "not measured"
         "",  # days: empty is "don't know"
         "8", "7", "2", "2", "2", "finished", ""]
    )  # fmt: skip

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    out = io.StringIO()
    tools.run_interactive(kb, ask, out, "en")
    text = out.getvalue() + "".join(prompts)
    assert "Does Alva have any of this right now?" in text
    assert "Empty line: Not measured." in text and "Empty line: Don't know." in text
    assert "== Result: Fever in a child ==" in out.getvalue()
    assert "You can most likely look after Alva yourself at home." in out.getvalue()
    assert prompts[-1] == "Press Enter to finish."  # the result stays on screen until read
    for swedish in ("Har ", "Vad gäller", "Välj", "Nästa", "Resultat"):
        assert swedish not in text


def test_run_survives_bad_terminal_input(tmp_path: Path) -> None:
    kb = small_kb(tmp_path / "kb")
    adult = Patient.aged(34, "female")
    answers = iter(
        ["1", "1", "abc",  # a non-number age: asked again
         "3", "1", "5", "1",  # youth clinic at 5: refused with the reason, asked again
         "1", "1", "34", "1", "99", "-1", _none_number(kb, adult),
         _reason_number(kb, "sore_throat", adult), _risk_none(kb, adult), "2",  # no risk modifier, not pregnant
         "7", "3", "2", "4", "2", "3", "2", "", "", ""]
    )  # fmt: skip
    out = io.StringIO()
    tools.run_interactive(kb, lambda _prompt: next(answers), out, "sv")
    text = out.getvalue()
    assert "Skriv åldern som ett helt tal." in text and "Barn under 13 år" in text
    assert f"Välj ett eller flera nummer från 1 till {_none_number(kb, adult)}." in text
    assert "== Resultat: Ont i halsen ==" in text


# -- graph -------------------------------------------------------------------------------------


def test_graph_draws_every_question_and_rule_of_a_reason(tmp_path: Path) -> None:
    out = tmp_path / "sore_throat.svg"
    assert direkt("triage", "graph", "sore_throat", "--out", str(out)).returncode == 0
    svg = out.read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for question in KB.reasons["sore_throat"].questions:
        assert question.id in svg
    assert "minst 3 av" in svg
    unknown = direkt("triage", "graph", "nope")
    assert unknown.returncode == 1 and "no contact reason 'nope'" in unknown.stderr


def test_the_shipped_knowledge_base_reads_without_problems() -> None:
    kb, problems = read(KB_DIR)
    assert kb is not None and problems == []
