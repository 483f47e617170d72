"""An answer to an asked question: its canonical form, the findings it sets, its words.

``validate_answer`` refuses what does not fit the question as it was put
(an unknown option, "none of these" with something else, an implausible
number: the refusal says the range and asks again, in Swedish and English).
"""

from __future__ import annotations

import math
import re

from direkt.triage.errors import InvalidAnswer
from direkt.triage.expr import NOT_MEASURED, UNKNOWN, FactValue
from direkt.triage.model import Finding, QuestionKind, Text
from direkt.triage.session import DONT_KNOW, NONE, NOT_MEASURED_ID, SKIP, YES, Answer, Asked

MAX_TEXT = 2000
PHOTO_REF = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def validate_answer(asked: Asked, value: object) -> Answer:
    """The answer in canonical form, or InvalidAnswer saying what is wrong."""
    kind = asked.kind
    if kind is QuestionKind.CHECKLIST:
        return _many_options(asked, value)
    if kind.has_options:
        return _one_option(asked, value)
    if kind is QuestionKind.NUMBER:
        return _number(asked, value)
    if kind is QuestionKind.TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise InvalidAnswer(f"{asked.id}: expected text of at most {MAX_TEXT} characters")
        return value
    if not isinstance(value, str) or not (value == SKIP or PHOTO_REF.match(value)):
        raise InvalidAnswer(f"{asked.id}: expected a photo reference or 'skip'")
    return value


def _one_option(asked: Asked, value: object) -> str:
    ids = [o.id for o in asked.options]
    if not isinstance(value, str) or value not in ids:
        raise InvalidAnswer(f"{asked.id}: unknown option {str(value)[:40]!r}; choose one of {ids}")
    return value


def _many_options(asked: Asked, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidAnswer(
            f"{asked.id}: choose one or more options",
            {"sv": "Välj det som stämmer, eller Inget av detta.", "en": "Choose what applies, or None of these."},
        )
    chosen = tuple(_one_option(asked, v) for v in value)
    if len(set(chosen)) != len(chosen):
        raise InvalidAnswer(f"{asked.id}: an option was chosen twice")
    if NONE in chosen and len(chosen) > 1:
        raise InvalidAnswer(
            f"{asked.id}: 'none' cannot be combined with other options",
            {"sv": "Inget av detta kan inte väljas tillsammans med något annat.",
             "en": "None of these cannot be chosen together with anything else."},
        )  # fmt: skip
    if chosen == (NONE,):
        return (NONE,)
    return tuple(o.id for o in asked.options if o.id in chosen)  # knowledge-base order


def _number(asked: Asked, value: object) -> float | str:
    if asked.skip is not None and value == asked.skip.id:
        return asked.skip.id
    finding = asked.finding
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value) or finding is None:
        raise InvalidAnswer(
            f"{asked.id}: expected a number",
            {"sv": "Skriv ett tal.", "en": "Enter a number."},
        )
    if finding.integer and value != int(value):
        unit = finding.unit or Text("", "")
        raise InvalidAnswer(
            f"{asked.id}: expected whole {unit.en}",
            {"sv": f"Skriv ett helt antal {unit.sv}.", "en": f"Enter a whole number of {unit.en}."},
        )
    low, high = finding.low, finding.high
    if (low is not None and value < low) or (high is not None and value > high):
        raise implausible(finding, value)
    return float(value)


def implausible(finding: Finding, value: float) -> InvalidAnswer:
    """The error for a number outside the finding's plausible range: say the range, ask again."""
    unit = finding.unit or Text("", "")
    low, high = f"{finding.low:g}", f"{finding.high:g}"
    return InvalidAnswer(
        f"{finding.id}: {value:g} is not a plausible value; expected {low}–{high} {unit.en}".strip(),
        {
            "sv": f"{value:g} {unit.sv} verkar inte stämma för {finding.staff.sv.lower()}. "
            f"Skriv ett värde mellan {low} och {high} {unit.sv}.".replace("  ", " "),
            "en": f"{value:g} {unit.en} does not look right for {finding.staff.en.lower()}. "
            f"Enter a value between {low} and {high} {unit.en}.".replace("  ", " "),
        },
    )


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def facts_of(asked: Asked, value: Answer) -> dict[str, FactValue]:
    """The findings an answer sets."""
    kind = asked.kind
    if kind is QuestionKind.CHECKLIST:
        chosen = set(value) if isinstance(value, tuple) else set()
        return {f: f in chosen for f in asked.asks}
    if asked.finding is None:
        return {}
    finding_id = asked.finding.id
    if value == DONT_KNOW:
        return {finding_id: UNKNOWN}
    if value == NOT_MEASURED_ID:
        return {finding_id: NOT_MEASURED}
    if kind is QuestionKind.YESNO:
        return {finding_id: value == YES}
    if isinstance(value, tuple):
        raise InvalidAnswer(f"{asked.id}: one value, not several")
    return {finding_id: value}  # a choice's value id, or a number


def answer_text(asked: Asked, value: Answer) -> Text:
    """An answer in the patient's words: the options chosen, the number with its unit, or the text."""
    if isinstance(value, float):
        unit = asked.finding.unit if asked.finding and asked.finding.unit else Text("", "")
        return Text(f"{value:g} {unit.sv}".strip(), f"{value:g} {unit.en}".strip())
    if asked.kind is QuestionKind.TEXT or (asked.kind is QuestionKind.PHOTO and value != SKIP):
        return Text(str(value), str(value))
    chosen = (value,) if isinstance(value, str) else value
    options = [*asked.options, *([asked.skip] if asked.skip else [])]
    texts = [o.text for o in options if o.id in chosen] or [Text("–", "–")]
    return Text(
        ", ".join(t.sv for t in texts),
        ", ".join(t.en for t in texts),
        ", ".join(t.sv_child or t.sv for t in texts) if any(t.sv_child for t in texts) else None,
        ", ".join(t.en_child or t.en for t in texts) if any(t.en_child for t in texts) else None,
    )
