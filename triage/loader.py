"""Reading the knowledge base: TOML files into model values.

    kb/findings/<area>.toml   the vocabulary of findings
    kb/screen.toml            the red-flag screen, rules for every reason, refusals
    kb/phrases.toml           the plain-language frame of results
    kb/reasons/<code>.toml    one contact reason each: questions, rules, advice, sources

The version is a content hash of every file, so a session records exactly the
knowledge it was triaged with; ``snapshot`` packs the files of a version so it
can be loaded again later to replay an old case. Structure is checked by
msgspec, names and conditions here, meaning by ``direkt.triage.validate``.
Every problem is collected, not just the first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

import msgpack
import msgspec

from direkt.queue.model import Skill
from direkt.triage import expr as ex
from direkt.triage import tomldecode
from direkt.triage.errors import KnowledgeBaseError
from direkt.triage.model import (
    SEXES,
    Entry,
    Finding,
    FindingType,
    Guidance,
    KnowledgeBase,
    Level,
    Phrases,
    Place,
    Question,
    QuestionKind,
    Reason,
    Rule,
    Screen,
    Text,
    Value,
    VisitForm,
)

KB_DIR = Path(__file__).parent / "kb"
FORMAT = 2
_T = TypeVar("_T")
_K = TypeVar("_K")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class TextSpec(_Strict):
    sv: str
    en: str
    sv_child: str | None = None
    en_child: str | None = None


class ValueSpec(_Strict):
    id: str
    staff: TextSpec
    lay: TextSpec


class FindingSpec(_Strict):
    id: str
    type: FindingType
    staff: TextSpec
    lay: TextSpec
    unit: TextSpec | None = None
    range: list[float] | None = None
    integer: bool = False
    measurement: bool = False
    values: list[ValueSpec] = msgspec.field(default_factory=list)
    normal: str | None = None
    ages: list[int] | None = None
    sexes: list[str] | None = None
    codes: list[str] = msgspec.field(default_factory=list)


class FindingsFileSpec(_Strict):
    findings: list[FindingSpec]


class QuestionSpec(_Strict):
    id: str
    text: TextSpec
    asks: str | list[str] | None = None
    kind: QuestionKind | None = None  # only "text" or "photo"; the rest follows from the findings
    help: TextSpec | None = None
    when: str | None = None
    dont_know: bool = True
    body_map: bool = False
    staff: TextSpec | None = None


class RuleSpec(_Strict):
    id: str
    when: str
    level: str
    why: TextSpec
    staff: TextSpec | None = None
    profession: Skill | None = None
    visit: str | None = None
    place: Place | None = None
    advice: TextSpec | None = None
    first_aid: TextSpec | None = None


class GuidanceSpec(_Strict):
    text: TextSpec
    when: str | None = None
    levels: list[str] = msgspec.field(default_factory=list)


class ReasonSpec(_Strict):
    code: str
    label: TextSpec
    sources: list[str]
    questions: list[QuestionSpec]
    rules: list[RuleSpec] = msgspec.field(default_factory=list)
    advice: list[GuidanceSpec] = msgspec.field(default_factory=list)
    safety_net: list[GuidanceSpec] = msgspec.field(default_factory=list)
    entries: list[Entry] = msgspec.field(default_factory=lambda: [Entry.SEEK_CARE])
    min_age: int = 1
    max_age: int = 120
    sexes: list[str] | None = None
    profession: Skill = Skill.NURSE
    visit: str = "chat"
    place: Place | None = None
    base: str = "self_care"
    screened: bool = True
    area: str = "general"
    terms: dict[str, list[str]] = msgspec.field(default_factory=dict)


class ScreenSpec(_Strict):
    question: QuestionSpec
    rules: list[RuleSpec]
    first_aid: TextSpec
    warning_signs: TextSpec
    refusal_under_one: TextSpec
    sources: list[str]
    risk: list[QuestionSpec] = msgspec.field(default_factory=list)


class PhrasesSpec(_Strict):
    headline: dict[str, TextSpec]
    visit: dict[str, TextSpec]
    profession: dict[str, TextSpec]
    place: dict[str, TextSpec]
    chat_anyway: TextSpec
    area: dict[str, TextSpec] = msgspec.field(default_factory=dict)


class _Builder:
    """Turns specs into values, collecting problems instead of stopping."""

    def __init__(self, findings: Mapping[str, Finding]) -> None:
        self.problems: list[str] = []
        self.findings = findings

    def text(self, spec: TextSpec | None, where: str) -> Text | None:
        if spec is None:
            return None
        forms = (("sv", spec.sv), ("en", spec.en), ("sv_child", spec.sv_child), ("en_child", spec.en_child))
        for lang, value in forms:
            if value is not None and not value.strip():
                self.problems.append(f"{where}: the {lang} text is empty")
        if (spec.sv_child is None) != (spec.en_child is None):
            self.problems.append(f"{where}: give the guardian form in both sv_child and en_child")
        for lang, value in forms[:2]:
            if "{name" in value:
                self.problems.append(f"{where}: {{name}} belongs in the guardian form, not in {lang}")
        return Text(spec.sv.strip(), spec.en.strip(), _strip(spec.sv_child), _strip(spec.en_child))

    def required_text(self, spec: TextSpec, where: str) -> Text:
        return self.text(spec, where) or Text("", "")

    def level(self, name: str, where: str) -> Level:
        try:
            return Level.parse(name)
        except KeyError:
            self.problems.append(f"{where}: unknown level {name!r}; use {[lv.label for lv in Level]}")
            return Level.CALL_112  # an unknown level must never lower a result

    def visit(self, name: str | None, where: str) -> VisitForm | None:
        if name is None:
            return None
        try:
            return VisitForm[name.upper()]
        except KeyError:
            self.problems.append(f"{where}: unknown visit form {name!r}; use chat, video or physical")
            return VisitForm.PHYSICAL

    def condition(self, text: str | None, where: str) -> ex.Expr | None:
        if text is None:
            return None
        try:
            parsed = ex.parse(text)
        except ex.ExprError as exc:
            self.problems.append(f"{where}: {exc}")
            return ex.Has("?")
        self.problems += [f"{where}: {p}" for p in check_condition(parsed, self.findings)]
        return parsed

    def question(self, spec: QuestionSpec, where: str) -> Question:
        where = f"{where} question {spec.id}"
        asks = tuple(spec.asks if isinstance(spec.asks, list) else [spec.asks] if spec.asks else [])
        kind = self.kind(spec, asks, where)
        return Question(
            id=spec.id,
            kind=kind,
            text=self.required_text(spec.text, where),
            asks=asks,
            help=self.text(spec.help, f"{where}.help"),
            when=self.condition(spec.when, f"{where}.when"),
            dont_know=spec.dont_know,
            body_map=spec.body_map,
            staff=self.text(spec.staff, f"{where}.staff"),
        )

    def kind(self, spec: QuestionSpec, asks: tuple[str, ...], where: str) -> QuestionKind:
        if spec.kind is not None:
            if spec.kind not in (QuestionKind.TEXT, QuestionKind.PHOTO) or asks:
                self.problems.append(f"{where}: 'kind' is only for text and photo questions, which ask no finding")
            return spec.kind
        unknown = [f for f in asks if f not in self.findings]
        if not asks or unknown:
            self.problems.append(f"{where}: asks {unknown or 'nothing'}; name findings of the vocabulary")
            return QuestionKind.TEXT
        if isinstance(spec.asks, list):
            if any(self.findings[f].type is not FindingType.PRESENCE for f in asks):
                self.problems.append(f"{where}: a checklist asks presence findings only")
            return QuestionKind.CHECKLIST
        return {
            FindingType.PRESENCE: QuestionKind.YESNO,
            FindingType.NUMBER: QuestionKind.NUMBER,
            FindingType.CHOICE: QuestionKind.CHOICE,
        }[self.findings[asks[0]].type]

    def rule(self, spec: RuleSpec, where: str) -> Rule:
        where = f"{where} rule {spec.id}"
        return Rule(
            id=spec.id,
            when=self.condition(spec.when, f"{where}.when") or ex.Has("?"),
            level=self.level(spec.level, where),
            why=self.required_text(spec.why, f"{where}.why"),
            staff=self.text(spec.staff, f"{where}.staff"),
            profession=spec.profession,
            visit=self.visit(spec.visit, where),
            place=spec.place,
            advice=self.text(spec.advice, f"{where}.advice"),
            first_aid=self.text(spec.first_aid, f"{where}.first_aid"),
        )

    def guidance(self, spec: GuidanceSpec, where: str) -> Guidance:
        return Guidance(
            text=self.required_text(spec.text, where),
            when=self.condition(spec.when, f"{where}.when"),
            levels=frozenset(self.level(name, where) for name in spec.levels),
        )

    def reason(self, spec: ReasonSpec, where: str) -> Reason:
        return Reason(
            code=spec.code,
            label=self.required_text(spec.label, f"{where}.label"),
            entries=frozenset(spec.entries),
            min_age=spec.min_age,
            max_age=spec.max_age,
            profession=spec.profession,
            visit=self.visit(spec.visit, f"{where}.visit") or VisitForm.CHAT,
            base=self.level(spec.base, f"{where}.base"),
            questions=tuple(self.question(q, where) for q in spec.questions),
            rules=tuple(self.rule(r, where) for r in spec.rules),
            advice=tuple(self.guidance(a, f"{where} advice {i + 1}") for i, a in enumerate(spec.advice)),
            safety_net=tuple(self.guidance(s, f"{where} safety_net {i + 1}") for i, s in enumerate(spec.safety_net)),
            sources=tuple(spec.sources),
            place=spec.place,
            sexes=self.sexes(spec.sexes, where),
            screened=spec.screened,
            area=spec.area,
            terms=self.terms(spec.terms, where),
        )

    def terms(self, spec: Mapping[str, list[str]], where: str) -> dict[str, tuple[str, ...]]:
        for lang, words in spec.items():
            if lang not in ("sv", "en"):
                self.problems.append(f"{where}.terms: unknown language {lang!r} (sv, en)")
            if any(not w.strip() for w in words):
                self.problems.append(f"{where}.terms.{lang}: an empty term")
        return {lang: tuple(w.strip() for w in words) for lang, words in spec.items() if lang in ("sv", "en")}

    def sexes(self, names: list[str] | None, where: str) -> frozenset[str]:
        if names is None:
            return SEXES
        if set(names) - SEXES:
            self.problems.append(f"{where}: sexes {sorted(set(names) - SEXES)} are not {sorted(SEXES)}")
        return frozenset(names) & SEXES

    def screen(self, spec: ScreenSpec, where: str) -> Screen:
        return Screen(
            question=self.question(spec.question, where),
            rules=tuple(self.rule(r, where) for r in spec.rules),
            first_aid=self.required_text(spec.first_aid, f"{where}.first_aid"),
            warning_signs=self.required_text(spec.warning_signs, f"{where}.warning_signs"),
            refusal_under_one=self.required_text(spec.refusal_under_one, f"{where}.refusal_under_one"),
            sources=tuple(spec.sources),
            risk=tuple(self.question(q, where) for q in spec.risk),
        )

    def phrases(self, spec: PhrasesSpec, where: str) -> Phrases:
        return Phrases(
            headline=self.keyed(spec.headline, Level.parse, Level, f"{where} headline"),
            visit=self.keyed(spec.visit, lambda k: VisitForm[k.upper()], VisitForm, f"{where} visit"),
            profession=self.keyed(spec.profession, Skill, Skill, f"{where} profession"),
            place=self.keyed(spec.place, Place, Place, f"{where} place"),
            chat_anyway=self.required_text(spec.chat_anyway, f"{where}.chat_anyway"),
            area={k: self.required_text(t, f"{where}.area.{k}") for k, t in spec.area.items()},
        )

    def keyed(
        self, specs: Mapping[str, TextSpec], parse: Callable[[str], _K], every: Iterable[_K], where: str
    ) -> dict[_K, Text]:
        found: dict[_K, Text] = {}
        for key, spec in specs.items():
            try:
                found[parse(key)] = self.required_text(spec, f"{where}.{key}")
            except (KeyError, ValueError):
                self.problems.append(f"{where}: unknown key {key!r}")
        missing = sorted(str(member) for member in every if member not in found)
        if missing:
            self.problems.append(f"{where}: no text for {missing}")
        return found


def _strip(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def check_condition(expr: ex.Expr, findings: Mapping[str, Finding]) -> list[str]:
    """Every finding a condition names exists and is used as its type allows."""
    problems = []
    for node in ex.walk(expr):
        if isinstance(node, ex.Has | ex.Func):
            problems += _check_finding(
                node.finding, findings, FindingType.PRESENCE if isinstance(node, ex.Has) else None
            )
        elif isinstance(node, ex.Compare) and node.subject not in ("age", "age_months"):
            problems += _check_finding(node.subject, findings, FindingType.NUMBER)
        elif isinstance(node, ex.OneOf):
            problems += _check_values(node, findings)
    return problems


def _check_finding(finding_id: str, findings: Mapping[str, Finding], wanted: FindingType | None) -> list[str]:
    finding = findings.get(finding_id)
    if finding is None:
        return [f"no finding {finding_id!r} in the vocabulary"]
    if wanted is not None and finding.type is not wanted:
        how = {FindingType.PRESENCE: "alone", FindingType.NUMBER: "with >=, <, ..."}[wanted]
        return [f"{finding_id} is a {finding.type} finding and cannot be used {how}"]
    return []


def _check_values(node: ex.OneOf, findings: Mapping[str, Finding]) -> list[str]:
    if node.subject == "sex":
        allowed: set[str] = set(SEXES)
    elif node.subject == "entry":
        allowed = {e.value for e in Entry}
    else:
        finding = findings.get(node.subject)
        if finding is None or finding.type is not FindingType.CHOICE:
            return [f"{node.subject!r} is not a choice finding (use in/== with choices, sex or entry)"]
        allowed = {v.id for v in finding.values}
    wrong = sorted(set(node.values) - allowed)
    return [f"{node.subject} has no value {wrong}; it has {sorted(allowed)}"] if wrong else []


# -- findings -----------------------------------------------------------------------


def build_finding(spec: FindingSpec, builder: _Builder, where: str) -> Finding:
    where = f"{where} finding {spec.id}"
    low, high = (spec.range[0], spec.range[-1]) if spec.range else (None, None)
    ages = spec.ages or [0, 120]
    if spec.range is not None and len(spec.range) != 2:
        builder.problems.append(f"{where}: range is [low, high]")
    if len(ages) != 2:
        builder.problems.append(f"{where}: ages is [youngest, oldest]")
        ages = [0, 120]
    return Finding(
        id=spec.id,
        type=spec.type,
        staff=builder.required_text(spec.staff, f"{where}.staff"),
        lay=builder.required_text(spec.lay, f"{where}.lay"),
        unit=builder.text(spec.unit, f"{where}.unit"),
        low=low,
        high=high,
        integer=spec.integer,
        measurement=spec.measurement,
        values=tuple(
            Value(v.id, builder.required_text(v.staff, f"{where} value {v.id}"), builder.required_text(v.lay, where))
            for v in spec.values
        ),
        normal=spec.normal,
        min_age=ages[0],
        max_age=ages[1],
        sexes=builder.sexes(spec.sexes, where),
        codes=tuple(spec.codes),
    )


# -- files -----------------------------------------------------------------------------


def version_of(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()[:16]


def files_of(kb_dir: Path = KB_DIR) -> dict[str, bytes]:
    """Every knowledge-base file by its path under ``kb_dir``."""
    return {str(p.relative_to(kb_dir)): p.read_bytes() for p in sorted(kb_dir.rglob("*.toml"))}


def snapshot(files: Mapping[str, bytes]) -> bytes:
    """One value holding a version's files, to keep beside the cases triaged with it."""
    return msgpack.packb({"format": FORMAT, "files": dict(files)})  # type: ignore[no-any-return]


