"""Reading the knowledge base: TOML files under ``triage/kb/`` into model values.

    kb/redflags.toml        the universal red-flag screen, 112 warning signs, refusals
    kb/reasons/<code>.toml  one contact reason each: questions, effects, advice, sources

The version is a content hash of every file, so a session records exactly the
knowledge it was triaged with. Structure is checked by msgspec; meaning by
``direkt.triage.validate``. Every problem is collected, not just the first.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

import msgspec

from direkt.queue.model import Skill
from direkt.server.errors import KnowledgeBaseError
from direkt.triage.model import (
    AgeRule,
    Condition,
    ContactReason,
    Effect,
    Entry,
    Kind,
    KnowledgeBase,
    Level,
    Option,
    Question,
    Text,
    Threshold,
    VisitForm,
)

KB_DIR = Path(__file__).parent / "kb"
_T = TypeVar("_T")
YES = Text("Ja", "Yes")
NO = Text("Nej", "No")


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class TextSpec(_Strict):
    sv: str
    en: str


class EffectSpec(_Strict, kw_only=True):
    """What an answer does; options and thresholds carry the same fields."""

    level: str = "self_care"
    red_flag: bool = False
    why: TextSpec | None = None
    profession: Skill | None = None
    visit: str | None = None
    note: TextSpec | None = None


class OptionSpec(EffectSpec, kw_only=True):
    id: str
    text: TextSpec
    exclusive: bool = False


class ThresholdSpec(EffectSpec, kw_only=True):
    at_least: float | None = None
    below: float | None = None


class ConditionSpec(_Strict):
    question: str = ""
    patient: str = ""
    any_of: list[str] = msgspec.field(default_factory=list)
    at_least: float | None = None
    below: float | None = None


class QuestionSpec(_Strict):
    id: str
    kind: Kind
    text: TextSpec
    options: list[OptionSpec] = msgspec.field(default_factory=list)
    yes: EffectSpec | None = None
    unit: TextSpec | None = None
    min: float | None = None
    max: float | None = None
    thresholds: list[ThresholdSpec] = msgspec.field(default_factory=list)
    show_if: list[ConditionSpec] = msgspec.field(default_factory=list)
    help: TextSpec | None = None


class AgeRuleSpec(_Strict):
    min_age: int
    max_age: int
    level: str


class ReasonSpec(_Strict):
    code: str
    label: TextSpec
    sources: list[str]
    questions: list[QuestionSpec]
    entries: list[Entry] = msgspec.field(default_factory=lambda: [Entry.SEEK_CARE])
    min_age: int = 1
    max_age: int = 120
    sexes: list[str] | None = None
    profession: Skill = Skill.NURSE
    visit: str = "chat"
    base: str = "self_care"
    advice: TextSpec | None = None
    age_rules: list[AgeRuleSpec] = msgspec.field(default_factory=list)


class RedFlagsSpec(_Strict):
    question: QuestionSpec
    warning_signs: TextSpec
    refusal_under_one: TextSpec
    sources: list[str]


class _Builder:
    """Turns specs into values, collecting problems instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, spec: TextSpec | None, where: str) -> Text | None:
        if spec is None:
            return None
        for lang, value in (("sv", spec.sv), ("en", spec.en)):
            if not value.strip():
                self.problems.append(f"{where}: the {lang} text is empty")
        return Text(spec.sv.strip(), spec.en.strip())

    def level(self, name: str, where: str) -> Level:
        try:
            return Level.parse(name)
        except KeyError:
            self.problems.append(f"{where}: unknown level {name!r}; use {[lv.name.lower() for lv in Level]}")
            return Level.EMERGENCY  # an unknown level must never lower a result

    def visit(self, name: str | None, where: str) -> VisitForm | None:
        if name is None:
            return None
        try:
            return VisitForm[name.upper()]
        except KeyError:
            self.problems.append(f"{where}: unknown visit form {name!r}; use chat, video or physical")
            return VisitForm.PHYSICAL

    def effect(self, spec: EffectSpec, where: str) -> Effect:
        level = Level.EMERGENCY if spec.red_flag else self.level(spec.level, where)
        why = self.text(spec.why, f"{where}.why")
        if (spec.red_flag or level is Level.EMERGENCY) and why is None:
            self.problems.append(f"{where}: a 112 answer needs 'why' (the reason shown to the citizen)")
        note = self.text(spec.note, f"{where}.note")
        visit = self.visit(spec.visit, where)
        return Effect(level, spec.red_flag or level is Level.EMERGENCY, why, spec.profession, visit, note)

    def question(self, spec: QuestionSpec, where: str) -> Question:
        where = f"{where} question {spec.id}"
        options = tuple(
            Option(
                o.id,
                self.text(o.text, f"{where} option {o.id}") or Text("", ""),
                self.effect(o, f"{where} option {o.id}"),
                o.exclusive,
            )
            for o in spec.options
        )
        if spec.kind is Kind.YESNO:
            if spec.options:
                self.problems.append(f"{where}: a yes/no question takes 'yes' effects, not options")
            yes = self.effect(spec.yes, f"{where} yes") if spec.yes else Effect()
            options = (Option("yes", YES, yes), Option("no", NO))
        return Question(
            id=spec.id,
            kind=spec.kind,
            text=self.text(spec.text, where) or Text("", ""),
            options=options,
            unit=self.text(spec.unit, f"{where}.unit"),
            minimum=spec.min,
            maximum=spec.max,
            thresholds=tuple(self.threshold(t, where) for t in spec.thresholds),
            show_if=tuple(
                Condition(c.question, c.patient, frozenset(c.any_of), c.at_least, c.below) for c in spec.show_if
            ),
            help=self.text(spec.help, f"{where}.help"),
        )

    def threshold(self, spec: ThresholdSpec, where: str) -> Threshold:
        if (spec.at_least is None) == (spec.below is None):
            self.problems.append(f"{where}: a threshold needs exactly one of at_least and below")
        name = f"{where} threshold {spec.at_least if spec.at_least is not None else spec.below}"
        return Threshold(self.effect(spec, name), spec.at_least, spec.below)

    def reason(self, spec: ReasonSpec, where: str) -> ContactReason:
        return ContactReason(
            code=spec.code,
            label=self.text(spec.label, f"{where}.label") or Text("", ""),
            entries=frozenset(spec.entries),
            min_age=spec.min_age,
            max_age=spec.max_age,
            profession=spec.profession,
            visit=self.visit(spec.visit, f"{where}.visit") or VisitForm.CHAT,
            base=self.level(spec.base, f"{where}.base"),
            questions=tuple(self.question(q, where) for q in spec.questions),
            sources=tuple(spec.sources),
            advice=self.text(spec.advice, f"{where}.advice"),
            age_rules=tuple(
                AgeRule(r.min_age, r.max_age, self.level(r.level, f"{where}.age_rules")) for r in spec.age_rules
            ),
            sexes=frozenset(spec.sexes) if spec.sexes else frozenset({"female", "male", "other"}),
        )


