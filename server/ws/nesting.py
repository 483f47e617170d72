"""How deeply a frame nests, found before it is decoded: pure, bytes or text in, a problem out.

msgspec recurses once per level of nesting and its only guard is Python's
recursion limit: a frame of a thousand nested arrays raised ``RecursionError``
from the decoder, which no handler expected, and the socket died without a
close frame (issue 19). msgspec will not add a depth option (the maintainers
declined one, msgspec#1033); so the hub's codec scans first and refuses deep
frames with ``bad_frame``.

Every client frame is one flat map of scalars (``docs/protocol.md`` §2), so a
depth of one is all a good frame needs; ``MAX_NESTING`` leaves room for the
decoder's own precise errors on frames that are only a little wrong.

Both scans are cheap for what clients send. A frame with few opening brackets
(JSON) or few container headers (msgpack) cannot nest deeper than their count,
and nothing more is done. Only frames with more of them are scanned exactly,
in C-speed passes for JSON and, for msgpack, a walk of at most ``MAX_VALUES``
headers (strings and binaries are stepped over by their length).
"""

from __future__ import annotations

import re

MAX_NESTING = 16
MAX_VALUES = 512  # values a msgpack frame may hold before its walk stops (a good frame holds about 15)

TOO_DEEP = f"the frame nests deeper than {MAX_NESTING} levels"
TOO_DEEP_OR_UNBALANCED = f"the frame nests deeper than {MAX_NESTING} levels or its brackets do not match"
TOO_MANY = f"the frame holds more than {MAX_VALUES} values"


def nesting_problem(data: bytes | str) -> str | None:
    """Why ``data`` (a msgpack frame as bytes, a JSON frame as text) nests too deeply to decode.

    Returns:
        None when the decoder may be given the frame, else a reason for a ``bad_frame`` error.
    """
    return json_nesting_problem(data) if isinstance(data, str) else msgpack_nesting_problem(data)


# -- JSON ------------------------------------------------------------------------------------

# A string, up to its closing quote or, unterminated, to the end: a match from every
# quote keeps the scan linear (a pattern that can fail backtracks once per quote).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"[\[{][\]}]")


def json_nesting_problem(text: str) -> str | None:
    """None when ``text`` nests at most MAX_NESTING levels (brackets outside strings)."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return None
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    # Each pass takes away the innermost pairs, one level; a deep or unbalanced
    # frame still has brackets after MAX_NESTING passes.
    for _ in range(MAX_NESTING):
        brackets, removed = _INNERMOST_PAIR.subn("", brackets)
        if not brackets:
            return None
        if not removed:
            break
    return TOO_DEEP_OR_UNBALANCED


# -- msgpack ---------------------------------------------------------------------------------

_CONTAINER_HEADS = bytes([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])  # fixmap, fixarray, array16/32, map16/32
_NOT_CONTAINER_HEADS = bytes(b for b in range(256) if b not in _CONTAINER_HEADS)

# Type byte -> (size of its big-endian length or count, fixed bytes after that, what the length counts).
_BYTES, _ITEMS, _PAIRS, _FIXED = "bytes", "items", "pairs", "fixed"
_SIZED: dict[int, tuple[int, int, str]] = {
    0xC4: (1, 0, _BYTES), 0xC5: (2, 0, _BYTES), 0xC6: (4, 0, _BYTES),  # bin
    0xC7: (1, 1, _BYTES), 0xC8: (2, 1, _BYTES), 0xC9: (4, 1, _BYTES),  # ext (one type byte)
    0xCA: (0, 4, _FIXED), 0xCB: (0, 8, _FIXED),  # float
    0xCC: (0, 1, _FIXED), 0xCD: (0, 2, _FIXED), 0xCE: (0, 4, _FIXED), 0xCF: (0, 8, _FIXED),  # uint
    0xD0: (0, 1, _FIXED), 0xD1: (0, 2, _FIXED), 0xD2: (0, 4, _FIXED), 0xD3: (0, 8, _FIXED),  # int
    0xD4: (0, 2, _FIXED), 0xD5: (0, 3, _FIXED), 0xD6: (0, 5, _FIXED), 0xD7: (0, 9, _FIXED), 0xD8: (0, 17, _FIXED),
    0xD9: (1, 0, _BYTES), 0xDA: (2, 0, _BYTES), 0xDB: (4, 0, _BYTES),  # str
    0xDC: (2, 0, _ITEMS), 0xDD: (4, 0, _ITEMS),  # array
    0xDE: (2, 0, _PAIRS), 0xDF: (4, 0, _PAIRS),  # map
}  # fmt: skip


def msgpack_nesting_problem(data: bytes) -> str | None:
    """None when ``data`` nests at most MAX_NESTING levels (or cannot be walked: the decoder refuses it)."""
    if len(data.translate(None, _NOT_CONTAINER_HEADS)) <= MAX_NESTING:
        return None
    pending = [1]  # values still to read at each open level; the frame itself is one value
    pos = values = 0
    while pending:
        if pending[-1] == 0:
            pending.pop()
            continue
        if pos >= len(data):
            return None  # truncated within its first MAX_NESTING levels: the decoder says so
        pending[-1] -= 1
        values += 1
        if values > MAX_VALUES:
            return TOO_MANY
        pos, inside = _step(data, pos)
        if inside:
            if len(pending) > MAX_NESTING:
                return TOO_DEEP
            pending.append(inside)
    return None


def _step(data: bytes, pos: int) -> tuple[int, int]:
    """The position after the value at ``pos`` (its header, and its payload if any), and how many values it holds."""
    head = data[pos]
    if head <= 0x7F or head >= 0xE0 or head in (0xC0, 0xC1, 0xC2, 0xC3):  # fixint, nil, (never used), bool
        return pos + 1, 0
    if head <= 0x8F:
        return pos + 1, 2 * (head & 0x0F)
    if head <= 0x9F:
        return pos + 1, head & 0x0F
    if head <= 0xBF:
        return pos + 1 + (head & 0x1F), 0
    size, fixed, counts = _SIZED[head]
    length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
    end = pos + 1 + size + fixed
    if counts == _BYTES:
        return end + length, 0
    return end, {_ITEMS: length, _PAIRS: 2 * length}.get(counts, 0)
