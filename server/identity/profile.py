"""A citizen's profile from the e-ID: the name to greet and show, and the mobile number for notices.

Pure. Names come from the identity claims of the e-ID broker (OIDC Core 5.1:
``given_name``, ``family_name``, ``name``; the Swedish OIDC profile releases the
same), then from the region's demo file, then a neutral "Invånare" with no
first name (never an invented person's name: a template greets "Hej!" rather
than "Hej Testperson!").

Mobile numbers are Swedish mobiles in E.164 (``+467XXXXXXXX``); people write them
as ``070-123 45 67``, ``0701234567`` or ``+46 70 123 45 67``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from direkt.server.care.notices import SWEDISH_MOBILE
from direkt.server.errors import BadRequest

NEUTRAL_NAME = "Invånare"
NAME_MAX = 100


def clean_name(value: Any) -> str:
    """A claimed name part as text to show: a string, control characters out, spaces collapsed, bounded."""
    if not isinstance(value, str):
        return ""
    kept = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    return " ".join(kept.split())[:NAME_MAX]


def names_from_claims(claims: Mapping[str, Any]) -> tuple[str, str]:
    """The full name and the first name the claims release, or ``("", "")``.

    ``given_name`` with ``family_name`` wins over ``name`` (the Swedish profile
    releases all three; some brokers only ``name``).
    """
    given, family, full = (clean_name(claims.get(k)) for k in ("given_name", "family_name", "name"))
    if given or family:
        return " ".join(p for p in (given, family) if p), given or ""
    if full:
        return full, full.split()[0]
    return "", ""


def citizen_names(claims: Mapping[str, Any], listed_name: str | None) -> tuple[str, str]:
    """The name to show and the first name to greet: the claims', else the demo file's, else neutral."""
    name, given = names_from_claims(claims)
    if name:
        return name, given
    if listed_name and listed_name.strip():
        return listed_name, listed_name.split()[0]
    return NEUTRAL_NAME, ""


def mobile_e164(written: str) -> str | None:
    """A Swedish mobile number as E.164, or None when ``written`` is not one.

    Accepts spaces, hyphens and parentheses, a leading ``0``, ``+46`` or ``0046``.
    """
    if len(written) > 32:
        return None
    digits = re.sub(r"[\s\-()]", "", written)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+46" + digits[1:]
    return digits if SWEDISH_MOBILE.fullmatch(digits) else None


def masked_mobile(e164: str) -> str:
    """The number with its middle hidden, ``+46 70 *** ** 67`` (for texts that need not show all of it)."""
    return f"{e164[:3]} {e164[3:5]} *** ** {e164[-2:]}" if len(e164) == 12 else ""


def claimed_mobile(claims: Mapping[str, Any]) -> str:
    """The ``phone_number`` claim as E.164 when it is a Swedish mobile (OIDC Core 5.1), else ``""``."""
    value = claims.get("phone_number")
    return (mobile_e164(value) or "") if isinstance(value, str) else ""


def notice_phone(written: str, consent: bool) -> str:
    """The number to send "your chat is ready" to, as E.164; ``""`` when none was given or consent was not.

    Raises:
        BadRequest: consent was given with a number that is not a Swedish mobile number.
    """
    if not consent or not written.strip():
        return ""
    number = mobile_e164(written)
    if number is None:
        raise BadRequest("the phone number is not a Swedish mobile number (07X-XXX XX XX or +467XXXXXXXX)")
    return number
