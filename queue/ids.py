"""Case ids: ``<region>.<ULID>``, sortable by creation time.

Time and randomness are parameters (STYLE): the shell passes ``time`` and
``os.urandom``. Sorting ids sorts cases by submission, which is the tie-break
between cases with the same deadline.
"""

from __future__ import annotations

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(now_ms: int, entropy: bytes) -> str:
    """A 26-character ULID from a millisecond timestamp and 10 random bytes."""
    if len(entropy) != 10:
        raise ValueError("a ULID needs exactly 10 bytes of entropy")
    value = (now_ms & ((1 << 48) - 1)) << 80 | int.from_bytes(entropy, "big")
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_case_id(region: str, now_ms: int, entropy: bytes) -> str:
    return f"{region}.{ulid(now_ms, entropy)}"


def ulid_ms(value: str) -> int:
    """The millisecond timestamp a ULID was made with (its first ten characters).

    Raises:
        ValueError: ``value`` is not a 26-character Crockford ULID.
    """
    if len(value) != 26:
        raise ValueError("a ULID has 26 characters")
    stamp = 0
    for char in value[:10].upper():
        digit = _CROCKFORD.find(char)
        if digit < 0:
            raise ValueError("not a Crockford base-32 character")
        stamp = stamp * 32 + digit
    return stamp
