"""The triage knowledge base (format v2) as immutable values.

Loaded from the data files under ``triage/kb/`` by ``direkt.triage.loader``;
the engine only reads these values.

    Finding    what can be true of a patient: present/absent, a number, a choice
    Question   asks about one or more findings (one thing per option)
    Rule       a condition over findings, age and sex, and what follows from it
    Reason     a contact reason: its questions, rules, advice and safety-netting
    Screen     the red-flag screen asked first, with the rules that hold for every reason

Levels are ordered: the result is the highest level any rule reaches ("when
in doubt, triage up").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from direkt.queue.model import Skill
from direkt.queue.urgency import Urgency
from direkt.triage.expr import Expr


class Level(enum.IntEnum):
    """How soon care is needed; higher is more urgent."""

    SELF_CARE = 0
    DAYS = 1
    TODAY = 2
    SOON = 3
    URGENT = 4
    IMMEDIATE = 5
    CALL_1177 = 6  # an acutely ill infant: the telephone service assesses at once
    EMERGENCY_DEPARTMENT = 7  # a hospital today, not an ambulance
    CALL_112 = 8

    @classmethod
    def parse(cls, text: str) -> Level:
        return cls[text.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


class CareLevel(enum.StrEnum):
    """What the citizen is told to do; the wire names stay stable."""

    CALL_112 = "112_now"
    EMERGENCY_DEPARTMENT = "emergency_department"
    CALL_1177 = "call_1177"
    CHAT_NOW = "chat_now"
    CHAT_TODAY = "chat_today"
    WITHIN_DAYS = "within_days"
    SELF_CARE = "self_care"


CARE_LEVEL: dict[Level, CareLevel] = {
    Level.CALL_112: CareLevel.CALL_112,
    Level.EMERGENCY_DEPARTMENT: CareLevel.EMERGENCY_DEPARTMENT,
    Level.CALL_1177: CareLevel.CALL_1177,
    Level.IMMEDIATE: CareLevel.CHAT_NOW,
    Level.URGENT: CareLevel.CHAT_NOW,
    Level.SOON: CareLevel.CHAT_TODAY,
    Level.TODAY: CareLevel.CHAT_TODAY,
    Level.DAYS: CareLevel.WITHIN_DAYS,
    Level.SELF_CARE: CareLevel.SELF_CARE,
}

# Levels that never enter the waiting room: the citizen is sent elsewhere now.
ELSEWHERE = frozenset({Level.CALL_112, Level.EMERGENCY_DEPARTMENT, Level.CALL_1177})

# The waiting room's urgency for each level. Self-care cases that still ask
# for a chat ("chat anyway") wait like "within days".
URGENCY: dict[Level, Urgency | None] = {
    Level.CALL_112: None,
    Level.EMERGENCY_DEPARTMENT: None,
    Level.CALL_1177: None,
    Level.IMMEDIATE: Urgency.IMMEDIATE,
    Level.URGENT: Urgency.URGENT,
    Level.SOON: Urgency.SOON,
    Level.TODAY: Urgency.TODAY,
    Level.DAYS: Urgency.DAYS,
    Level.SELF_CARE: Urgency.DAYS,
}


class VisitForm(enum.IntEnum):
    """Ordered: a rule can only move a case towards a physical visit."""

    CHAT = 0
    VIDEO = 1
    PHYSICAL = 2


class Place(enum.StrEnum):
    """Where a physical visit happens (the phrasebook names each)."""

    HEALTH_CENTRE = "health_centre"
    YOUTH_CLINIC = "youth_clinic"
    CHILD_HEALTH = "child_health"
    MATERNITY = "maternity"
    VACCINATION = "vaccination"
    DENTIST = "dentist"


class Entry(enum.StrEnum):
    SEEK_CARE = "seek_care"
    VACCINATION = "vaccination"
    YOUTH_CLINIC = "youth_clinic"
    CHILD_HEALTH = "child_health"
    ADMIN = "admin"


ENTRY_PLACE = {
    Entry.SEEK_CARE: Place.HEALTH_CENTRE,
    Entry.YOUTH_CLINIC: Place.YOUTH_CLINIC,
    Entry.CHILD_HEALTH: Place.CHILD_HEALTH,
    Entry.VACCINATION: Place.VACCINATION,
    Entry.ADMIN: Place.HEALTH_CENTRE,
}

# Entries with medical triage: the red-flag screen comes first.
SCREENED = frozenset({Entry.SEEK_CARE, Entry.YOUTH_CLINIC, Entry.CHILD_HEALTH})

SEXES = frozenset({"female", "male", "other"})


class Respondent(enum.StrEnum):
    """Who answers: the patient, or a guardian for a child aged 1–12."""

    SELF = "self"
    GUARDIAN = "guardian"


@dataclass(frozen=True)
class Text:
    """A text in Swedish and English, with a guardian form that names the child.

    The guardian forms may use ``{name}`` and ``{name_s}`` (the child's name in
    the genitive). A text without a guardian form reads the same to both.
    """

    sv: str
    en: str
    sv_child: str | None = None
    en_child: str | None = None

    def get(self, lang: str, child: str | None = None) -> str:
        """The text in ``lang``; ``child`` is the child's name when a guardian answers."""
        if child is None:
            return self.en if lang == "en" else self.sv
        form = self.en_child if lang == "en" else self.sv_child
        if form is None:
            return self.en if lang == "en" else self.sv
        return form.replace("{name_s}", genitive(child, lang)).replace("{name}", child)

    @property
    def has_child_form(self) -> bool:
        return self.sv_child is not None and self.en_child is not None