def from_snapshot(blob: bytes) -> KnowledgeBase:
    """The knowledge base of a snapshot (a version kept for replay).

    Raises:
        KnowledgeBaseError: the snapshot is not readable or not valid.
    """
    try:
        data = msgpack.unpackb(blob)
        files = {str(k): bytes(v) for k, v in data["files"].items()}
        if data["format"] != FORMAT:
            raise ValueError("format")
    except (ValueError, TypeError, KeyError, AttributeError, msgpack.UnpackException):
        raise KnowledgeBaseError(["not a knowledge-base snapshot of format 2"]) from None
    kb, problems = build(files)
    if problems or kb is None:
        raise KnowledgeBaseError(problems or ["the snapshot could not be read"])
    return kb


def read(kb_dir: Path = KB_DIR) -> tuple[KnowledgeBase | None, list[str]]:
    """Read every file; returns the knowledge base (None if unusable) and the problems."""
    try:
        files = files_of(kb_dir)
    except OSError as exc:
        return None, [f"cannot read {kb_dir} ({exc.strerror})"]
    return build(files)


def build(files: Mapping[str, bytes]) -> tuple[KnowledgeBase | None, list[str]]:
    """The knowledge base of ``files`` (path -> TOML bytes), and every problem found."""
    problems: list[str] = []
    findings = _findings(files, problems)
    builder = _Builder(findings)
    builder.problems = problems
    screen_spec = _decode(files, "screen.toml", ScreenSpec, problems)
    phrases_spec = _decode(files, "phrases.toml", PhrasesSpec, problems)
    reasons: dict[str, Reason] = {}
    for name in sorted(n for n in files if n.startswith("reasons/")):
        spec = _decode(files, name, ReasonSpec, problems)
        if spec is None:
            continue
        if spec.code in reasons:
            problems.append(f"{name}: contact reason {spec.code!r} is defined twice")
        reasons[spec.code] = builder.reason(spec, name)
    if screen_spec is None or phrases_spec is None:
        return None, problems
    kb = KnowledgeBase(
        version=version_of(files),
        findings=findings,
        screen=builder.screen(screen_spec, "screen.toml"),
        reasons=reasons,
        phrases=builder.phrases(phrases_spec, "phrases.toml"),
        sources=tuple(screen_spec.sources),
        files=dict(files),
    )
    return kb, problems


