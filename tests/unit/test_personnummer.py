"""Personal identity numbers: the written forms people type, the century of the
short forms, dates (leap days, coordination numbers), the check digit, ages, and
the bundled Skatteverket test numbers.

Valid examples are Skatteverket test numbers where possible (never a real
person's number); 19121212-1212 is "Tolvan Tolvansson", the test patient of
Swedish healthcare, and is not in Skatteverket's list.
"""

from __future__ import annotations

import datetime
import re
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from direkt.server.errors import BadRequest
from direkt.server.identity.personnummer import (
    BAD_CHECK_DIGIT,
    IN_THE_FUTURE,
    NOT_A_DATE,
    PLUS_WITH_CENTURY,
    WRONG_SHAPE,
    Personnummer,
    is_test_number,
    luhn_digit,
)

TODAY = datetime.date(2026, 3, 15)


def parse(text: str, today: datetime.date = TODAY) -> Personnummer:
    return Personnummer.parse(text, today=today)


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("202301012395", "202301012395"),  # 12 digits
        ("20230101-2395", "202301012395"),  # 13 characters
        ("2301012395", "202301012395"),  # 10 digits: 2023 is not in the future
        ("230101-2395", "202301012395"),  # 11 characters
        ("  230101-2395\n", "202301012395"),  # surrounding whitespace
        ("\t20230101-2395 ", "202301012395"),
        ("530101-0350", "195301010350"),  # 2053 would be in the future
        ("5301010350", "195301010350"),
        ("240101-9183", "202401019183"),  # "-": born within the last 99 calendar years
        ("240101+9183", "192401019183"),  # "+": 100 or older
        ("230101+2395", "192301012395"),  # the check digit does not depend on the century
        ("101231+9800", "191012319800"),
        ("900101+9802", "189001019802"),  # still "+" at 136, the latest century that fits
        ("19121212-1212", "191212121212"),
        ("121212+1212", "191212121212"),
        ("121212-1212", "201212121212"),
    ],
)
def test_valid_forms_give_the_canonical_twelve_digits(text: str, digits: str) -> None:
    assert parse(text).digits == digits


@pytest.mark.parametrize(
    ("text", "birth_year"),
    [
        ("260301-1236", 2026),  # born earlier this month
        ("260301+1236", 1926),  # turns 100 this year: "+" since 1 January
        ("260401+1235", 1926),
        ("270101-1237", 1927),  # turns 99 this year, still "-"
        ("270101+1237", 1827),
        ("000229-2381", 2000),
    ],
)
def test_century_of_short_forms_follows_the_separator(text: str, birth_year: int) -> None:
    assert parse(text).birth_date.year == birth_year