def genitive(name: str, lang: str) -> str:
    """ "Alva" -> "Alvas" / "Alva's"; Swedish adds nothing after s, x or z ("Max")."""
    if lang == "en":
        return f"{name}'" if name.endswith("s") else f"{name}'s"
    return name if name[-1:].lower() in ("s", "x", "z") else f"{name}s"


class FindingType(enum.StrEnum):
    PRESENCE = "presence"  # present / absent / don't know
    NUMBER = "number"  # a value in a plausible range, or not measured / don't know
    CHOICE = "choice"  # one of named values, or don't know


@dataclass(frozen=True)
class Value:
    """One value of a choice finding."""

    id: str
    staff: Text
    lay: Text


@dataclass(frozen=True)
class Finding:
    id: str
    type: FindingType
    staff: Text  # clinical words for the console
    lay: Text  # what the patient reads (checklist options; neutral or with a guardian form)
    unit: Text | None = None
    low: float | None = None  # the plausible range of a number, inclusive
    high: float | None = None
    integer: bool = False
    measurement: bool = False  # a measured value: optional, "not measured"
    values: tuple[Value, ...] = ()
    normal: str | None = None  # a choice's value for a patient without the problem
    min_age: int = 0
    max_age: int = 120
    sexes: frozenset[str] = SEXES
    codes: tuple[str, ...] = ()  # verified public codes, e.g. "SNOMED CT 386661006"

    def applies_to(self, age: int, sex: str) -> bool:
        return self.min_age <= age <= self.max_age and sex in self.sexes

    def value(self, value_id: str) -> Value | None:
        return next((v for v in self.values if v.id == value_id), None)


class QuestionKind(enum.StrEnum):
    YESNO = "yesno"  # one presence finding: yes / no (/ don't know)
    CHECKLIST = "checklist"  # several presence findings: tick all that apply, or "none of these"
    CHOICE = "choice"  # one choice finding: one of its values (/ don't know)
    NUMBER = "number"  # one number finding (/ not measured / don't know)
    TEXT = "text"  # free text: kept for staff, never changes the result
    PHOTO = "photo"  # a photo reference or "skip": kept for staff

    @property
    def has_options(self) -> bool:
        return self in (QuestionKind.YESNO, QuestionKind.CHECKLIST, QuestionKind.CHOICE)


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: Text
    asks: tuple[str, ...] = ()  # finding ids
    help: Text | None = None
    when: Expr | None = None  # asked only when this holds
    dont_know: bool = True  # offer "don't know" (yes/no, choice, number that is not a measurement)
    body_map: bool = False  # a choice shown as a body map
    staff: Text | None = None  # the console's label for a free-text or photo answer


