"""The call machine's test vocabulary (tests/unit/test_call_machine*.py): parties, limits, and the
paths of real events that lead from no call to each state, one second apart from ``T0``."""

from __future__ import annotations

import pytest

from direkt.signaling.call import (
    Accept,
    Actor,
    Answer,
    Call,
    CallError,
    CallStateError,
    CaseEnded,
    Connected,
    Decline,
    Event,
    Failed,
    Hangup,
    Limits,
    NoCall,
    NoConsent,
    NotParty,
    Offer,
    Propose,
    step,
)

CASE = "t.01MCASE0000000000000000000"
T0 = 1_795_339_141_000
SECOND = 1000
LIMITS = Limits(ring_ms=45_000, setup_ms=30_000, max_ms=7_200_000, max_restarts=3)

NURSE = Actor("s-nurse-1", "staff")
OTHER_NURSE = Actor("s-nurse-2", "staff")
ERIK = Actor("c-erik", "citizen")
ANNA = Actor("c-anna", "citizen")

BY_STAFF = Propose(NURSE, "call-1", "video")
BY_CITIZEN = Propose(ERIK, "call-1", "audio")

# How to reach each state from no call at all.
PATHS: dict[str, list[Event]] = {
    "none": [],
    "proposed": [BY_STAFF],
    "proposed_by_citizen": [BY_CITIZEN],
    "accepted": [BY_STAFF, Accept(ERIK)],
    "accepted_by_staff": [BY_CITIZEN, Accept(NURSE)],
    "negotiating": [BY_STAFF, Accept(ERIK), Offer(NURSE)],
    "answered": [BY_STAFF, Accept(ERIK), Offer(NURSE), Answer(ERIK)],
    "connected": [BY_STAFF, Accept(ERIK), Offer(NURSE), Answer(ERIK), Connected(ERIK)],
    "restarting": [BY_STAFF, Accept(ERIK), Offer(NURSE), Answer(ERIK), Connected(ERIK), Offer(NURSE, ice_restart=True)],
    "declined": [BY_STAFF, Decline(ERIK)],
    "cancelled": [BY_STAFF, Hangup(NURSE)],
    "hung_up": [BY_STAFF, Accept(ERIK), Offer(NURSE), Answer(ERIK), Connected(ERIK), Hangup(ERIK)],
    "failed": [BY_STAFF, Accept(ERIK), Offer(NURSE), Failed(ERIK, "ice")],
    "closed": [BY_STAFF, Accept(ERIK), CaseEnded("case_closed")],
}


def walk(path: str, *, start: int = T0, limits: Limits = LIMITS) -> tuple[Call | None, int]:
    """The call after the path's events, one second apart, and the time of the last one."""
    call: Call | None = None
    now = start - SECOND
    for event in PATHS[path]:
        now += SECOND
        call = step(call, event, now, CASE, limits).call
    return call, now


def at(path: str) -> Call:
    call, _ = walk(path)
    assert call is not None
    return call


def refused(call: Call | None, event: Event, now: int = T0 + 60 * SECOND) -> CallError:
    with pytest.raises(CallError) as raised:
        step(call, event, now, CASE, LIMITS)
    return raised.value


def label(path: str, event: Event) -> str:
    by = getattr(event, "by", None)
    return f"{path}-{type(event).__name__}" + (f"-{by.uid}" if by else "")


# The wire code of each of the machine's errors, as the hub sends it.
CODES = {NoCall: "no_call", NotParty: "not_call_party", NoConsent: "no_consent", CallStateError: "call_state"}
