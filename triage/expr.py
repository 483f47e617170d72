"""The condition language of rules, advice and questions: parse, check, evaluate.

    fever and stiff_neck
    temperature >= 39 and fever_days >= 3
    limb_injury and age >= 65
    vomiting and (anticoagulant or head_injury)
    pain_severity in (severe, unbearable)
    unknown(rash_nonblanching) or rash_nonblanching
    sex == female and not pregnant
    at_least(3, fever, tonsil_exudate, tender_neck_glands, not cough)

A bare finding id holds when the finding is present. Comparisons hold when the
number is known and the comparison is true; ``in``/``==`` when the choice is
known and one of the values. ``unknown(f)`` holds when the patient answered
"don't know" (or "not measured"), ``absent(f)`` when they answered no,
``known(f)`` when they gave a value, ``asked(f)`` when the finding was asked at
all; ``at_least(n, a, b, ...)`` when at least n of the conditions hold (a score
such as Centor). ``age`` (years), ``age_months``, ``sex`` and ``entry`` describe the patient
and the session. Two-valued: a finding that was never asked is not present.

Pure: parsing gives an ``Expr`` tree; ``holds`` evaluates it over known facts.
Each node's ``holds`` method is the definition; ``holds`` runs the same
condition compiled once into nested closures (the path walk of every reason
evaluates each condition millions of times).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

UNKNOWN = "?"  # the patient answered "don't know"
NOT_MEASURED = "-"  # a measurement the patient has not taken
FactValue = bool | float | str
PATIENT = frozenset({"age", "age_months", "sex", "entry"})
FUNCTIONS = frozenset({"unknown", "absent", "known", "asked"})
COMPARE = {">=", "<=", ">", "<", "=="}


class ExprError(ValueError):
    """A condition that cannot be parsed; the message says where."""


class _Node:
    """What every node shares: its condition compiled once (kept on the frozen node, not a field)."""

    @cached_property
    def _test(self) -> Test:  # private: JSON encoders of dataclasses skip it, as they skip any "_" name
        return _compile(self)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Has(_Node):
    finding: str

    def holds(self, ctx: Context) -> bool:
        return ctx.facts.get(self.finding) is True


@dataclass(frozen=True)
class Func(_Node):
    name: str  # unknown / absent / known / asked
    finding: str

    def holds(self, ctx: Context) -> bool:
        value = ctx.facts.get(self.finding)
        if self.name == "asked":
            return value is not None
        if self.name == "unknown":
            return value in (UNKNOWN, NOT_MEASURED)
        if self.name == "absent":
            return value is False
        return value is not None and value not in (UNKNOWN, NOT_MEASURED)  # known


@dataclass(frozen=True)
class Compare(_Node):
    subject: str  # a number finding, age or age_months
    op: str
    number: float

    def holds(self, ctx: Context) -> bool:
        value = ctx.number(self.subject)
        return value is not None and _COMPARISONS[self.op](value, self.number)


@dataclass(frozen=True)
class OneOf(_Node):
    subject: str  # a choice finding, sex or entry
    values: tuple[str, ...]

    def holds(self, ctx: Context) -> bool:
        return ctx.value(self.subject) in self.values


@dataclass(frozen=True)
class Not(_Node):
    operand: Expr

    def holds(self, ctx: Context) -> bool:
        return not self.operand.holds(ctx)


@dataclass(frozen=True)
class All(_Node):
    operands: tuple[Expr, ...]

    def holds(self, ctx: Context) -> bool:
        return all(e.holds(ctx) for e in self.operands)


@dataclass(frozen=True)
class Any_(_Node):
    operands: tuple[Expr, ...]

    def holds(self, ctx: Context) -> bool:
        return any(e.holds(ctx) for e in self.operands)


@dataclass(frozen=True)
class AtLeast(_Node):
    count: int
    operands: tuple[Expr, ...]

    def holds(self, ctx: Context) -> bool:
        return sum(e.holds(ctx) for e in self.operands) >= self.count


_COMPARISONS = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
}


Expr = Has | Func | Compare | OneOf | Not | All | Any_ | AtLeast


@dataclass(frozen=True)
class Context:
    """What a condition is evaluated over."""

    facts: Mapping[str, FactValue]
    age: int
    age_months: int
    sex: str
    entry: str

    def number(self, subject: str) -> float | None:
        if subject in ("age", "age_months"):
            return float(self.age if subject == "age" else self.age_months)
        value = self.facts.get(subject)
        return value if isinstance(value, float | int) and not isinstance(value, bool) else None

    def value(self, subject: str) -> object:
        if subject in ("sex", "entry"):
            return self.sex if subject == "sex" else self.entry
        return self.facts.get(subject)


# -- parsing -----------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<id>[a-z_][a-z0-9_]*)|(?P<op>>=|<=|==|[<>(),]))")


def tokens(text: str) -> list[str]:
    found: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExprError(f"cannot read {text[pos:].strip()[:20]!r} in {text!r}")
        found.append(match.group(match.lastgroup or "id"))
        pos = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.items = tokens(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self, expected: str | None = None) -> str:
        word = self.peek()
        if word is None or (expected is not None and word != expected):
            want = f"{expected!r}" if expected else "more"
            where = "at the end of" if word is None else f"found {word!r} in"
            raise ExprError(f"expected {want}, {where} {self.text!r}")
        self.pos += 1
        return word

    def parse(self) -> Expr:
        if not self.items:
            raise ExprError("an empty condition")
        expr = self.any_()
        if self.peek() is not None:
            raise ExprError(f"unexpected {self.peek()!r} in {self.text!r}")
        return expr

    def any_(self) -> Expr:
        parts = [self.all_()]
        while self.peek() == "or":
            self.take()
            parts.append(self.all_())
        return parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def all_(self) -> Expr:
        parts = [self.not_()]
        while self.peek() == "and":
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def not_(self) -> Expr:
        if self.peek() == "not":
            self.take()
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Expr:
        word = self.take()
        if word == "(":
            inner = self.any_()
            self.take(")")
            return inner
        if word == "at_least" and self.peek() == "(":
            return self.at_least()
        if not _is_id(word):
            raise ExprError(f"expected a finding, found {word!r} in {self.text!r}")
        if word in FUNCTIONS and self.peek() == "(":
            self.take("(")
            finding = self.identifier()
            self.take(")")
            return Func(word, finding)
        return self.about(word)

    def about(self, subject: str) -> Expr:
        """What follows a finding (or age, sex, entry): a comparison, a list of values, or nothing."""
        following = self.peek()
        if following == "in":
            self.take()
            return OneOf(subject, self.value_list())
        if following not in COMPARE:
            return Has(subject)
        self.take()
        value = self.take()
        if _is_number(value):
            return Compare(subject, following, float(value))
        if following == "==" and _is_id(value):
            return OneOf(subject, (value,))
        raise ExprError(f"compare {subject} with a number (or a value with ==), not {value!r}")

    def at_least(self) -> Expr:
        self.take("(")
        count = self.take()
        if not count.isdigit():
            raise ExprError(f"at_least takes a whole number first, not {count!r}, in {self.text!r}")
        operands = []
        while self.peek() == ",":
            self.take()
            operands.append(self.any_())
        self.take(")")
        if not 1 <= int(count) <= len(operands):
            raise ExprError(f"at_least({count}, ...) needs at least {count} conditions in {self.text!r}")
        return AtLeast(int(count), tuple(operands))

    def identifier(self) -> str:
        word = self.take()
        if not _is_id(word):
            raise ExprError(f"expected a finding, found {word!r} in {self.text!r}")
        return word

    def value_list(self) -> tuple[str, ...]:
        self.take("(")
        values = [self.identifier()]
        while self.peek() == ",":
            self.take()
            values.append(self.identifier())
        self.take(")")
        return tuple(values)


_KEYWORDS = frozenset({"and", "or", "not", "in", "at_least"})


def _is_id(token: str) -> bool:
    return token not in _KEYWORDS and re.fullmatch(r"[a-z_][a-z0-9_]*", token) is not None


def _is_number(token: str) -> bool:
    return re.fullmatch(r"-?\d+(?:\.\d+)?", token) is not None


def parse(text: str) -> Expr:
    """The condition ``text`` as a tree.

    Raises:
        ExprError: naming what could not be read.
    """
    return _Parser(text).parse()


# -- evaluating ----------------------------------------------------------------------


def holds(expr: Expr, ctx: Context) -> bool:
    """Whether ``expr`` is true of the patient and the facts known so far."""
    return expr._test(ctx)


def compiled(expr: Expr) -> Test:
    """``expr`` as one function of a context (for loops that evaluate many conditions)."""
    return expr._test


# -- compiling -----------------------------------------------------------------------
# The same semantics as the nodes' ``holds`` methods, without re-reading the tree:
# each node becomes one closure over its children's closures (and over the operator,
# the subject and the values it reads). ``tests/triage/test_expr.py`` checks that both
# agree on random trees and facts.

Test = Callable[["Context"], bool]
_UNSURE = (UNKNOWN, NOT_MEASURED)
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}


def _compile(expr: Expr) -> Test:
    return _COMPILERS[type(expr)](expr)


_COMPILERS: dict[type, Callable[[Any], Test]] = {
    Has: lambda e: _has(e.finding),
    Func: lambda e: _func(e.name, e.finding),
    Compare: lambda e: _compare(e.subject, _OPERATORS[e.op], e.number),
    OneOf: lambda e: _one_of(e.subject, e.values),
    Not: lambda e: _not(e.operand._test),
    All: lambda e: _all(tuple(o._test for o in e.operands)),
    Any_: lambda e: _any(tuple(o._test for o in e.operands)),
    AtLeast: lambda e: _at_least(e.count, tuple(o._test for o in e.operands)),
}


def _has(finding: str) -> Test:
    def test(ctx: Context) -> bool:
        return ctx.facts.get(finding) is True

    return test


def _func(name: str, finding: str) -> Test:
    def asked(ctx: Context) -> bool:
        return ctx.facts.get(finding) is not None

    def unknown(ctx: Context) -> bool:
        return ctx.facts.get(finding) in _UNSURE

    def absent(ctx: Context) -> bool:
        return ctx.facts.get(finding) is False

    def known(ctx: Context) -> bool:
        value = ctx.facts.get(finding)
        return value is not None and value not in _UNSURE

    return {"asked": asked, "unknown": unknown, "absent": absent}.get(name, known)


def _compare(subject: str, op: Callable[[float, float], bool], number: float) -> Test:
    def age(ctx: Context) -> bool:
        return op(float(ctx.age), number)

    def age_months(ctx: Context) -> bool:
        return op(float(ctx.age_months), number)

    def fact(ctx: Context) -> bool:
        value = ctx.facts.get(subject)
        return isinstance(value, float | int) and not isinstance(value, bool) and op(value, number)

    return {"age": age, "age_months": age_months}.get(subject, fact)


def _one_of(subject: str, values: tuple[str, ...]) -> Test:
    def sex(ctx: Context) -> bool:
        return ctx.sex in values

    def entry(ctx: Context) -> bool:
        return ctx.entry in values

    def fact(ctx: Context) -> bool:
        return ctx.facts.get(subject) in values

    return {"sex": sex, "entry": entry}.get(subject, fact)


def _not(operand: Test) -> Test:
    def test(ctx: Context) -> bool:
        return not operand(ctx)

    return test


def _all(operands: tuple[Test, ...]) -> Test:
    def test(ctx: Context) -> bool:
        for operand in operands:  # noqa: SIM110 - all(...) would make a generator per evaluation
            if not operand(ctx):
                return False
        return True

    return test


def _any(operands: tuple[Test, ...]) -> Test:
    def test(ctx: Context) -> bool:
        for operand in operands:  # noqa: SIM110 - any(...) would make a generator per evaluation
            if operand(ctx):
                return True
        return False

    return test


def _at_least(count: int, operands: tuple[Test, ...]) -> Test:
    def test(ctx: Context) -> bool:
        held = 0
        for operand in operands:
            if operand(ctx):
                held += 1
                if held >= count:
                    return True
        return held >= count  # fewer held (or a count below 1, which the parser refuses)

    return test


# -- reading a tree ------------------------------------------------------------------


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents first."""
    yield expr
    if isinstance(expr, Not):
        yield from walk(expr.operand)
    elif isinstance(expr, All | Any_ | AtLeast):
        for operand in expr.operands:
            yield from walk(operand)


def findings(expr: Expr) -> set[str]:
    """The ids of the findings the condition reads (not the patient's age, sex or entry)."""
    found: set[str] = set()
    for node in walk(expr):
        if isinstance(node, Has | Func):
            found.add(node.finding)
        elif isinstance(node, Compare | OneOf) and node.subject not in PATIENT:
            found.add(node.subject)
    return found


def bounds(expr: Expr) -> dict[str, set[float]]:
    """Per number (finding, age, age_months), the values where the condition can switch."""
    found: dict[str, set[float]] = {}
    for node in walk(expr):
        if isinstance(node, Compare):
            found.setdefault(node.subject, set()).add(node.number)
    return found
