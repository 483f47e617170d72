"""Features of the knowledge-base format, on a small purpose-built knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from direkt.triage.engine import REASON_QUESTION, Patient, answer, next_question, result, start
from direkt.triage.loader import KB_DIR, load, read
from direkt.triage.model import Entry, KnowledgeBase, Level
from direkt.triage.validate import validate

REASON = """
code = "probe"
label = { sv = "Prov", en = "Probe" }
sources = ["test"]
advice = { sv = "Vila.", en = "Rest." }
age_rules = [{ min_age = 80, max_age = 120, level = "today" }]

[[questions]]
id = "probe.temp"
kind = "number"
text = { sv = "Temperatur?", en = "Temperature?" }
unit = { sv = "°C", en = "°C" }
min = 30
max = 43
thresholds = [
  { below = 35.0, level = "urgent", note = { sv = "Håll dig varm.", en = "Keep warm." } },
  { at_least = 40.0, level = "today" },
]

[[questions]]
id = "probe.burn"
kind = "yesno"
text = { sv = "Brännskada?", en = "A burn?" }
yes = { level = "soon", note = { sv = "Kyl med ljummet vatten.", en = "Cool with lukewarm water." } }

[[questions]]
id = "probe.testicle"
kind = "yesno"
text = { sv = "Ont i pungen?", en = "Pain in the scrotum?" }
show_if = [{ patient = "sex", any_of = ["male"] }]
yes = { level = "urgent" }

[[questions]]
id = "probe.older"
kind = "yesno"
text = { sv = "Fallit?", en = "Fallen?" }
show_if = [{ patient = "age", at_least = 65 }]
yes = { level = "today" }
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("kb")
    (root / "reasons").mkdir()
    shutil.copy(KB_DIR / "redflags.toml", root / "redflags.toml")
    (root / "reasons" / "probe.toml").write_text(REASON)
    return load(root)


def run(kb: KnowledgeBase, age: int, sex: str, values: dict[str, object]) -> object:
    session = start(kb, Entry.SEEK_CARE, Patient(age, sex))
    session = answer(kb, session, kb.red_flags.id, ["none"])
    session = answer(kb, session, REASON_QUESTION, "probe")
    while (question := next_question(kb, session)) is not None:
        session = answer(kb, session, question.id, values.get(question.id, "no"))
    return result(kb, session)


def test_a_low_temperature_raises_the_level_and_notes_come_whatever_the_level(kb: KnowledgeBase) -> None:
    cold = run(kb, 40, "female", {"probe.temp": 34.0, "probe.burn": "yes"})
    assert cold.level is Level.URGENT  # type: ignore[attr-defined]
    assert [n.en for n in cold.notes] == ["Keep warm.", "Cool with lukewarm water."]  # type: ignore[attr-defined]
    normal = run(kb, 40, "female", {"probe.temp": 37.0})
    assert normal.level is Level.SELF_CARE and normal.notes == ()  # type: ignore[attr-defined]


def test_questions_can_depend_on_the_patient(kb: KnowledgeBase) -> None:
    assert run(kb, 40, "male", {"probe.temp": 37.0, "probe.testicle": "yes"}).level is Level.URGENT  # type: ignore[attr-defined]
    woman = run(kb, 40, "female", {"probe.temp": 37.0, "probe.testicle": "yes"})
    assert all("scrotum" not in q.en for q, _ in woman.summary)  # type: ignore[attr-defined]
    assert run(kb, 70, "female", {"probe.temp": 37.0, "probe.older": "yes"}).level is Level.TODAY  # type: ignore[attr-defined]
    assert run(kb, 85, "female", {"probe.temp": 37.0}).level is Level.TODAY  # type: ignore[attr-defined]


def test_the_walk_reaches_questions_only_some_patients_see(kb: KnowledgeBase) -> None:
    assert validate(kb) == []


def test_bad_patient_conditions_and_thresholds_are_reported(tmp_path: Path) -> None:
    (tmp_path / "reasons").mkdir()
    shutil.copy(KB_DIR / "redflags.toml", tmp_path / "redflags.toml")
    broken = REASON.replace('any_of = ["male"]', 'any_of = ["man"]').replace(
        '{ at_least = 40.0, level = "today" }', '{ at_least = 40.0, below = 20.0, level = "today" }'
    )
    (tmp_path / "reasons" / "probe.toml").write_text(broken)
    kb, problems = read(tmp_path)
    assert kb is not None
    problems += validate(kb)
    joined = "\n".join(problems)
    assert "exactly one of at_least and below" in joined
    assert "show_if on sex names ['man']" in joined
