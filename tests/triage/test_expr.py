"""The condition language: parsing, type checks against the vocabulary, evaluation."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import short_tmpdir
from support_kb import small_kb

from direkt.triage import expr as ex
from direkt.triage.loader import check_condition

KB = small_kb(short_tmpdir("dk-kb-"))


def ctx(age: int = 30, sex: str = "female", entry: str = "seek_care", **facts: object) -> ex.Context:
    return ex.Context(facts, age, age * 12, sex, entry)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "facts", "expected"),
    [
        ("fever and stiff_neck", {"fever": True, "stiff_neck": True}, True),
        ("fever and stiff_neck", {"fever": True, "stiff_neck": False}, False),
        ("fever and stiff_neck", {"fever": True}, False),  # never asked: not present
        ("fever or stiff_neck", {"stiff_neck": True}, True),
        ("not stiff_neck", {"stiff_neck": "?"}, True),  # "don't know" is not "yes"
        ("unknown(stiff_neck)", {"stiff_neck": "?"}, True),
        ("unknown(temperature)", {"temperature": "-"}, True),  # not measured
        ("absent(stiff_neck)", {"stiff_neck": False}, True),
        ("absent(stiff_neck)", {}, False),
        ("known(temperature)", {"temperature": 38.0}, True),
        ("known(temperature)", {"temperature": "-"}, False),
        ("asked(fever)", {"fever": "?"}, True),
        ("temperature >= 39", {"temperature": 39.0}, True),
        ("temperature >= 39", {"temperature": 38.9}, False),
        ("temperature >= 39", {"temperature": "-"}, False),  # not measured: the comparison does not hold
        ("temperature < 35", {}, False),
        ("pain_severity in (severe, unbearable)", {"pain_severity": "severe"}, True),
        ("pain_severity == mild", {"pain_severity": "moderate"}, False),
        ("vomiting and (anticoagulant or fever)", {"vomiting": True, "anticoagulant": True}, True),
        ("at_least(2, fever, cough, vomiting)", {"fever": True, "vomiting": True}, True),
        ("at_least(2, fever, cough, vomiting)", {"fever": True}, False),
        (
            "at_least(3, fever, tonsil_exudate, tender_neck_glands, not cough)",
            {"fever": True, "tonsil_exudate": True},
            True,
        ),
    ],
)
def test_conditions_hold_as_written(text: str, facts: dict[str, object], expected: bool) -> None:
    condition = ex.parse(text)
    assert check_condition(condition, KB.findings) == []
    assert ex.holds(condition, ctx(**facts)) is expected


@pytest.mark.parametrize(
    ("text", "age", "sex", "expected"),
    [("age >= 65", 70, "male", True), ("age >= 65", 64, "male", False), ("age_months < 24", 1, "female", True),
     ("sex == female", 30, "female", True), ("sex in (female, other)", 30, "male", False)],
)  # fmt: skip
def test_conditions_on_the_patient(text: str, age: int, sex: str, expected: bool) -> None:
    assert ex.holds(ex.parse(text), ctx(age, sex)) is expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fever and", "expected more"),
        ("(fever", "expected ')'"),
        ("temperature >= fever", "compare temperature with a number"),
        ("at_least(4, fever, cough)", "needs at least 4"),
        ("fever cough", "unexpected 'cough'"),
        ("", "empty"),
        ("fever; drop table", "cannot read"),
    ],
)
def test_unreadable_conditions_say_where(text: str, problem: str) -> None:
    with pytest.raises(ex.ExprError, match=re.escape(problem)):
        ex.parse(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no_such_finding", "no finding 'no_such_finding'"),
        ("temperature", "number finding and cannot be used alone"),
        ("fever >= 2", "presence finding and cannot be used with"),
        ("pain_severity in (agony)", "has no value ['agony']"),
        ("fever in (yes)", "not a choice finding"),
        ("sex == alien", "has no value"),
    ],
)
def test_conditions_are_checked_against_the_vocabulary(text: str, problem: str) -> None:
    assert any(problem in p for p in check_condition(ex.parse(text), KB.findings))


def test_findings_and_bounds_are_read_off_a_condition() -> None:
    condition = ex.parse("temperature >= 39 and (age < 3 or fever_days >= 5) and not cough and unknown(rash)")
    assert ex.findings(condition) == {"temperature", "fever_days", "cough", "rash"}
    assert ex.bounds(condition) == {"temperature": {39.0}, "age": {3.0}, "fever_days": {5.0}}


@given(st.text(max_size=60))
def test_any_text_parses_or_raises_a_typed_error(text: str) -> None:
    with contextlib.suppress(ex.ExprError):
        ex.parse(text)


# -- the compiled conditions mean what the tree means --------------------------------------

_NAMES = ("a", "b")
_VALUES: list[object] = [True, False, ex.UNKNOWN, ex.NOT_MEASURED, 0.0, 2.0, 3.0, 38.5, 1, "mild", "severe"]
_leaves = st.one_of(
    st.builds(ex.Has, st.sampled_from(_NAMES)),
    st.builds(ex.Func, st.sampled_from(sorted(ex.FUNCTIONS)), st.sampled_from(_NAMES)),
    st.builds(
        ex.Compare,
        st.sampled_from([*_NAMES, "age", "age_months"]),
        st.sampled_from(sorted(ex.COMPARE)),
        st.sampled_from([0.0, 2.0, 3.0, 24.0, 65.0]),
    ),
    st.builds(
        ex.OneOf,
        st.sampled_from([*_NAMES, "sex", "entry"]),
        st.lists(st.sampled_from(["mild", "severe", "female", "seek_care"]), min_size=1, max_size=2).map(tuple),
    ),
)
_trees = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.builds(ex.Not, inner),
        st.builds(ex.All, st.lists(inner, min_size=2, max_size=4).map(tuple)),
        st.builds(ex.Any_, st.lists(inner, min_size=2, max_size=4).map(tuple)),
        st.lists(inner, min_size=1, max_size=4).flatmap(
            lambda ops: st.builds(ex.AtLeast, st.integers(1, len(ops)), st.just(tuple(ops)))
        ),
    ),
    max_leaves=12,
)


@given(
    _trees,
    st.tuples(*(st.sampled_from([None, *_VALUES]) for _ in _NAMES)).map(
        lambda values: {n: v for n, v in zip(_NAMES, values, strict=True) if v is not None}
    ),
    st.integers(0, 100),
    st.sampled_from(["female", "male"]),
    st.sampled_from(["seek_care", "admin"]),
)
def test_the_compiled_condition_agrees_with_the_tree(
    condition: ex.Expr, facts: dict[str, ex.FactValue], age: int, sex: str, entry: str
) -> None:
    """``holds`` runs each condition compiled into closures: it must answer as the tree's own ``holds``
    (the nodes' methods are the definition), for the whole condition and each part of it."""
    context = ex.Context(facts, age, age * 12, sex, entry)
    for part in ex.walk(condition):
        assert ex.holds(part, context) is part.holds(context), part


def test_every_kind_of_leaf_compiles_to_what_it_means() -> None:
    """Every leaf over every kind of fact, exhaustively (the random trees above combine them)."""
    leaves: list[ex.Expr] = [ex.Has("a"), *(ex.Func(name, "a") for name in sorted(ex.FUNCTIONS))]
    leaves += [ex.Compare(s, op, n) for s in ("a", "age", "age_months") for op in ex.COMPARE for n in (2.0, 3.0, 36.0)]
    leaves += [ex.OneOf(s, ("mild", "female", "seek_care")) for s in ("a", "sex", "entry")]
    for leaf in leaves:
        for value in [None, *_VALUES]:
            for age, sex, entry in ((2, "female", "seek_care"), (3, "male", "admin")):
                context = ex.Context({} if value is None else {"a": value}, age, age * 12, sex, entry)  # type: ignore[dict-item]
                assert ex.holds(leaf, context) is leaf.holds(context), (leaf, value, age)
