"""TOML into typed specs, as ``msgspec.toml.decode`` does, with a compiled parser.

The knowledge base is about 140 TOML files (1.9 MB). The standard library's
``tomllib``, which ``msgspec.toml`` uses, is pure Python: reading them took
0.43 s of every server start and every tool that loads the knowledge base.
``rtoml`` (Rust) gives the same documents, equal for every file in the
knowledge base, in 0.04 s; msgspec then converts and validates them exactly
as ``msgspec.toml.decode`` would.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import msgspec
import rtoml

T = TypeVar("T")


def decode(raw: bytes, kind: type[T]) -> T:
    """``raw`` (UTF-8 TOML) as a ``kind``.

    Raises:
        msgspec.DecodeError: not UTF-8, or not TOML.
        msgspec.ValidationError: TOML that does not fit ``kind``.
    """
    try:
        document = rtoml.loads(raw.decode())
    except (rtoml.TomlParsingError, UnicodeDecodeError) as exc:
        raise msgspec.DecodeError(str(exc)) from None
    return msgspec.convert(document, kind, builtin_types=(dt.datetime, dt.date, dt.time), str_keys=True)