def version_of(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read(kb_dir: Path = KB_DIR) -> tuple[KnowledgeBase | None, list[str]]:
    """Read every file; returns the knowledge base (None if unusable) and the problems."""
    builder = _Builder()
    reason_files = sorted((kb_dir / "reasons").glob("*.toml"))
    flags_file = kb_dir / "redflags.toml"
    flags = _decode(flags_file, RedFlagsSpec, builder.problems)
    reasons: dict[str, ContactReason] = {}
    for path in reason_files:
        spec = _decode(path, ReasonSpec, builder.problems)
        if spec is None:
            continue
        if spec.code in reasons:
            builder.problems.append(f"{path.name}: contact reason {spec.code!r} is defined twice")
        reasons[spec.code] = builder.reason(spec, path.name)
    if flags is None:
        return None, builder.problems
    kb = KnowledgeBase(
        version=version_of([flags_file, *reason_files]),
        red_flags=builder.question(flags.question, flags_file.name),
        reasons=reasons,
        warning_signs=builder.text(flags.warning_signs, "redflags.toml warning_signs") or Text("", ""),
        refusal_under_one=builder.text(flags.refusal_under_one, "redflags.toml refusal_under_one") or Text("", ""),
        sources=tuple(flags.sources),
    )
    return kb, builder.problems


def _decode(path: Path, kind: type[_T], problems: list[str]) -> _T | None:
    try:
        return msgspec.toml.decode(path.read_bytes(), type=kind)
    except OSError as exc:
        problems.append(f"{path.name}: cannot read ({exc.strerror})")
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        problems.append(f"{path.name}: {exc}")
    return None


def load(kb_dir: Path = KB_DIR) -> KnowledgeBase:
    """Read and validate; the knowledge base the engine may use.

    Raises:
        KnowledgeBaseError: listing every problem found.
    """
    from direkt.triage.validate import validate

    kb, problems = read(kb_dir)
    if kb is not None:
        problems += validate(kb)
    if problems or kb is None:
        raise KnowledgeBaseError(problems or ["the knowledge base could not be read"])
    return kb
