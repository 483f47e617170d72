"""The hash an unknown user's password is checked against costs what a real one costs."""

from __future__ import annotations

from argon2 import PasswordHasher

from direkt.server.identity.auth import DUMMY_HASH


def test_the_dummy_hash_has_the_parameters_real_hashes_get() -> None:
    hasher = PasswordHasher()
    # Same memory, time and parallelism as a hash made now: equal verifying time, so a login
    # does not tell whether the user name exists. Regenerate the constant if this fails.
    assert not hasher.check_needs_rehash(DUMMY_HASH)
    assert hasher.verify(DUMMY_HASH, "not-a-password")
