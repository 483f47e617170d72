"""The triage engine on the real knowledge base: safety, determinism, bad input."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from direkt.server.errors import InvalidAnswer, NotAsked, NotEligible, StaleSession
from direkt.triage import engine
from direkt.triage.engine import REASON_QUESTION, Patient, Session, answer, change, next_question, result, start
from direkt.triage.loader import load
from direkt.triage.model import CareLevel, Condition, ContactReason, Entry, Kind, Level, Proxy, Question
from direkt.triage.validate import patients, report, representative, sample_answers

KB = load()
REASONS = sorted(KB.reasons.values(), key=lambda r: r.code)
SCREENED = [r for r in REASONS if set(r.entries) & engine.SCREENED]


def opened(reason: ContactReason, who: tuple[Entry, Patient] | None = None) -> Session:
    """A session that has passed the red-flag screen and chosen ``reason``."""
    entry, patient = who or representative(reason)
    session = start(KB, entry, patient)
    if entry in engine.SCREENED:
        session = answer(KB, session, KB.red_flags.id, ["none"])
    return answer(KB, session, REASON_QUESTION, reason.code)


def paths_to(reason: ContactReason, target: str) -> Iterator[Session]:
    """Sessions whose next question is ``target`` (depth first over sample answers)."""

    def walk(session: Session) -> Iterator[Session]:
        question = next_question(KB, session)
        if question is None:
            return
        if question.id == target:
            yield session
            return
        for value in sample_answers(question):
            nxt = answer(KB, session, question.id, value)
            if result(KB, nxt) is None or next_question(KB, nxt) is not None:
                yield from walk(nxt)

    for who in patients(KB, reason):  # every patient a condition or age rule singles out
        yield from walk(opened(reason, who))


# -- safety ------------------------------------------------------------------------


@pytest.mark.parametrize("reason", SCREENED, ids=lambda r: r.code)
@pytest.mark.parametrize("flag", [o for o in KB.red_flags.options if o.effect.red_flag], ids=lambda o: o.id)
def test_every_screen_red_flag_ends_in_112_for_every_reason(reason: ContactReason, flag: object) -> None:
    entry, patient = representative(reason)
    session = start(KB, entry, patient)
    session = answer(KB, session, KB.red_flags.id, [flag.id])  # type: ignore[attr-defined]
    outcome = result(KB, session)
    assert outcome is not None and outcome.care_level is CareLevel.CALL_112 and outcome.urgency is None
    assert outcome.red_flag == flag.effect.why  # type: ignore[attr-defined]


def reason_red_flags() -> list[tuple[ContactReason, Question, object]]:
    found = []
    for reason in REASONS:
        for question in reason.questions:
            for option in question.options:
                if option.effect.red_flag:
                    found.append((reason, question, [option.id] if question.kind is Kind.MULTI else option.id))
            for threshold in question.thresholds:
                if threshold.effect.red_flag:
                    found.append((reason, question, threshold.at_least))
    return found


@pytest.mark.parametrize(
    ("reason", "question", "value"), reason_red_flags(), ids=lambda x: getattr(x, "code", getattr(x, "id", str(x)))
)
def test_every_reason_red_flag_ends_in_112_wherever_it_is_asked(
    reason: ContactReason, question: Question, value: object
) -> None:
    reached = list(paths_to(reason, question.id))
    assert reached, f"{question.id} is never asked"
    for session in reached[:50]:
        outcome = result(KB, answer(KB, session, question.id, value))
        assert outcome is not None and outcome.level is Level.EMERGENCY, f"{question.id} on {session.answers}"


@st.composite
def finished_sessions(draw: st.DrawFn) -> Session:
    reason = draw(st.sampled_from(REASONS))
    session = opened(reason)
    while (question := next_question(KB, session)) is not None:
        session = answer(KB, session, question.id, draw(st.sampled_from(sample_answers(question))))
    return session


@settings(max_examples=300, deadline=None)
@given(finished_sessions())
def test_same_answers_same_result_and_a_red_flag_never_lowers(session: Session) -> None:
    first = result(KB, session)
    again = result(KB, engine.load(KB, engine.dump(session)))
    assert first == again  # deterministic, also after a round trip through storage
    assert first is not None
    for index, (qid, _) in enumerate(session.answers):
        question = KB.questions().get(qid)
        flags = [o for o in (question.options if question else ()) if o.effect.red_flag]
        for flag in flags:
            value = [flag.id] if question and question.kind is Kind.MULTI else flag.id
            raised = result(
                KB,
                change(
                    KB,
                    Session(session.version, session.entry, session.patient, session.answers[: index + 1]),
                    qid,
                    value,
                ),
            )
            assert raised is not None and raised.level is Level.EMERGENCY >= first.level


def test_paths_are_short_and_all_end() -> None:
    figures = report(KB)
    assert figures["paths"] > 0
    assert figures["median_path_length"] <= 12  # type: ignore[operator]
    assert figures["max_path_length"] <= 16  # type: ignore[operator]


# -- sessions ----------------------------------------------------------------------


def fever() -> Session:
    session = start(KB, Entry.SEEK_CARE, Patient(40, "female"))
    session = answer(KB, session, KB.red_flags.id, ["none"])
    return answer(KB, session, REASON_QUESTION, "fever")


def test_changing_an_earlier_answer_re_evaluates_what_follows() -> None:
    session = fever()
    for qid, value in [("fever.temp", 39.2), ("fever.days", 2), ("fever.signs", ["none"]), ("fever.risk", "no")]:
        session = answer(KB, session, qid, value)
    assert next_question(KB, session).id == "fever.travel"  # type: ignore[union-attr]
    session = answer(KB, session, "fever.travel", "yes")
    lowered = change(KB, session, "fever.temp", 37.5)  # now below 38: the travel question is not asked
    assert lowered.answer_to("fever.travel") is None
    assert lowered.answer_to("fever.days") == 2.0 and lowered.answer_to("fever.risk") == "no"
    assert next_question(KB, lowered).id == "fever.notes"  # type: ignore[union-attr]


def test_the_summary_lists_questions_and_answers_in_reading_order() -> None:
    session = fever()
    answers = [
        ("fever.temp", 38.4),
        ("fever.days", 1),
        ("fever.signs", ["none"]),
        ("fever.risk", "no"),
        ("fever.travel", "no"),
        ("fever.notes", "Hostar lite."),
    ]
    for qid, value in answers:
        session = answer(KB, session, qid, value)
    outcome = result(KB, session)
    assert outcome is not None
    assert [q.sv for q, _ in outcome.summary][2:] == [KB.questions()[qid].text.sv for qid, _ in answers]
    assert outcome.summary[2][1].sv == "38.4 °C" and outcome.summary[-1][1].sv == "Hostar lite."
    assert outcome.version == KB.version


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question_id", "value", "error"),
    [
        ("fever.days", 2, NotAsked),  # not the current question
        ("nonexistent", 1, NotAsked),
        ("fever.temp", 55.0, InvalidAnswer),  # out of range
        ("fever.temp", "39", InvalidAnswer),  # wrong type
        ("fever.temp", True, InvalidAnswer),  # a bool is not a number
        ("fever.temp", math.nan, InvalidAnswer),
        ("fever.temp", math.inf, InvalidAnswer),
    ],
)
def test_bad_answers_are_typed_errors_and_change_nothing(question_id: str, value: object, error: type) -> None:
    session = fever()
    with pytest.raises(error):
        answer(KB, session, question_id, value)
    assert next_question(KB, session).id == "fever.temp"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value",
    [["unknown"], [], "none", ["none", "none"], ["none", "fast_breathing"], [None], {"a": 1}],
    ids=["unknown-option", "empty", "not-a-list", "twice", "exclusive-combined", "null", "object"],
)
def test_bad_multiple_choice_answers_are_refused(value: object) -> None:
    session = fever()
    for qid, v in [("fever.temp", 38.0), ("fever.days", 1)]:
        session = answer(KB, session, qid, v)
    with pytest.raises(InvalidAnswer):
        answer(KB, session, "fever.signs", value)


def test_oversized_free_text_is_refused() -> None:
    session = fever()
    for qid, v in [
        ("fever.temp", 38.0),
        ("fever.days", 1),
        ("fever.signs", ["none"]),
        ("fever.risk", "no"),
        ("fever.travel", "no"),
    ]:
        session = answer(KB, session, qid, v)
    with pytest.raises(InvalidAnswer, match="2000"):
        answer(KB, session, "fever.notes", "x" * 2001)
    assert result(KB, answer(KB, session, "fever.notes", "x" * 2000)) is not None


def test_a_session_from_another_knowledge_base_version_is_refused() -> None:
    blob = engine.dump(replace(fever(), version="0000000000000000"))
    with pytest.raises(StaleSession):
        engine.load(KB, blob)
    with pytest.raises(StaleSession):
        next_question(KB, replace(fever(), version="old"))


@pytest.mark.parametrize("blob", [b"", b"\xc1", b"\x80", b"\x91\x01"], ids=["empty", "invalid", "empty-map", "list"])
def test_a_malformed_stored_session_is_refused(blob: bytes) -> None:
    with pytest.raises(InvalidAnswer, match="not a stored triage session"):
        engine.load(KB, blob)


def test_a_replayed_answer_is_refused_as_not_asked() -> None:
    session = answer(KB, fever(), "fever.temp", 38.0)
    with pytest.raises(NotAsked):
        answer(KB, session, "fever.temp", 38.0)


@pytest.mark.parametrize(
    ("entry", "age", "proxy", "match"),
    [
        (Entry.SEEK_CARE, 0, Proxy.GUARDIAN, "1177"),  # under one: call 1177, with the warning signs
        (Entry.SEEK_CARE, 13, Proxy.GUARDIAN, "1–12"),
        (Entry.SEEK_CARE, 10, Proxy.SELF, "vårdnadshavare"),
        (Entry.YOUTH_CLINIC, 24, Proxy.SELF, "13–23"),
        (Entry.CHILD_HEALTH, 6, Proxy.GUARDIAN, "under 6"),
        (Entry.SEEK_CARE, 130, Proxy.SELF, "between 0 and 120"),
    ],
)
def test_age_and_proxy_rules(entry: Entry, age: int, proxy: Proxy, match: str) -> None:
    with pytest.raises(NotEligible, match=match):
        start(KB, entry, Patient(age, "female", proxy))


def test_under_one_refusal_names_the_warning_signs() -> None:
    with pytest.raises(NotEligible) as refused:
        start(KB, Entry.SEEK_CARE, Patient(0, "male", Proxy.GUARDIAN))
    assert "112" in refused.value.message


@pytest.mark.parametrize(
    "blob",
    [
        {"v": KB.version, "e": "seek_care", "p": [0, "female", "self"], "a": []},  # under one
        {"v": KB.version, "e": "seek_care", "p": [40, "female", "guardian"], "a": []},  # guardian for an adult
        {"v": KB.version, "e": "seek_care", "p": ["30", "female", "self"], "a": []},  # age as text
        {"v": KB.version, "e": "seek_care", "p": [30, "xx", "self"], "a": []},  # unknown sex
    ],
    ids=["under-one", "guardian-adult", "age-text", "unknown-sex"],
)
def test_a_stored_session_obeys_the_age_and_proxy_rules(blob: dict[str, object]) -> None:
    with pytest.raises(NotEligible):
        engine.load(KB, msgpack.packb(blob))


@pytest.mark.parametrize("answers", [5, [5], [[1, 2, 3]], [[7, "x"]], [["redflags.now", ["none"]]] * 100])
def test_a_crafted_stored_session_is_a_typed_error(answers: object) -> None:
    blob = msgpack.packb({"v": KB.version, "e": "seek_care", "p": [30, "female", "self"], "a": answers})
    with pytest.raises((InvalidAnswer, NotAsked)):
        engine.load(KB, blob)


def test_a_huge_integer_is_not_a_temperature() -> None:
    with pytest.raises(InvalidAnswer):
        answer(KB, fever(), "fever.temp", 10**400)


def test_a_copy_with_other_reasons_does_not_reuse_the_reason_list() -> None:
    smaller = replace(KB, reasons={"fever": KB.reasons["fever"]})
    session = start(smaller, Entry.SEEK_CARE, Patient(40, "female"))
    session = answer(smaller, session, smaller.red_flags.id, ["none"])
    assert [o.id for o in next_question(smaller, session).options] == ["fever"]  # type: ignore[union-attr]
    with pytest.raises(InvalidAnswer):
        answer(smaller, session, REASON_QUESTION, "chest_pain")


# -- replaying stored answers ------------------------------------------------------------


def _answer_one_by_one(session: Session, pairs: list[tuple[str, object]]) -> Session | tuple[type, str]:
    try:
        for qid, value in pairs:
            session = answer(KB, session, qid, value)
    except (InvalidAnswer, NotAsked) as exc:
        return type(exc), exc.message
    return session


def _replayed(session: Session, pairs: list[tuple[str, object]]) -> Session | tuple[type, str]:
    try:
        return engine.replay(KB, session, pairs)
    except (InvalidAnswer, NotAsked) as exc:
        return type(exc), exc.message


@st.composite
def answer_lists(draw: st.DrawFn) -> tuple[Session, list[tuple[str, object]]]:
    """A finished session's answers, sometimes spoilt: dropped, swapped, changed or cut short."""
    session = draw(finished_sessions())
    pairs: list[tuple[str, object]] = [(q, list(v) if isinstance(v, tuple) else v) for q, v in session.answers]
    spoil = draw(st.sampled_from(["none", "drop", "swap", "value", "extra", "cut"]))
    i = draw(st.integers(0, len(pairs) - 1))
    j = draw(st.integers(0, len(pairs) - 1))
    if spoil == "drop":
        del pairs[i]
    elif spoil == "swap":
        pairs[i], pairs[j] = pairs[j], pairs[i]
    elif spoil == "value":
        pairs[i] = (pairs[i][0], draw(st.sampled_from(["yes", "none", 39.5, ["none"], "", 10**400])))
    elif spoil == "extra":
        pairs.insert(i, draw(st.sampled_from(pairs)))
    elif spoil == "cut":
        pairs = pairs[:i]
    return start(KB, session.entry, session.patient), pairs


