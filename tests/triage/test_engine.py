"""The triage engine on a small knowledge base (the shared files, sore throat, fever in a child):
who may answer, what is asked and never asked again, plausible numbers, plain results, storage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import msgpack
import pytest
from support import short_tmpdir
from support_kb import small_kb

from direkt.triage import engine
from direkt.triage.answerer import run
from direkt.triage.engine import answer, change, next_question, result, start
from direkt.triage.errors import InvalidAnswer, NotAsked, NotEligible, StaleSession
from direkt.triage.model import Entry, Level, QuestionKind, Respondent
from direkt.triage.plain import Reader, question_view, result_view
from direkt.triage.session import REASON_QUESTION, Patient, Session

KB = small_kb(short_tmpdir("dk-kb-"))
ADULT = Patient.aged(30, "female")
CHILD = Patient.aged(4, "male", Respondent.GUARDIAN)
SCREEN = KB.screen.question.id
RISK = {q.id for q in KB.screen.risk}


def opened(reason: str, patient: Patient = ADULT, entry: Entry = Entry.SEEK_CARE) -> Session:
    """Past the red-flag screen, with ``reason`` chosen and no risk modifier."""
    session = answer(KB, start(KB, entry, patient), SCREEN, ["none"])
    session = answer(KB, session, REASON_QUESTION, reason)
    while (asked := next_question(KB, session)) is not None and asked.id in RISK:
        session = answer(KB, session, asked.id, ["none"] if asked.kind is QuestionKind.CHECKLIST else "no")
    return session


# -- who may answer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "patient", "says"),
    [
        (
            Entry.SEEK_CARE,
            Patient.aged(13, "female", Respondent.GUARDIAN),
            "From 13, the young person logs in themselves",
        ),
        (Entry.SEEK_CARE, Patient.aged(12, "female", Respondent.SELF), "Children under 13 need a guardian"),
        (Entry.SEEK_CARE, Patient(11, "female", Respondent.GUARDIAN), "not made for children under 1 year"),
        (Entry.CHILD_HEALTH, Patient.aged(6, "female", Respondent.GUARDIAN), "children under 6"),
        (Entry.YOUTH_CLINIC, Patient.aged(24, "female"), "13–23"),
    ],
)
def test_who_may_answer_is_refused_with_the_reason_and_where_to_turn(entry: Entry, patient: Patient, says: str) -> None:
    with pytest.raises(NotEligible) as refused:
        start(KB, entry, patient)
    assert says in refused.value.text["en"]
    assert refused.value.text["sv"] and refused.value.text["sv"] != refused.value.text["en"]


def test_an_infant_refusal_names_the_112_signs() -> None:
    with pytest.raises(NotEligible) as refused:
        start(KB, Entry.SEEK_CARE, Patient(8, "female", Respondent.GUARDIAN))
    assert "Call 1177" in refused.value.text["en"] and "Call 112 if" in refused.value.text["en"]


def test_an_infant_may_use_child_health_care() -> None:
    assert start(KB, Entry.CHILD_HEALTH, Patient(5, "female", Respondent.GUARDIAN)).patient.age_months == 5


# -- what is asked ---------------------------------------------------------------------------


def test_the_screen_comes_first_and_speaks_to_the_guardian_about_the_child_by_name() -> None:
    asked = next_question(KB, start(KB, Entry.SEEK_CARE, CHILD))
    assert asked is not None and asked.id == SCREEN
    view = question_view(asked, Reader("Alva"))
    assert view["text"] == {"sv": "Har Alva något av detta just nu?", "en": "Does Alva have any of this right now?"}
    self_view = question_view(next_question(KB, start(KB, Entry.SEEK_CARE, ADULT)), Reader())  # type: ignore[arg-type]
    assert self_view["text"]["en"] == "Do you have any of this right now?"


def test_screen_options_fit_the_patients_age() -> None:
    adult = {o.id for o in next_question(KB, start(KB, Entry.SEEK_CARE, ADULT)).options}  # type: ignore[union-attr]
    child = {o.id for o in next_question(KB, start(KB, Entry.SEEK_CARE, CHILD)).options}  # type: ignore[union-attr]
    assert {"chest_pain_radiating", "sudden_confusion", "suicide_plan"} <= adult - child
    assert {"floppy", "hard_to_wake", "breathing_pauses"} <= child - adult


def test_a_red_flag_on_the_screen_ends_the_session_with_112_before_the_reason() -> None:
    session = answer(KB, start(KB, Entry.SEEK_CARE, ADULT), SCREEN, ["stroke_signs"])
    assert next_question(KB, session) is None
    outcome = result(KB, session)
    assert outcome is not None and outcome.level is Level.CALL_112 and outcome.reason_code == "emergency"
    assert outcome.first_aid and outcome.decided_by is not None and outcome.decided_by.id == "screen.stroke"


def test_a_finding_already_known_is_never_asked_again(tmp_path: Path) -> None:
    # fever is asked by sore throat; with a second question about fever later, only one is asked
    done = run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", {"fever": True, "temperature": 38.5})
    asked_findings = [f for q in KB.questions().values() if q.id in done.asked for f in q.asks]
    assert asked_findings.count("fever") == 1
    # a checklist leaves out what the screen already asked
    session = opened("child_fever", CHILD)
    for _ in range(3):
        asked = next_question(KB, session)
        assert asked is not None
        assert not set(asked.asks) & set(KB.screen.question.asks)
        value = asked.skip.id if asked.skip else ["none"] if asked.kind is QuestionKind.CHECKLIST else "unknown"
        session = answer(KB, session, asked.id, value)


def test_a_question_is_asked_only_when_its_condition_holds() -> None:
    without = run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", {})
    with_fever = run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", {"fever": True})
    assert "sore_throat.temperature" not in without.asked
    assert "sore_throat.temperature" in with_fever.asked


def test_a_measurement_is_optional_and_says_not_measured() -> None:
    session = opened("child_fever", CHILD)
    asked = next_question(KB, session)
    assert asked is not None and asked.id == "child_fever.temperature"
    assert asked.skip is not None and asked.skip.id == "not_measured"
    session = answer(KB, session, asked.id, "not_measured")
    assert engine.facts(KB, session)["temperature"] == "-"


def test_days_offer_dont_know_and_take_whole_numbers_only() -> None:
    session = answer(KB, opened("child_fever", CHILD), "child_fever.temperature", 38.9)
    asked = next_question(KB, session)
    assert asked is not None and asked.id == "child_fever.days" and asked.skip and asked.skip.id == "unknown"
    with pytest.raises(InvalidAnswer) as refused:
        answer(KB, session, asked.id, 38.9)  # a temperature typed into the days field
    assert "whole number of days" in refused.value.text["en"]


@pytest.mark.parametrize("value", [44.0, 20, 33.9, -1, 1e308, float("nan"), True, "39", None])
def test_an_implausible_temperature_is_asked_again_never_stored(value: object) -> None:
    session = opened("child_fever", CHILD)
    with pytest.raises(InvalidAnswer) as refused:
        answer(KB, session, "child_fever.temperature", value)
    assert refused.value.text["sv"] and refused.value.text["en"]
    assert next_question(KB, session).id == "child_fever.temperature"  # type: ignore[union-attr]


def test_the_plausibility_message_names_the_range() -> None:
    with pytest.raises(InvalidAnswer) as refused:
        answer(KB, opened("child_fever", CHILD), "child_fever.temperature", 47)
    assert "between 34 and 43 °C" in refused.value.text["en"]
    assert "mellan 34 och 43 °C" in refused.value.text["sv"]


def test_pregnancy_is_never_offered_to_men_or_the_very_old() -> None:
    finding = KB.findings["pregnant"]
    assert finding.applies_to(30, "female") and finding.applies_to(30, "other")
    assert not finding.applies_to(30, "male") and not finding.applies_to(80, "female")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (["none", "drooling"], InvalidAnswer),
        (["drooling", "drooling"], InvalidAnswer),
        ([], InvalidAnswer),
        (["fever"], InvalidAnswer),  # not an option of this question
        ("drooling", InvalidAnswer),
        ({"a": 1}, InvalidAnswer),
    ],
)
def test_bad_checklist_answers_are_typed_errors_and_change_nothing(value: object, error: type) -> None:
    session = opened("sore_throat")
    with pytest.raises(error):
        answer(KB, session, "sore_throat.danger", value)
    assert next_question(KB, session).id == "sore_throat.danger"  # type: ignore[union-attr]


def test_an_answer_to_another_question_is_refused_as_not_asked() -> None:
    session = opened("sore_throat")
    with pytest.raises(NotAsked):
        answer(KB, session, "sore_throat.days", 3)
    with pytest.raises(NotAsked):
        answer(KB, session, SCREEN, ["none"])  # replayed


def test_oversized_free_text_is_refused() -> None:
    session = run(KB, Entry.SEEK_CARE, CHILD, "child_fever", {}).session
    session = replace(session, answers=session.answers[:-1])
    with pytest.raises(InvalidAnswer):
        answer(KB, session, "child_fever.notes", "x" * 2001)


# -- changing answers ------------------------------------------------------------------------


def test_changing_an_earlier_answer_re_evaluates_what_follows() -> None:
    with_fever = run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", {"fever": True, "temperature": 39.0}).session
    changed = change(KB, with_fever, "sore_throat.fever", "no")
    assert changed.answer_to("sore_throat.temperature") is None  # no longer asked
    assert changed.answer_to("sore_throat.days") is not None  # still asked, kept
    assert result(KB, changed) is not None


def test_back_drops_the_last_answer() -> None:
    session = opened("sore_throat")
    assert engine.back(KB, session).answers == session.answers[:-1]


# -- results in plain words --------------------------------------------------------------------


def test_a_self_care_result_has_advice_a_safety_net_and_no_profession_or_visit() -> None:
    outcome = run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", {"symptom_days": 2}).result
    view = result_view(KB, outcome, Reader())
    assert view["care_level"] == "self_care" and view["visit"] is None and view["visit_text"] is None
    assert view["advice"] and view["safety_net"] and view["chat_anyway"]
    assert "Call 112" in view["safety_net"][0]["en"]
    assert view["headline"]["en"] == "You can most likely look after this yourself at home."


def test_a_physical_visit_says_where_and_how_soon() -> None:
    stated = {"fever": True, "tonsil_exudate": True, "tender_neck_glands": True}
    view = result_view(KB, run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", stated).result, Reader())
    assert view["visit"] == "physical" and view["place"] == "health_centre"
    assert "within a few days" in view["headline"]["en"]
    assert "book a visit at a health centre" in view["visit_text"]["en"]
    assert view["why"]["en"].startswith("Your symptoms can be strep throat")


def test_the_guardian_reads_every_text_about_the_child_by_name() -> None:
    stated = {"temperature": 39.0, "fever_days": 4}
    view = result_view(KB, run(KB, Entry.SEEK_CARE, CHILD, "child_fever", stated).result, Reader("Alva"))
    assert view["headline"]["sv"] == "Alva behöver kontakt med vården i dag."
    texts = [view["headline"], view["visit_text"], *view["advice"], *view["safety_net"]]
    assert all("{name" not in t[lang] for t in texts for lang in ("sv", "en"))
    assert any("Alva" in t["en"] for t in view["safety_net"])


def test_no_internal_code_reaches_the_citizen() -> None:
    for stated in ({}, {"drooling": True}, {"one_sided_throat_pain": True, "trismus": True}):
        view = result_view(KB, run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", stated).result, Reader())
        words = [
            view["headline"],
            view["visit_text"],
            view["why"],
            *view["advice"],
            *view["safety_net"],
            *view["first_aid"],
        ]
        for text in filter(None, words):
            for code in ("self_care", "chat_today", "urgent", "physical", "nurse,", "112_now", "_"):
                assert code not in text["en"], (code, text["en"])


def test_an_emergency_result_gives_first_aid_and_no_queue() -> None:
    outcome = run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", {"drooling": True}).result
    assert outcome.level is Level.CALL_112 and outcome.urgency is None and outcome.visit is None
    assert outcome.first_aid and not outcome.advice


def test_an_emergency_department_result_stops_asking_what_cannot_raise_it() -> None:
    done = run(KB, Entry.SEEK_CARE, CHILD, "child_fever", {"grunting": True, "temperature": 39.5})
    assert done.result.level is Level.EMERGENCY_DEPARTMENT and done.result.first_aid
    assert "child_fever.notes" not in done.asked and "child_fever.travel" not in done.asked
    assert "child_fever.glass" not in done.asked  # the rash question still came: it can raise to 112
    assert "child_fever.rash" in done.asked


def test_staff_get_findings_in_clinical_words_grouped_and_the_deciding_rule() -> None:
    stated = {"fever": True, "temperature": 38.7, "tonsil_exudate": True, "tender_neck_glands": True, "symptom_days": 2}
    view = result_view(KB, run(KB, Entry.SEEK_CARE, ADULT, "sore_throat", stated).result, Reader())
    findings = view["findings"]
    assert {"sv": "Tonsillbeläggningar", "en": "Tonsillar exudate"} in findings["present"]
    assert {"sv": "Temperatur (högsta uppmätta): 38.7 °C", "en": "Temperature (highest measured): 38.7 °C"} in findings[
        "measured"
    ]
    assert {"sv": "Hosta", "en": "Cough"} in findings["absent"]
    assert view["decided_by"]["rule"] == "sore_throat.strep"
    assert view["decided_by"]["staff"]["sv"].startswith("minst 3 av (Feber, Tonsillbeläggningar")


# -- storage ---------------------------------------------------------------------------------


def test_a_session_round_trips_and_replays_to_the_same_result() -> None:
    session = run(KB, Entry.SEEK_CARE, CHILD, "child_fever", {"temperature": 39.0, "fever_days": 5}).session
    loaded = engine.load(KB, engine.dump(session))
    assert loaded == session and result(KB, loaded) == result(KB, session)


def test_a_session_from_another_knowledge_base_version_is_refused() -> None:
    session = replace(opened("sore_throat"), version="0000000000000000")
    with pytest.raises(StaleSession):
        engine.load(KB, engine.dump(session))
    with pytest.raises(StaleSession):
        next_question(KB, session)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\xc1",
        msgpack.packb([1, 2]),
        msgpack.packb({"f": 1, "v": "x", "e": "seek_care", "p": [30, "female", "self"], "a": []}),  # format 1
        msgpack.packb({"f": 2, "v": KB.version, "e": "nowhere", "p": [360, "female", "self"], "a": []}),
        msgpack.packb({"f": 2, "v": KB.version, "e": "seek_care", "p": [360, "female", "self"], "a": [[1, 2]]}),
        msgpack.packb({"f": 2, "v": KB.version, "e": "seek_care", "p": [360, "female", "self"], "a": [["x", None]]}),
        msgpack.packb(
            {"f": 2, "v": KB.version, "e": "seek_care", "p": [360, "female", "self"], "a": [["reason", "sore_throat"]]}
        ),
        msgpack.packb({"f": 2, "v": KB.version, "e": "seek_care", "p": [360, "female", "self"], "a": [["x", 1]] * 65}),
    ],
)
def test_a_malformed_stored_session_is_a_typed_error(blob: bytes) -> None:
    with pytest.raises(InvalidAnswer):
        engine.load(KB, blob)


def test_a_stored_session_obeys_the_age_rules() -> None:
    blob = msgpack.packb({"f": 2, "v": KB.version, "e": "seek_care", "p": [20 * 12, "female", "guardian"], "a": []})
    with pytest.raises(NotEligible):
        engine.load(KB, blob)


def test_an_ill_infant_in_child_health_care_is_told_to_call_1177_never_queued() -> None:
    """The real knowledge base: child health care serves infants, but never queues an acutely ill one."""
    from direkt.triage.loader import load

    kb = load(walk_paths=False)
    infant = Patient(5, "female", Respondent.GUARDIAN)
    done = run(kb, Entry.CHILD_HEALTH, infant, "child_development", {"fever": True})
    outcome = done.result
    assert outcome.level is Level.CALL_1177 and outcome.urgency is None and outcome.visit is None
    assert outcome.safety_net == (kb.screen.warning_signs,)  # the 112 signs
    view = result_view(kb, outcome, Reader("Alva"))
    assert view["headline"]["sv"] == "Ring 1177 nu, så bedömer en sjuksköterska Alva direkt i telefon."
    well = run(kb, Entry.CHILD_HEALTH, infant, "child_development", {}).result
    assert well.level < Level.CALL_1177 and well.urgency is not None  # a well infant's question may wait in the queue