@dataclass(frozen=True)
class Rule:
    """When ``when`` holds, the result is at least ``level`` (and the rest applies)."""

    id: str
    when: Expr
    level: Level
    why: Text  # to the citizen: why this level
    staff: Text | None = None  # to staff; defaults to the condition in clinical words
    profession: Skill | None = None
    visit: VisitForm | None = None
    place: Place | None = None
    advice: Text | None = None  # advice specific to this situation
    first_aid: Text | None = None  # while waiting for the ambulance or on the way


@dataclass(frozen=True)
class Guidance:
    """Advice or safety-netting shown when ``when`` holds and the level is in ``levels``."""

    text: Text
    when: Expr | None = None
    levels: frozenset[Level] = frozenset()  # empty: every level below the emergencies


@dataclass(frozen=True)
class Reason:
    code: str
    label: Text
    entries: frozenset[Entry]
    min_age: int
    max_age: int
    profession: Skill
    visit: VisitForm
    base: Level
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    advice: tuple[Guidance, ...]
    safety_net: tuple[Guidance, ...]
    sources: tuple[str, ...]
    place: Place | None = None  # where a physical visit happens (default: by entry)
    sexes: frozenset[str] = SEXES
    screened: bool = True  # the red-flag screen comes first (medical reasons)
    area: str = "general"  # the body area it is browsed under (phrases.toml [area])
    terms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lang -> everyday words and synonyms


@dataclass(frozen=True)
class Screen:
    """The red-flag screen and the rules that hold whatever the reason."""

    question: Question
    rules: tuple[Rule, ...]
    first_aid: Text  # shown with every 112 result
    warning_signs: Text  # the 112 signs, shown with refusals
    refusal_under_one: Text
    sources: tuple[str, ...]
    # The risk modifiers (blood thinners, diabetes, pregnancy...), asked once after the
    # reason is chosen and before its own questions; every reason's rules may read them.
    risk: tuple[Question, ...] = ()


@dataclass(frozen=True)
class Phrases:
    """The plain-language frame of a result: headlines, professions and places."""

    headline: Mapping[Level, Text]
    visit: Mapping[VisitForm, Text]
    profession: Mapping[Skill, Text]
    place: Mapping[Place, Text]
    chat_anyway: Text
    area: Mapping[str, Text] = field(default_factory=dict)  # body areas to browse the reasons by


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    findings: Mapping[str, Finding]
    screen: Screen
    reasons: Mapping[str, Reason]
    phrases: Phrases
    sources: tuple[str, ...] = ()
    files: Mapping[str, bytes] = field(default_factory=dict, compare=False, repr=False)  # what it was read from
    # Memo of derived values (reason lists, rule indexes); pure functions of
    # the fields above, so equality and hashing ignore it.
    memo: dict[object, object] = field(default_factory=dict, init=False, compare=False, repr=False)

    def questions(self) -> dict[str, Question]:
        found = {self.screen.question.id: self.screen.question}
        found.update({q.id: q for q in self.screen.risk})
        for reason in self.reasons.values():
            found.update({q.id: q for q in reason.questions})
        return found

    def asked_for(self, reason: Reason | None) -> tuple[Question, ...]:
        """The questions after the choice of ``reason``: the risk modifiers (medical reasons), then its own."""
        if reason is None:
            return ()
        return (self.screen.risk if reason.screened else ()) + reason.questions

    def rules(self, reason: Reason | None) -> tuple[Rule, ...]:
        """The rules that decide for ``reason``: the screen's (medical reasons only), then its own."""
        if reason is None:
            return self.screen.rules
        return (self.screen.rules if reason.screened else ()) + reason.rules
