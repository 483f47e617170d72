"""The profile reader behind the README's shares: self, inclusive and per phase, from py-spy's raw stacks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from direkt.loadtests.profiles import OTHER, load, main, parse

RAW = """\
R (asyncio/runners.py:118);Chat.on_send (server/ws/chat.py:160);Transcripts.append (server/care/transcript.py:250) 6
R (asyncio/runners.py:118);Chat.on_send (server/ws/chat.py:161) 2
R (asyncio/runners.py:118);Outlet._flush (server/ws/outlet.py:90);SansioWriter.write_now (server/ws/outbox.py:170) 3
R (asyncio/runners.py:118) 9
not a stack line
broken;line without count
"""

PHASES = (("send", ("Chat.on_send",)), ("out", ("Outlet.", "SansioWriter")), ("never", ("Nothing.here",)))


def test_lines_of_one_function_add_up_and_junk_lines_are_skipped() -> None:
    profile = parse(RAW.splitlines())
    assert profile.total == 20
    assert profile.self_shares() == {
        "Transcripts.append (server/care/transcript.py)": 6,
        "Chat.on_send (server/ws/chat.py)": 2,
        "SansioWriter.write_now (server/ws/outbox.py)": 3,
        "R (asyncio/runners.py)": 9,
    }
    inclusive = profile.inclusive_shares()
    assert inclusive["R (asyncio/runners.py)"] == 20
    assert inclusive["Chat.on_send (server/ws/chat.py)"] == 8


def test_each_stack_goes_to_the_first_phase_it_matches_and_the_rest_to_other() -> None:
    assert parse(RAW.splitlines()).phases(PHASES) == {"send": 8, "out": 3, OTHER: 9}


def test_a_recursive_frame_counts_once_per_sample() -> None:
    profile = parse(["f (a.py:1);f (a.py:2);f (a.py:3) 4"])
    assert profile.inclusive_shares() == {"f (a.py)": 4}


def test_the_command_reads_a_gzipped_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.txt.gz"
    path.write_bytes(gzip.compress(RAW.encode()))
    assert load(path).total == 20
    assert main([str(path), "--phases", "relay", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "20 samples" in out and "40.0 %  send: validate" in out and "45.0 %  R (asyncio/runners.py)" in out


def test_an_empty_profile_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("nothing here\n")
    with pytest.raises(SystemExit) as stop:
        main([str(path)])
    assert stop.value.code == 2
    assert "no samples" in capsys.readouterr().err


def test_a_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path / "nope.txt.gz")])
    assert stop.value.code == 2
    assert "No such file" in capsys.readouterr().err
