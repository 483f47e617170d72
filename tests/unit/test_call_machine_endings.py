"""How a call ends and what is kept of it (protocol §7 "Calls"): deadlines that end it, the case
ending under it, its duration, the ``call`` frame it is shown as, and its stored record.

Every call here is reached by stepping real events from nothing, one second apart, starting at
``T0`` (the paths are in tests/support_call_machine.py).
"""

from __future__ import annotations

import msgpack
import pytest
from support_call_machine import (
    CASE,
    ERIK,
    LIMITS,
    NURSE,
    PATHS,
    SECOND,
    T0,
    at,
    walk,
)

from direkt.signaling.call import (
    Answer,
    CallState,
    CaseEnded,
    Failed,
    Hangup,
    Step,
    Tick,
    from_record,
    settle,
    step,
    to_record,
)

# -- timeouts --------------------------------------------------------------------------------

TIMEOUTS = [
    # path, which deadline (from the time of the path's last event), state, reason
    ("proposed", LIMITS.ring_ms, "ended", "no_answer"),
    ("proposed_by_citizen", LIMITS.ring_ms, "ended", "no_answer"),
    ("accepted", LIMITS.setup_ms, "failed", "setup_timeout"),
    ("accepted_by_staff", LIMITS.setup_ms, "failed", "setup_timeout"),
    ("negotiating", LIMITS.setup_ms - SECOND, "failed", "setup_timeout"),  # the offer does not extend it
    ("answered", LIMITS.setup_ms - 2 * SECOND, "failed", "setup_timeout"),
    ("connected", LIMITS.max_ms, "ended", "time_limit"),
]


@pytest.mark.parametrize(("path", "after_ms", "state", "reason"), TIMEOUTS)
def test_deadline_ends_the_call(path: str, after_ms: int, state: str, reason: str) -> None:
    call, then = walk(path)
    assert call is not None
    due = then + after_ms
    assert call.deadline_ms == due
    assert settle(call, due - 1) is None
    assert step(call, Tick(), due - 1, CASE, LIMITS) == Step(call, changed=False)
    for now in (due, due + 3_600_000):
        settled = settle(call, now)
        assert settled is not None
        assert settled == step(call, Tick(), now, CASE, LIMITS)
        ended = settled.call
        assert settled.changed and settled.events == ("failed" if state == "failed" else "ended",)
        assert (ended.state, ended.reason, ended.v) == (CallState(state), reason, call.v + 1)
        assert (ended.ended_ms, ended.deadline_ms) == (now, 0)
        assert not ended.offer_pending


@pytest.mark.parametrize("path", ["none", "declined", "cancelled", "hung_up", "failed", "closed"])
def test_nothing_to_settle_without_a_live_call(path: str) -> None:
    call, then = walk(path)
    assert settle(call, then + 10 * LIMITS.max_ms) is None


def test_a_call_that_hit_its_time_limit_lasted_exactly_the_limit() -> None:
    call, then = walk("connected")
    settled = settle(call, then + LIMITS.max_ms)
    assert settled is not None
    assert settled.call.duration_ms == LIMITS.max_ms


# -- case ends and duration ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["proposed", "accepted", "negotiating", "connected", "restarting"])
@pytest.mark.parametrize("reason", ["case_closed", "transferred", "released"])
def test_case_ending_ends_a_live_call_with_its_reason(path: str, reason: str) -> None:
    call, then = walk(path)
    result = step(call, CaseEnded(reason), then + SECOND, CASE, LIMITS)
    assert result.events == ("ended",)
    assert (result.call.state, result.call.reason, result.call.ended_ms) == (CallState.ENDED, reason, then + SECOND)


DURATIONS = [
    # path, ms connected before the end, duration
    ("connected", 90 * SECOND, 90 * SECOND),
    ("restarting", 60 * SECOND, 61 * SECOND),  # connected one event before the restart
    ("negotiating", 60 * SECOND, 0),  # never connected
    ("accepted", 5 * SECOND, 0),
]


@pytest.mark.parametrize(("path", "later", "duration"), DURATIONS)
def test_duration_runs_from_connected_to_the_end(path: str, later: int, duration: int) -> None:
    call, then = walk(path)
    assert call is not None
    assert call.duration_ms == 0  # live
    ended = step(call, Hangup(NURSE), then + later, CASE, LIMITS).call
    assert ended.duration_ms == duration
    assert ended.view()["duration_ms"] == duration
    if duration:
        assert ended.connected_ms == ended.ended_ms - duration


def test_failed_after_connecting_keeps_its_duration() -> None:
    call, then = walk("connected")
    failed = step(call, Failed(ERIK, "media"), then + 42 * SECOND, CASE, LIMITS).call
    assert (failed.state, failed.duration_ms) == (CallState.FAILED, 42 * SECOND)


def test_view_is_the_call_frame_of_the_protocol() -> None:
    view = at("connected").view()
    assert set(view) == {
        "t", "case", "call", "v", "state", "media", "proposer", "staff", "citizen", "reason",
        "deadline_ms", "connected_ms", "ended_ms", "duration_ms", "restarts",
    }  # fmt: skip
    assert view["t"] == "call" and view["case"] == CASE and view["call"] == "call-1"
    assert (view["state"], view["staff"], view["citizen"]) == ("connected", "s-nurse-1", "c-erik")
    assert view["connected_ms"] == T0 + 4 * SECOND


# -- storage ---------------------------------------------------------------------------------

STORED_PATHS = [p for p in PATHS if p != "none"]


@pytest.mark.parametrize("path", STORED_PATHS)
def test_record_round_trip(path: str) -> None:
    call = at(path)
    record = to_record(call)
    assert record["state"] == call.state.value and type(record["state"]) is str
    assert from_record(record) == call


@pytest.mark.parametrize("path", STORED_PATHS)
def test_record_round_trip_through_msgpack(path: str) -> None:
    call = at(path)
    packed = msgpack.packb(to_record(call))
    restored = from_record(msgpack.unpackb(packed))
    assert restored == call
    assert restored.state is call.state and restored.history == call.history


def test_restored_call_steps_like_the_original() -> None:
    call, then = walk("restarting")
    assert call is not None
    restored = from_record(msgpack.unpackb(msgpack.packb(to_record(call))))
    event = Answer(ERIK)
    assert step(restored, event, then + SECOND, CASE, LIMITS) == step(call, event, then + SECOND, CASE, LIMITS)
