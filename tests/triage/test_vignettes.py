"""The triage on clinical vignettes written blind to the rules, scored as ``direkt triage eval`` scores them.

``tuning.jsonl`` and ``tuning_c.jsonl`` are what the knowledge base was tuned on: their floors guard
against regressions. ``heldout.jsonl`` is locked: the knowledge base is never tuned to it, so this test
only requires that every vignette runs and that the triage stays safe on it; its figures are reported
(README), not asserted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from direkt.triage import evaluate
from direkt.triage.loader import load

KB = load(walk_paths=False)
VIGNETTES = Path(__file__).parent / "vignettes"


def scored(name: str) -> tuple[list[evaluate.Scored], dict[str, Any]]:
    lines = [json.loads(line) for line in (VIGNETTES / name).read_text().splitlines() if line.strip()]
    results = [evaluate.score(KB, v) for v in lines]
    return results, evaluate.measures(results)


@pytest.mark.parametrize("name", ["tuning.jsonl", "tuning_c.jsonl", "heldout.jsonl"])
def test_every_vignette_runs_and_names_only_findings_of_the_vocabulary(name: str) -> None:
    results, figures = scored(name)
    assert [r.error for r in results if r.error] == []
    assert figures["vignettes"] == 60
    assert {g: f["n"] for g, f in figures["by_gold"].items()} == {g: 15 for g in evaluate.GOLD}


@pytest.mark.parametrize("name", ["tuning.jsonl", "tuning_c.jsonl"])
def test_the_tuning_sets_hold_their_floors(name: str) -> None:
    _, figures = scored(name)
    assert figures["emergencies_caught"] in ("14 of 15", "15 of 15")
    assert figures["exact"] >= 88.0
    assert figures["under_triage"] <= 3.4
    assert figures["questions_max"] <= 16


def test_the_held_out_set_stays_safe() -> None:
    _, figures = scored("heldout.jsonl")
    assert figures["safe"] >= 95.0
    assert figures["questions_median"] <= 10


# -- the coverage suite (200 vignettes, written blind to the rules before any tuning) -----------
# suite_dev.jsonl (set E) is the development half; suite_heldout.jsonl (set D) is locked: a miss
# there is fixed only after writing an equivalent development vignette first.

SUITE = ("suite_dev.jsonl", "suite_heldout.jsonl")


@pytest.mark.parametrize("name", SUITE)
def test_the_suite_halves_run_and_keep_their_strata(name: str) -> None:
    results, figures = scored(name)
    assert [r.error for r in results if r.error] == []
    counts = {g: f["n"] for g, f in figures["by_gold"].items()}
    if name == "suite_heldout.jsonl":  # locked: exactly as written
        assert figures["vignettes"] == 100 and counts == {g: 25 for g in evaluate.GOLD}
    else:  # development: 100 as written, plus the twins of held-out misses (written before the fix)
        assert figures["vignettes"] >= 100 and all(counts[g] >= 25 for g in evaluate.GOLD)


def test_the_whole_suite_misses_no_emergency_and_under_triages_at_most_3_percent() -> None:
    results = [r for name in SUITE for r in scored(name)[0]]
    figures = evaluate.measures(results)
    missed = [r.id for r in results if r.gold == "emergency" and r.got != "emergency"]
    assert missed == [], f"emergencies missed: {missed}"
    assert figures["under_triage"] <= 3.0, [r.id for r in results if r.under]
    assert figures["questions_max"] <= 16
