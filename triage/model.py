"""The triage knowledge base as immutable values.

Loaded from the data files under ``triage/kb/`` by ``direkt.triage.loader``;
the engine only reads these values. Levels are ordered: the result of a
session is the highest level any answer reached ("when in doubt, triage up").
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from direkt.queue.model import Skill
from direkt.queue.urgency import Urgency


class Level(enum.IntEnum):
    """How soon care is needed; higher is more urgent."""

    SELF_CARE = 0
    DAYS = 1
    TODAY = 2
    SOON = 3
    URGENT = 4
    IMMEDIATE = 5
    EMERGENCY = 6  # call 112 now

    @classmethod
    def parse(cls, text: str) -> Level:
        return cls[text.upper()]


class CareLevel(enum.StrEnum):
    CALL_112 = "112_now"
    CHAT_NOW = "chat_now"
    CHAT_TODAY = "chat_today"
    WITHIN_DAYS = "within_days"
    SELF_CARE = "self_care"


CARE_LEVEL: dict[Level, CareLevel] = {
    Level.EMERGENCY: CareLevel.CALL_112,
    Level.IMMEDIATE: CareLevel.CHAT_NOW,
    Level.URGENT: CareLevel.CHAT_NOW,
    Level.SOON: CareLevel.CHAT_TODAY,
    Level.TODAY: CareLevel.CHAT_TODAY,
    Level.DAYS: CareLevel.WITHIN_DAYS,
    Level.SELF_CARE: CareLevel.SELF_CARE,
}

# The waiting room's urgency for each level. Self-care cases that still ask
# for a chat ("chat anyway") wait like "within days"; 112 never queues.
URGENCY: dict[Level, Urgency | None] = {
    Level.EMERGENCY: None,
    Level.IMMEDIATE: Urgency.IMMEDIATE,
    Level.URGENT: Urgency.URGENT,
    Level.SOON: Urgency.SOON,
    Level.TODAY: Urgency.TODAY,
    Level.DAYS: Urgency.DAYS,
    Level.SELF_CARE: Urgency.DAYS,
}


class VisitForm(enum.IntEnum):
    """Ordered: a later answer can only move a case towards a physical visit."""

    CHAT = 0
    VIDEO = 1
    PHYSICAL = 2


class Kind(enum.StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    YESNO = "yesno"
    NUMBER = "number"
    BODY = "body"  # single choice of a body location, shown as a body map
    TEXT = "text"  # free text: kept for staff, never changes the result
    PHOTO = "photo"  # a photo reference or "skip": kept for staff

    @property
    def has_options(self) -> bool:
        return self in (Kind.SINGLE, Kind.MULTI, Kind.YESNO, Kind.BODY)


class Entry(enum.StrEnum):
    SEEK_CARE = "seek_care"
    VACCINATION = "vaccination"
    YOUTH_CLINIC = "youth_clinic"
    CHILD_HEALTH = "child_health"
    ADMIN = "admin"


SEXES = frozenset({"female", "male", "other"})


class Proxy(enum.StrEnum):
    SELF = "self"
    GUARDIAN = "guardian"


@dataclass(frozen=True)
class Text:
    sv: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.sv


@dataclass(frozen=True)
class Effect:
    """What an answer does: raise the level, end with 112, change profession or visit form."""

    level: Level = Level.SELF_CARE
    red_flag: bool = False
    why: Text | None = None
    profession: Skill | None = None
    visit: VisitForm | None = None
    note: Text | None = None  # shown with the result whatever its level (first aid, where to turn)


@dataclass(frozen=True)
class Option:
    id: str
    text: Text
    effect: Effect = Effect()
    exclusive: bool = False  # in a multiple choice: "none of these"


@dataclass(frozen=True)
class Threshold:
    """Applies when the number is at least ``at_least`` or below ``below`` (one of them)."""

    effect: Effect
    at_least: float | None = None
    below: float | None = None

    def applies(self, value: float) -> bool:
        if self.at_least is not None:
            return value >= self.at_least
        return self.below is not None and value < self.below

    @property
    def label(self) -> str:
        return f">= {self.at_least:g}" if self.at_least is not None else f"< {self.below:g}"


@dataclass(frozen=True)
class Condition:
    """Show a question only when an earlier answer (or the patient's sex or age) matches."""

    question: str = ""  # an earlier question's id, or empty for a patient condition
    patient: str = ""  # "sex" or "age"
    any_of: frozenset[str] = frozenset()
    at_least: float | None = None
    below: float | None = None


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    text: Text
    options: tuple[Option, ...] = ()
    unit: Text | None = None
    minimum: float | None = None
    maximum: float | None = None
    thresholds: tuple[Threshold, ...] = ()
    show_if: tuple[Condition, ...] = ()
    help: Text | None = None

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @functools.cached_property
    def red_flag_options(self) -> tuple[str, ...]:
        """The ids of the options whose choice ends the session with "call 112 now"."""
        return tuple(o.id for o in self.options if o.effect.red_flag)


@dataclass(frozen=True)
class AgeRule:
    """Patients in an age band get at least ``level`` (e.g. infants, the very old)."""

    minimum_age: int
    maximum_age: int
    level: Level


@dataclass(frozen=True)
class ContactReason:
    code: str
    label: Text
    entries: frozenset[Entry]
    min_age: int
    max_age: int
    profession: Skill
    visit: VisitForm
    base: Level
    questions: tuple[Question, ...]
    sources: tuple[str, ...]
    advice: Text | None = None
    age_rules: tuple[AgeRule, ...] = ()
    sexes: frozenset[str] = SEXES


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    red_flags: Question
    reasons: Mapping[str, ContactReason]
    warning_signs: Text  # the 112 warning signs, shown when a session is refused
    refusal_under_one: Text
    sources: tuple[str, ...] = field(default=())
    # Memo of derived values (the reason choice per entry, age and sex); pure
    # functions of the fields above, so equality and hashing ignore it.
    memo: dict[object, object] = field(default_factory=dict, init=False, compare=False, repr=False)

    def questions(self) -> dict[str, Question]:
        found = {self.red_flags.id: self.red_flags}
        for reason in self.reasons.values():
            found.update({q.id: q for q in reason.questions})
        return found