@settings(max_examples=300, deadline=None)
@given(answer_lists())
def test_replaying_answers_is_answering_them_one_by_one(case: tuple[Session, list[tuple[str, object]]]) -> None:
    opened_session, pairs = case
    assert _replayed(opened_session, pairs) == _answer_one_by_one(opened_session, pairs)


def test_replaying_with_a_condition_on_a_later_question_answers_one_by_one() -> None:
    """A knowledge base whose condition looks ahead (never valid, but possible unvalidated) is replayed the slow way."""
    fever_reason = KB.reasons["fever"]
    first, *rest = fever_reason.questions
    later = rest[-1]
    looking_ahead = replace(first, show_if=(*first.show_if, Condition(later.id, any_of=frozenset({"x"}))))
    odd = replace(KB, reasons={**KB.reasons, "fever": replace(fever_reason, questions=(looking_ahead, *rest))})
    session = answer(odd, start(odd, Entry.SEEK_CARE, Patient(40, "female")), odd.red_flags.id, ["none"])
    session = answer(odd, session, REASON_QUESTION, "fever")
    assert not engine._reads_back(odd, session)
    pairs = [(q, list(v) if isinstance(v, tuple) else v) for q, v in session.answers]
    assert engine.load(odd, engine.dump(session)) == session
    assert engine.replay(odd, start(odd, Entry.SEEK_CARE, Patient(40, "female")), pairs) == session
