"""The codec bounds nesting before it decodes: deep frames are ``bad_frame``, never a ``RecursionError``.

The scans are checked against the depth of the value that was encoded
(hypothesis), against hand-made edge cases (strings holding brackets, escaped
quotes, truncated frames, every msgpack header), and against adversarial
64 KiB frames that must be scanned quickly.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import msgpack
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from direkt.server.ws import frames as f
from direkt.server.ws.nesting import MAX_NESTING, MAX_VALUES, nesting_problem

FRAME_LIMIT = 64 * 1024


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def values(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(1 + values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(values(v) for v in value)
    return 1


scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=60,
)  # fmt: skip
msgpack_scalars = scalars | st.binary(max_size=300) | st.text(min_size=30, max_size=300)
msgpack_values = st.recursive(
    msgpack_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=60,
)


def nested(levels: int, inner: Any = 0, *, maps: bool = False) -> Any:
    for i in range(levels):
        inner = {"k": inner} if maps and i % 2 else [inner]
    return inner


def deep_frame(levels: int, subprotocol: str, where: str) -> bytes | str:
    """A frame nested ``levels`` deep, written by hand: the encoders refuse past a few hundred levels."""
    if subprotocol == f.MSGPACK:
        deep = b"\x91\x81\xa1k" * (levels // 2) + b"\x00"
        return {"whole": deep, "in-a-field": b"\x82\xa1t\xa4send\xa4text" + deep,
                "before-the-type": b"\x82\xa1x" + deep + b"\xa1t\xa4ping"}[where]  # fmt: skip
    text = '[{"k":' * (levels // 2) + "0" + "}]" * (levels // 2)
    return {"whole": text, "in-a-field": '{"t":"send","text":' + text + "}",
            "before-the-type": '{"x":' + text + ',"t":"ping"}'}[where]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_a_json_frame_is_refused_exactly_when_it_nests_too_deeply(value: Any) -> None:
    text = orjson.dumps(value).decode()
    assert (nesting_problem(text) is None) == (depth(value) <= MAX_NESTING)


@settings(max_examples=400, deadline=None)
@given(msgpack_values)
def test_a_msgpack_frame_is_refused_exactly_when_it_nests_too_deeply_or_holds_too_much(value: Any) -> None:
    data = msgpack.packb(value)
    ok = depth(value) <= MAX_NESTING and values(value) <= MAX_VALUES
    if ok:
        assert nesting_problem(data) is None
    elif depth(value) > MAX_NESTING:
        assert nesting_problem(data) is not None


@pytest.mark.parametrize("maps", [False, True], ids=["arrays", "maps-and-arrays"])
@pytest.mark.parametrize("encode", [lambda v: orjson.dumps(v).decode(), msgpack.packb], ids=["json", "msgpack"])
def test_sixteen_levels_pass_and_seventeen_do_not(maps: bool, encode: Any) -> None:
    assert nesting_problem(encode(nested(MAX_NESTING, maps=maps))) is None
    assert nesting_problem(encode(nested(MAX_NESTING + 1, maps=maps))) is not None


@pytest.mark.parametrize(
    "text",
    [
        '{"t": "send", "text": "' + "[" * 5000 + '"}',  # brackets in a string are text
        '{"t": "send", "text": "\\"' + "{[" * 3000 + '\\\\"}',  # an escaped quote does not end the string
        '{"t": "send", "te[[[[[[[[[[[[[[[[[[[[[[[[[xt": "a"}',  # nor in a key
        "[]" * 20_000,  # wide, not deep
        '{"a": [' + ", ".join(["[1, {}]"] * 3000) + "]}",
    ],
    ids=["string", "escaped-quote", "key", "wide", "siblings"],
)
def test_brackets_in_strings_and_wide_frames_are_not_nesting(text: str) -> None:
    assert nesting_problem(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,  # truncated deep
        "[" * 17 + "]" * 16,  # one unclosed
        '"a" ' + "[" * 17,
        '"\\""' + "[" * 17 + "]" * 17,  # the string is quote, escaped quote, quote: these are outside
        '{"t": "send", "text": "x"}' + "[" * 20,
    ],
)
def test_deep_or_unbalanced_json_is_refused(text: str) -> None:
    assert nesting_problem(text) is not None


def test_an_unterminated_string_holds_the_rest_as_the_decoder_reads_it() -> None:
    text = '"abc \\' + "[" * 50  # the backslash escapes the first bracket; the string runs to the end
    assert nesting_problem(text) is None
    with pytest.raises(f.FrameError):
        f.Codec(f.JSON).decode(text)


def test_every_msgpack_header_is_stepped_over() -> None:
    """After each kind of value the walk finds the next one: a chain of 16 levels after it passes, 17 do not."""
    scalars: list[Any] = [None, True, False, 0, 127, -1, -32, 200, 2**16, 2**32, 2**63, -200, -(2**16), -(2**40),
                          1.5, "", "a" * 31, "b" * 200, "c" * 70_000, b"", b"x" * 300, b"y" * 70_000,
                          msgpack.ExtType(1, b"a"), msgpack.ExtType(2, b"ab"), msgpack.ExtType(3, b"abcd"),
                          msgpack.ExtType(4, b"a" * 8), msgpack.ExtType(5, b"a" * 16), msgpack.ExtType(6, b"a" * 3),
                          msgpack.ExtType(7, b"a" * 300), msgpack.ExtType(8, b"a" * 70_000),
                          list(range(20)), {str(i): i for i in range(20)}]  # fmt: skip
    for scalar in scalars:
        # More than 16 container heads, so that the walk runs.
        assert nesting_problem(msgpack.packb([scalar, nested(MAX_NESTING - 1), [], []])) is None, scalar
        assert nesting_problem(msgpack.packb([scalar, nested(MAX_NESTING)])) is not None, scalar


def test_a_truncated_msgpack_frame_is_left_to_the_decoder() -> None:
    data = msgpack.packb(nested(10, [[]] * 30))
    for end in range(len(data)):
        assert nesting_problem(data[:end]) is None
        with pytest.raises(f.FrameError):
            f.Codec(f.MSGPACK).decode(data[:end])


@pytest.mark.parametrize("levels", [1_000, 100_000])
@pytest.mark.parametrize("where", ["whole", "in-a-field", "before-the-type"])
@pytest.mark.parametrize("subprotocol", [f.MSGPACK, f.JSON])
def test_the_codec_refuses_deep_frames_with_bad_frame(levels: int, where: str, subprotocol: str) -> None:
    """msgspec raised RecursionError on these; the hub had no handler for it and the socket died (1006)."""
    payload = deep_frame(levels, subprotocol, where)
    with pytest.raises(f.FrameError, match="nests deeper than 16 levels"):
        f.Codec(subprotocol).decode(payload)
    assert f.peek_ref(payload) == ""


def test_a_good_frame_still_decodes_and_its_ref_is_found() -> None:
    frame = {"t": "send", "case": "t.01JDQ4ZP2Y3KX8V7N6M5R4T3S2", "cid": "c1", "text": "[" * 100, "ref": "r1"}
    for codec, data in ((f.Codec(f.MSGPACK), msgpack.packb(frame)), (f.Codec(f.JSON), orjson.dumps(frame).decode())):
        decoded = codec.decode(data)
        assert isinstance(decoded, f.Send) and decoded.text == "[" * 100
        assert f.peek_ref(data) == "r1"


ADVERSARIAL = [
    pytest.param("[]" * (FRAME_LIMIT // 2), id="json-pairs"),
    pytest.param("[" * FRAME_LIMIT, id="json-opens"),
    pytest.param('"\\"' * (FRAME_LIMIT // 3), id="json-escaped-quotes"),
    pytest.param('["\\' * (FRAME_LIMIT // 3), id="json-backslash-brackets"),
    pytest.param("[" * 16 + "[]" * (FRAME_LIMIT // 2 - 20) + "]" * 16, id="json-deep-and-wide"),
    pytest.param(b"\xdd\x00\x00\xff\xff" + b"\x90" * (FRAME_LIMIT - 5), id="msgpack-empty-arrays"),
    pytest.param(b"\x91" * FRAME_LIMIT, id="msgpack-deep"),
    pytest.param(b"\xdc\x7f\xff" + b"\x91\x91\x90" * (FRAME_LIMIT // 3 - 1), id="msgpack-shallow-many"),
]


@pytest.mark.parametrize("data", ADVERSARIAL)
def test_a_64_kib_frame_is_scanned_quickly(data: bytes | str) -> None:
    started = time.perf_counter()
    for _ in range(10):
        nesting_problem(data)
    assert (time.perf_counter() - started) / 10 < 0.05  # the decoder's own budget is a few ms; quadratic is minutes


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400), st.sampled_from([f.MSGPACK, f.JSON]))
def test_random_input_only_ever_raises_frame_error(data: bytes | str, subprotocol: str) -> None:
    with contextlib.suppress(f.FrameError):
        f.Codec(subprotocol).decode(data)
    f.peek_ref(data)
