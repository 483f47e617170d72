"""Swedish personal identity numbers (personnummer) and coordination numbers
(samordningsnummer): parsing, validation, birth date and age.

Pure: the caller passes ``today``; the only file read is the packaged list of
Skatteverket's published test numbers (``is_test_number``).

Rules (folkbokföringslagen 18 and 18 a §§; Skatteverket's brochure SKV 704):

- The number is ``YYMMDD-NNNC``: birth date, a three-digit birth number and a
  check digit, the Luhn digit computed over the ten-digit form.
- The short forms carry no century. From the year a person turns 100 the
  separator ``-`` becomes ``+``, so ``-`` (or no separator) means "born within
  the last 99 calendar years" and ``+`` means "born 100 or more calendar years
  ago"; the century is the latest one that fits.
- A coordination number is built the same way with 60 added to the day.

Error messages name the problem and never repeat the number (DESIGN privacy
rule: no personal identity numbers in logs or error frames).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from direkt.server.errors import BadRequest

# YYMMDD or YYYYMMDD, an optional separator, NNNC; surrounding whitespace is stripped first.
_SHAPE = re.compile(r"(?P<date>[0-9]{6}|[0-9]{8})(?P<sep>[-+]?)(?P<tail>[0-9]{4})")
_COORDINATION_OFFSET = 60
_CENTENARIAN_YEARS = 100
TEST_NUMBERS_PACKAGE = "direkt.server.data"
TEST_NUMBERS_FILE = "test_personnummer.txt"

WRONG_SHAPE = "expected 10 or 12 digits (YYMMDD-NNNC or YYYYMMDD-NNNC)"
PLUS_WITH_CENTURY = "a plus sign is only used in the 10-digit form; the 12-digit form carries the century"
NOT_A_DATE = "the birth date part is not a date"
IN_THE_FUTURE = "the birth date is in the future"
BAD_CHECK_DIGIT = "the check digit does not match"


@dataclass(frozen=True)
class Personnummer:
    """A valid personal identity or coordination number, canonically ``YYYYMMDDNNNC``.

    ``repr`` and ``str`` show only the masked form, so the number cannot leak
    into a log line or traceback by accident; use ``formatted`` or ``digits``
    where the number itself is needed.
    """

    digits: str

    def __post_init__(self) -> None:
        if len(self.digits) != 12 or not self.digits.isascii() or not self.digits.isdigit():
            raise BadRequest(WRONG_SHAPE)
        _birth_date(self.digits)
        if luhn_digit(self.digits[2:11]) != int(self.digits[11]):
            raise BadRequest(BAD_CHECK_DIGIT)

    def __repr__(self) -> str:
        return f"Personnummer({self.masked})"

    __str__ = __repr__

    @classmethod
    def parse(cls, text: str, *, today: datetime.date) -> Personnummer:
        """Parse any common written form.

        Args:
            text: ``YYMMDDNNNC``, ``YYMMDD-NNNC``, ``YYMMDD+NNNC``, ``YYYYMMDDNNNC``
                or ``YYYYMMDD-NNNC``; surrounding whitespace is ignored.
            today: the reference date for the century of the short forms and
                for refusing birth dates in the future.

        Returns:
            The number in canonical 12-digit form.

        Raises:
            BadRequest: wrong shape, not a date, a date in the future, or a
                check digit that does not match. The message never contains
                the number.
        """
        match = _SHAPE.fullmatch(text.strip())
        if match is None:
            raise BadRequest(WRONG_SHAPE)
        date, sep, tail = match["date"], match["sep"], match["tail"]
        if len(date) == 8 and sep == "+":
            raise BadRequest(PLUS_WITH_CENTURY)
        if len(date) == 6:
            date = f"{_century_year(date, sep, today):04d}{date[2:]}"
        pnr = cls(date + tail)
        if pnr.birth_date > today:
            raise BadRequest(IN_THE_FUTURE)
        return pnr

    @property
    def birth_date(self) -> datetime.date:
        """The date of birth (for a coordination number, the day less 60)."""
        return _birth_date(self.digits)

    @property
    def is_coordination_number(self) -> bool:
        """True for a samordningsnummer (day of month plus 60)."""
        return int(self.digits[6:8]) > _COORDINATION_OFFSET

    @property
    def formatted(self) -> str:
        """``YYYYMMDD-NNNC``, the form shown to staff."""
        return f"{self.digits[:8]}-{self.digits[8:]}"

    @property
    def masked(self) -> str:
        """``YYYYMMDD-****``: enough to tell two patients apart on screen, not to identify one."""
        return f"{self.digits[:8]}-****"

    def age_on(self, day: datetime.date) -> int:
        """Age in full years on ``day``.

        Someone born on 29 February turns a year older on 1 March in common years.

        Args:
            day: the date to compute the age on.

        Returns:
            Completed years; negative if ``day`` is before the birth date.
        """
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def luhn_digit(nine_digits: str) -> int:
    """The Luhn check digit for ``YYMMDDNNN`` (weights 2, 1, 2, ... from the left).

    Args:
        nine_digits: the ten-digit form without its check digit.

    Returns:
        The check digit, 0 to 9.
    """
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 - index % 2)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def is_test_number(pnr: Personnummer) -> bool:
    """True if ``pnr`` is in the bundled subset of Skatteverket's published test numbers.

    Args:
        pnr: a parsed number.

    Returns:
        Whether the number is one of the bundled test personal identity numbers,
        which Skatteverket never assigns to a real person.
    """
    return pnr.digits in _test_numbers()


def test_numbers() -> list[str]:
    """The bundled test numbers, sorted (demo data picks patients from them)."""
    return sorted(_test_numbers())


@cache
def _test_numbers() -> frozenset[str]:
    text = resources.files(TEST_NUMBERS_PACKAGE).joinpath(TEST_NUMBERS_FILE).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _century_year(yymmdd: str, sep: str, today: datetime.date) -> int:
    """The full birth year of a short form, per the separator rule in the module docstring."""
    newest = today.year - (_CENTENARIAN_YEARS if sep == "+" else 0)
    return newest - (newest - int(yymmdd[:2])) % 100


def _birth_date(digits: str) -> datetime.date:
    day = int(digits[6:8])
    if day > _COORDINATION_OFFSET:
        day -= _COORDINATION_OFFSET
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), day)
    except ValueError:
        raise BadRequest(NOT_A_DATE) from None
