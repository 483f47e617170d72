"""A staff member's availability lasts one shift: pure rules over the stored form."""

from __future__ import annotations

import pytest

from direkt.server.care.availability import SHIFT_MS, Availability, parse_availability, read_stored, stored
from direkt.server.errors import BadRequest

NOW = 1_780_000_000_000


@pytest.mark.parametrize("value", list(Availability))
def test_a_setting_holds_through_the_shift(value: Availability) -> None:
    raw = stored(value, NOW).encode()
    assert read_stored(raw, NOW) is value
    assert read_stored(raw, NOW + SHIFT_MS) is value


def test_away_set_yesterday_does_not_greet_the_nurse_this_morning() -> None:
    assert read_stored(stored(Availability.AWAY, NOW), NOW + SHIFT_MS + 1) is Availability.AVAILABLE


@pytest.mark.parametrize("raw", [None, b"", b"away", b"away:", b"away:soon", b"asleep:1780000000000", "paused:-5"])
def test_unset_unreadable_or_unknown_settings_mean_available(raw: bytes | str | None) -> None:
    assert read_stored(raw, NOW) is Availability.AVAILABLE


def test_only_the_three_values_are_accepted() -> None:
    assert parse_availability("paused") is Availability.PAUSED
    with pytest.raises(BadRequest, match="available, paused, away"):
        parse_availability("asleep")