def test_the_same_short_form_moves_century_as_today_moves() -> None:
    assert parse("270101-1237", today=datetime.date(2026, 12, 31)).birth_date.year == 1927
    assert parse("270101+1237", today=datetime.date(2027, 1, 1)).birth_date.year == 1927
    assert parse("270101-1237", today=datetime.date(2027, 1, 1)).birth_date.year == 2027


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", WRONG_SHAPE),
        ("   ", WRONG_SHAPE),
        ("230101239", WRONG_SHAPE),  # 9 digits
        ("23010123955", WRONG_SHAPE),  # 11 digits
        ("2023010123955", WRONG_SHAPE),  # 13 digits
        ("20230101-239", WRONG_SHAPE),
        ("2023-01-01-2395", WRONG_SHAPE),
        ("230101--2395", WRONG_SHAPE),
        ("230101/2395", WRONG_SHAPE),
        ("230101 2395", WRONG_SHAPE),
        ("2301-012395", WRONG_SHAPE),
        ("ABCDEF-GHIJ", WRONG_SHAPE),
        ("\uff12\uff13\uff10\uff11\uff10\uff11\uff12\uff13\uff19\uff15", WRONG_SHAPE),  # full-width digits
        ("20230101+2395", PLUS_WITH_CENTURY),
        ("230231-2380", NOT_A_DATE),
        ("20231301-2385", NOT_A_DATE),
        ("20230100-2385", NOT_A_DATE),
        ("190229-2387", NOT_A_DATE),  # 2019 is not a leap year
        ("000229+2381", NOT_A_DATE),  # 1900 was not a leap year (2000 was)
        ("19000229-2381", NOT_A_DATE),
        ("100160-2380", NOT_A_DATE),  # coordination day 60 would be day 0
        ("100192-2382", NOT_A_DATE),  # coordination day 92 would be 32 January
        ("260401-1235", IN_THE_FUTURE),  # "-" cannot mean 1926: that person would write "+"
        ("20260316-1239", IN_THE_FUTURE),
        ("202301012396", BAD_CHECK_DIGIT),
        ("230101-2394", BAD_CHECK_DIGIT),
        ("19121212-1213", BAD_CHECK_DIGIT),
        ("230110-2395", BAD_CHECK_DIGIT),  # swapped digits
    ],
)
def test_invalid_numbers_are_refused_with_a_precise_message(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(text)
    assert caught.value.message == message
    assert caught.value.code == "bad_request"


@pytest.mark.parametrize(
    "text",
    ["202301012396", "230101-2394", "230231-2380", "20230101+2395", "260401-1235", "2301012395999", "19121212-1213"],
)
def test_error_messages_never_contain_the_number(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse(text)
    shown = f"{caught.value} {caught.value.message!r} {caught.value.args!r}"
    for run in re.findall(r"[0-9]{4,}", text):
        assert run not in shown
        for start in range(len(run) - 3):
            assert run[start : start + 4] not in shown


def test_message_wording_is_plain() -> None:
    assert "expected 10 or 12 digits" in WRONG_SHAPE
    assert "not a date" in NOT_A_DATE
    assert BAD_CHECK_DIGIT == "the check digit does not match"


def test_coordination_number_birth_date_is_day_minus_sixty() -> None:
    pnr = parse("20100161-2389")
    assert pnr.is_coordination_number
    assert pnr.birth_date == datetime.date(2010, 1, 1)
    assert pnr.formatted == "20100161-2389"  # the number keeps its day + 60
    assert parse("1001612389").digits == "201001612389"
    assert not parse("20100101-2382").is_coordination_number


def test_leap_days() -> None:
    assert parse("20200229-2387").birth_date == datetime.date(2020, 2, 29)
    assert parse("200229-2387").birth_date == datetime.date(2020, 2, 29)
    assert parse("20000229-2381").birth_date == datetime.date(2000, 2, 29)
    assert parse("200289-2384").birth_date == datetime.date(2020, 2, 29)  # coordination, 29 + 60


@pytest.mark.parametrize(
    ("text", "day", "age"),
    [
        ("20230101-2395", datetime.date(2023, 1, 1), 0),
        ("20230101-2395", datetime.date(2025, 12, 31), 2),
        ("20230101-2395", datetime.date(2026, 1, 1), 3),  # on the birthday
        ("20200229-2387", datetime.date(2024, 2, 28), 3),
        ("20200229-2387", datetime.date(2024, 2, 29), 4),
        ("20200229-2387", datetime.date(2025, 2, 28), 4),
        ("20200229-2387", datetime.date(2025, 3, 1), 5),  # 1 March in a common year
        ("20100161-2389", datetime.date(2025, 12, 31), 15),  # coordination: born 1 January 2010
        ("20100161-2389", datetime.date(2026, 1, 1), 16),
        ("19121212-1212", datetime.date(2026, 3, 15), 113),
        ("19530101-0350", datetime.date(2018, 12, 31), 65),
        ("19530101-0350", datetime.date(2019, 1, 1), 66),
    ],
)
def test_age_in_full_years(text: str, day: datetime.date, age: int) -> None:
    assert parse(text).age_on(day) == age


def test_formatted_and_masked() -> None:
    pnr = parse("2301012395")
    assert pnr.formatted == "20230101-2395"
    assert pnr.masked == "20230101-****"


def test_repr_and_str_show_only_the_masked_form() -> None:
    pnr = parse("20230101-2395")
    for shown in (repr(pnr), str(pnr), f"{pnr}", repr([pnr])):
        assert "2395" not in shown
        assert "20230101-****" in shown


def test_direct_construction_validates() -> None:
    assert Personnummer("202301012395") == parse("230101-2395")
    for digits, message in [
        ("20230101239", WRONG_SHAPE),
        ("202301322385", NOT_A_DATE),
        ("202301012396", BAD_CHECK_DIGIT),
    ]:
        with pytest.raises(BadRequest) as caught:
            Personnummer(digits)
        assert caught.value.message == message


def test_luhn_digit_of_the_commonly_cited_worked_example() -> None:
    assert luhn_digit("811218987") == 6  # 811218-9876


@st.composite
def numbers(draw: st.DrawFn) -> tuple[datetime.date, str]:
    born = draw(st.dates(min_value=datetime.date(1850, 1, 1), max_value=TODAY))
    day = born.day + (60 if draw(st.booleans()) else 0)
    nine = f"{born:%y%m}{day:02d}{draw(st.integers(0, 999)):03d}"
    return born, f"{born.year // 100:02d}{nine}{luhn_digit(nine)}"


@given(numbers())
def test_any_valid_number_round_trips(number: tuple[datetime.date, str]) -> None:
    born, digits = number
    pnr = Personnummer(digits)
    assert pnr.birth_date == born
    assert parse(pnr.formatted) == pnr
    assert parse(pnr.digits) == pnr
    separator = "+" if TODAY.year - born.year >= 100 else "-"
    assert parse(f"{digits[2:8]}{separator}{digits[8:]}") == pnr


@given(numbers(), st.integers(1, 9))
def test_any_other_check_digit_is_refused(number: tuple[datetime.date, str], shift: int) -> None:
    _, digits = number
    wrong = f"{digits[:8]}-{digits[8:11]}{(int(digits[11]) + shift) % 10}"
    with pytest.raises(BadRequest) as caught:
        parse(wrong)
    assert caught.value.message == BAD_CHECK_DIGIT


@pytest.mark.parametrize(
    "text",
    [
        "20230101-2395",
        "221231-2397",
        "20200229-2387",
        "20150101-2395",
        "20100101-2382",
        "19530101-0350",
        "19200101-1564",
    ],
)
def test_listed_test_numbers_are_recognised(text: str) -> None:
    assert is_test_number(parse(text))


def test_a_valid_unlisted_number_is_not_a_test_number() -> None:
    assert not is_test_number(parse("19121212-1212"))
    # Same ten digits as the listed 20230101-2395, a century earlier.
    assert not is_test_number(parse("230101+2395"))


def bundled() -> list[str]:
    text = resources.files("direkt.server.data").joinpath("test_personnummer.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_bundled_list_is_valid_and_spans_the_age_groups() -> None:
    lines = bundled()
    assert len(lines) >= 300
    assert len(set(lines)) == len(lines)
    ages = {parse(line).age_on(TODAY) for line in lines}
    assert all(is_test_number(parse(line)) for line in lines)
    assert ages & set(range(2, 13)), "children"
    assert set(range(13, 24)) <= ages, "every age 13-23 (youth clinics)"
    assert ages & set(range(24, 65)), "adults"
    assert ages & set(range(65, 100)), "elderly"
    assert max(ages) >= 100, "centenarians, written with +"
    assert min(ages) <= 3
