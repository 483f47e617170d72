"""The supervisor's board and a unit's steering, shaped by pure functions (server/care/supervision.py, steering.py)."""

from __future__ import annotations

import pytest

from direkt.queue.model import Skill
from direkt.queue.records import WaitingCase
from direkt.queue.urgency import Urgency
from direkt.server.care.steering import (
    HOUR_MS,
    MAX_CLOSURE_MS,
    Entry,
    IntakeClosed,
    Invalid,
    Steering,
    check_text,
    check_until,
    decode,
    parse_hash,
)
from direkt.server.care.supervision import SOON_MS, queue_summary, takers

NOW = 1_800_000_000_000


def waiting(case: str, urgency: int, submitted: int, deadline: int) -> WaitingCase:
    return WaitingCase(case, "vc", Skill.NURSE, deadline, Urgency(urgency), submitted, {"label": {"sv": "x"}})


def test_a_queue_counts_by_urgency_and_finds_the_oldest_and_the_breaches() -> None:
    cases = [
        waiting("a", 5, NOW - 3 * HOUR_MS, NOW + HOUR_MS),
        waiting("b", 3, NOW - 2 * HOUR_MS, NOW - 1),  # past its deadline
        waiting("c", 3, NOW - 60_000, NOW + SOON_MS),  # about to pass it
        waiting("d", 5, NOW - 60_000, NOW + SOON_MS + 1),
    ]
    summary = queue_summary("nurse", cases, NOW)
    assert summary["depth"] == 4 and summary["by_urgency"] == {"5": 2, "3": 2}
    assert summary["oldest"]["case"] == "a" and summary["oldest"]["waited_ms"] == 3 * HOUR_MS
    assert (summary["breached"], summary["soon"]) == (1, 1)
    assert [c["case"] for c in summary["cases"]] == ["b", "c", "d", "a"]  # earliest deadline first
    assert [c["state"] for c in summary["cases"]] == ["breached", "soon", "ok", "ok"]


def test_an_empty_queue() -> None:
    assert queue_summary("doctor", [], NOW) == {
        "skill": "doctor", "depth": 0, "by_urgency": {}, "oldest": None, "breached": 0, "soon": 0, "cases": [],
    }  # fmt: skip


def test_who_could_take_a_chat_over() -> None:
    def row(staff: str, **kw: object) -> dict[str, object]:
        return {
            "id": staff,
            "online": True,
            "status": "available",
            "skills": ["nurse"],
            "chats": [],
            "max_chats": 2,
        } | kw

    rows = [
        row("holder"),
        row("free"),
        row("paused", status="paused"),
        row("away", status="away"),
        row("offline", online=False, status="offline"),
        row("doctor", skills=["doctor"]),
        row("full", chats=[{}, {}]),
    ]
    assert takers("nurse", "holder", rows) == ["free", "paused"]


def test_steering_is_in_force_until_its_time() -> None:
    steering = Steering(Entry("Hög belastning", NOW + 10), Entry("Tack för ditt tålamod", NOW))
    assert steering.view(NOW) == {"intake_closed": {"text": "Hög belastning", "until_ms": NOW + 10}, "notice": None}
    assert steering.view(NOW + 10) == {"intake_closed": None, "notice": None}


def test_texts_and_times_are_checked() -> None:
    assert check_text("  Hög belastning  ", "text") == "Hög belastning"
    for bad in ("", "   ", "x" * 301, "rad\x00"):
        with pytest.raises(Invalid):
            check_text(bad, "text")
    assert check_until(NOW + MAX_CLOSURE_MS, NOW, MAX_CLOSURE_MS, "until_ms") == NOW + MAX_CLOSURE_MS
    for bad in (NOW, NOW - 1, NOW + MAX_CLOSURE_MS + 1):
        with pytest.raises(Invalid):
            check_until(bad, NOW, MAX_CLOSURE_MS, "until_ms")


def test_stored_steering_is_read_back_and_unreadable_entries_ignored() -> None:
    entry = Entry("Hög belastning", NOW + HOUR_MS, "super-vc", NOW)
    assert decode(entry.encode()) == entry
    assert decode(b"{not json") is None and decode(None) is None and decode(b'{"text": 1}') is None
    stored = {b"vc-a:intake": entry.encode().encode(), b"vc-a:notice": b"garbage", b"vc-b:notice": entry.encode(),
              b"odd": b"x"}  # fmt: skip
    found = parse_hash(stored)
    assert found == {"vc-a": Steering(entry, None), "vc-b": Steering(None, entry)}


def test_a_refusal_for_closed_intake_tells_the_citizen_when_it_opens() -> None:
    refusal = IntakeClosed("vc-a", "Hög belastning.", 1_800_003_600_000)
    assert refusal.code == "intake_closed" and refusal.fields["until_ms"] == 1_800_003_600_000
    assert refusal.fields["text"]["sv"].startswith("Hög belastning.") and "kl." in refusal.fields["text"]["sv"]
