"""A citizen's profile from the e-ID, pure: names from claims, Swedish mobile numbers, consent."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from direkt.server.care.templates import fill
from direkt.server.errors import BadRequest
from direkt.server.identity.profile import (
    NEUTRAL_NAME,
    citizen_names,
    claimed_mobile,
    clean_name,
    mobile_e164,
    names_from_claims,
    notice_phone,
)


@pytest.mark.parametrize(
    ("claims", "listed", "names"),
    [
        ({"given_name": "Saga", "family_name": "Lindqvist"}, None, ("Saga Lindqvist", "Saga")),
        (
            {"given_name": "Saga", "family_name": "Lindqvist", "name": "S. L."},
            "Erik Nilsson",
            ("Saga Lindqvist", "Saga"),
        ),
        ({"name": "Anna-Karin  Ek"}, None, ("Anna-Karin Ek", "Anna-Karin")),
        ({"family_name": "Ek"}, None, ("Ek", "")),
        ({}, "Erik Nilsson", ("Erik Nilsson", "Erik")),
        ({"given_name": 7, "name": ["x"]}, None, (NEUTRAL_NAME, "")),
        ({"name": "\u0000\u200b  "}, None, (NEUTRAL_NAME, "")),
        ({}, None, (NEUTRAL_NAME, "")),
    ],
)
def test_names_come_from_the_claims_then_the_demo_file_then_neutral(
    claims: dict[str, Any], listed: str | None, names: tuple[str, str]
) -> None:
    assert citizen_names(claims, listed) == names


def test_a_claimed_name_is_bounded_and_has_no_control_characters() -> None:
    assert clean_name("Saga\nLind\tqvist\x1b[31m") == "SagaLindqvist[31m"
    assert len(names_from_claims({"name": "A" * 10_000})[0]) == 100


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("0046 (73) 123 45 67", "+46731234567"),
        ("+46761234567", "+46761234567"),
        ("08-123 456 78", None),  # a landline
        ("+4712345678", None),  # Norway
        ("0741234567", None),  # not a mobile series
        ("070123456", None),
        ("07012345678", None),
        ("", None),
        ("+46701234567" + " " * 40, None),
    ],
)
def test_swedish_mobile_numbers_as_people_write_them(written: str, e164: str | None) -> None:
    assert mobile_e164(written) == e164


@given(st.text(max_size=40))
def test_any_text_is_a_mobile_number_or_none_never_an_error(written: str) -> None:
    found = mobile_e164(written)
    assert found is None or (found.startswith("+467") and len(found) == 12)


def test_no_consent_no_number() -> None:
    assert notice_phone("0701234567", consent=False) == ""
    assert notice_phone("", consent=True) == ""
    assert notice_phone("0701234567", consent=True) == "+46701234567"
    with pytest.raises(BadRequest):
        notice_phone("08-123 456 78", consent=True)


def test_a_phone_number_claim_counts_only_as_a_swedish_mobile() -> None:
    assert claimed_mobile({"phone_number": "+46701234567"}) == "+46701234567"
    assert claimed_mobile({"phone_number": "+4712345678"}) == ""
    assert claimed_mobile({"phone_number": 46701234567}) == ""


def test_a_template_without_a_first_name_greets_without_a_gap() -> None:
    values = {"first_name": "", "unit": "Testby vårdcentral", "nurse_name": "Nora"}
    assert fill("Hej {first_name}! Jag heter {nurse_name}.", values) == "Hej! Jag heter Nora."
    assert fill("Hej {first_name}, välkommen.", values) == "Hej, välkommen."
    assert fill("Hej {first_name}!", values | {"first_name": "Saga"}) == "Hej Saga!"