def _findings(files: Mapping[str, bytes], problems: list[str]) -> dict[str, Finding]:
    builder = _Builder({})
    found: dict[str, Finding] = {}
    for name in sorted(n for n in files if n.startswith("findings/")):
        spec = _decode(files, name, FindingsFileSpec, problems)
        for finding in spec.findings if spec else []:
            if finding.id in found:
                problems.append(f"{name}: finding {finding.id!r} is defined twice")
            found[finding.id] = build_finding(finding, builder, name)
    if not found:
        problems.append("findings/: no findings (the vocabulary is empty)")
    problems += builder.problems
    return found


def _decode(files: Mapping[str, bytes], name: str, kind: type[_T], problems: list[str]) -> _T | None:
    raw = files.get(name)
    if raw is None:
        problems.append(f"{name}: missing")
        return None
    try:
        return tomldecode.decode(raw, kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        problems.append(f"{name}: {exc}")
    return None


def load(kb_dir: Path = KB_DIR, *, walk_paths: bool = True) -> KnowledgeBase:
    """Read and validate; the knowledge base the engine may use.

    ``walk_paths=False`` skips the walk of every path (the static checks still run).

    Raises:
        KnowledgeBaseError: listing every problem found.
    """
    from direkt.triage.validate import validate

    kb, problems = read(kb_dir)
    if kb is not None and not problems:
        problems += validate(kb, walk_paths=walk_paths)
    if problems or kb is None:
        raise KnowledgeBaseError(problems or ["the knowledge base could not be read"])
    return kb
