"""The pure parts of the framed chat's pop-up login (server/identity/embedlogin.py)."""

from __future__ import annotations

import secrets

import pytest

from direkt.server.identity.embedlogin import digest, same_binding, well_formed


def test_what_we_mint_is_well_formed() -> None:
    for size in (18, 24, 48):
        assert well_formed(secrets.token_urlsafe(size))


@pytest.mark.parametrize("value", ["", "short", "x" * 65, "has space in it here", "../../../../etc/passwd", "ä" * 20])
def test_anything_else_is_not(value: str) -> None:
    assert not well_formed(value)


def test_a_binding_matches_only_its_own_hash() -> None:
    binding = secrets.token_urlsafe(24)
    assert same_binding(digest(binding), binding)
    assert not same_binding(digest(binding), secrets.token_urlsafe(24))
    assert not same_binding(digest(binding), "")
    assert not same_binding(digest(binding), binding + " ")
