"""A triage session and the questions put in it: the values the engine passes around.

A session is its inputs (knowledge-base version, entry, patient, the answers
in the order given); an ``Asked`` is a question as it is put to this patient
now, with only the options that apply. The answer ids here (yes, no, don't
know, not measured, none of these, skip) are the same in every knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from direkt.triage.model import Entry, Finding, Question, QuestionKind, Respondent, Text

Answer = str | float | tuple[str, ...]
REASON_QUESTION = "reason"
NONE = "none"  # a checklist's "none of these"
YES, NO = "yes", "no"
DONT_KNOW = "unknown"
NOT_MEASURED_ID = "not_measured"
SKIP = "skip"

WORDS = {
    YES: Text("Ja", "Yes"),
    NO: Text("Nej", "No"),
    DONT_KNOW: Text("Vet inte", "Don't know"),
    NOT_MEASURED_ID: Text("Inte mätt", "Not measured"),
    NONE: Text("Inget av detta", "None of these"),
}


@dataclass(frozen=True)
class Patient:
    age_months: int  # completed months: a child of 2 years 5 months is 29
    sex: str
    respondent: Respondent = Respondent.SELF

    @property
    def age(self) -> int:
        return self.age_months // 12

    @classmethod
    def aged(cls, years: int, sex: str, respondent: Respondent = Respondent.SELF, months: int = 0) -> Patient:
        return cls(years * 12 + months, sex, respondent)


@dataclass(frozen=True)
class Session:
    version: str
    entry: Entry
    patient: Patient
    answers: tuple[tuple[str, Answer], ...] = ()

    def answer_to(self, question_id: str) -> Answer | None:
        return next((value for qid, value in self.answers if qid == question_id), None)


@dataclass(frozen=True)
class Option:
    id: str
    text: Text
    exclusive: bool = False


@dataclass(frozen=True)
class Asked:
    """A question as it is put to this patient now: only the options that apply."""

    question: Question
    options: tuple[Option, ...] = ()
    finding: Finding | None = None  # the one finding of a yes/no, choice or number question
    skip: Option | None = None  # a number's "not measured" or "don't know"

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def kind(self) -> QuestionKind:
        return self.question.kind

    @property
    def asks(self) -> tuple[str, ...]:
        """The findings this question sets: a checklist's shown options, or its one finding."""
        return self._asks

    @cached_property
    def _asks(self) -> tuple[str, ...]:  # once per question put: the path walk reads it on every path
        if self.kind is QuestionKind.CHECKLIST:
            return tuple(o.id for o in self.options if not o.exclusive)
        return self.question.asks
