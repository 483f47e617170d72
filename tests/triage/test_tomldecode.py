"""The knowledge base's TOML through ``rtoml`` (``triage/tomldecode.py``): the same documents and the same
knowledge base as through the standard library's ``tomllib``, and bad files named as problems."""

from __future__ import annotations

import tomllib
from typing import Any

import msgspec
import pytest
import rtoml

from direkt.triage import tomldecode
from direkt.triage.loader import KB_DIR, build, files_of
from direkt.triage.model import KnowledgeBase

FILES = files_of(KB_DIR)


def test_every_knowledge_base_file_is_the_same_document_as_tomllib_reads() -> None:
    assert len(FILES) > 100
    for name, raw in FILES.items():
        assert rtoml.loads(raw.decode()) == tomllib.loads(raw.decode()), name


def comparable(kb: KnowledgeBase) -> dict[str, Any]:
    return {k: v for k, v in vars(kb).items() if k != "memo"}


def test_the_knowledge_base_built_is_the_one_msgspecs_own_toml_decoder_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, problems = build(FILES)
    assert ours is not None and problems == []
    monkeypatch.setattr(tomldecode, "decode", lambda raw, kind: msgspec.toml.decode(raw, type=kind))
    theirs, their_problems = build(FILES)
    assert theirs is not None and their_problems == []
    assert comparable(ours) == comparable(theirs)


@pytest.mark.parametrize(
    ("raw", "said"),
    [(b"[[unclosed", "screen.toml: "), (b"\xff\xfe not utf-8", "screen.toml: "), (b"questions = 3", "screen.toml: ")],
)
def test_a_file_that_is_not_toml_or_not_utf8_or_the_wrong_shape_is_a_named_problem(raw: bytes, said: str) -> None:
    kb, problems = build({**FILES, "screen.toml": raw})
    assert kb is None
    assert any(p.startswith(said) for p in problems), problems


@pytest.mark.parametrize("raw", [b"a = [1, 2", b"a = 1\na = 2", b"\xc3\x28"])
def test_bad_input_raises_msgspecs_decode_error(raw: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        tomldecode.decode(raw, dict)
