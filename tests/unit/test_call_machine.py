"""The call state machine (protocol §7 "Calls"): transitions, refusals, timeouts, storage.

Every call here is reached by stepping real events from nothing, one second
apart, starting at ``T0``; the tables name the path that leads to a state.
The property test at the end drives random event sequences with time jumping
over the deadlines and checks the rules the protocol promises: consent before
media, staff offers, parties fixed, versions rising, terminal states final.
"""

from __future__ import annotations

from dataclasses import replace

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from direkt.server.errors import Conflict, DirektError, Forbidden, NotFound, to_direkt_error
from direkt.signaling.call import (
    Accept,
    Actor,
    Answer,
    Call,
    CallError,
    CallState,
    CallStateError,
    Candidate,
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
    Step,
    Tick,
    from_record,
    settle,
    step,
    to_record,
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


# -- legal transitions -----------------------------------------------------------------------

TRANSITIONS = [
    # path, event, state, reason, transcript events
    ("none", BY_STAFF, "proposed", "", ("proposed",)),
    ("none", BY_CITIZEN, "proposed", "", ("proposed",)),
    ("proposed", Accept(ERIK), "accepted", "", ("accepted",)),
    ("proposed", Accept(ANNA), "accepted", "", ("accepted",)),  # the citizen is whoever the hub lets answer
    ("proposed", Decline(ERIK), "declined", "declined", ("declined",)),
    ("proposed", Hangup(NURSE), "ended", "cancelled", ("ended",)),
    ("proposed", Failed(NURSE, "devices"), "failed", "devices", ("failed",)),
    ("proposed", CaseEnded("transferred"), "ended", "transferred", ("ended",)),
    ("proposed_by_citizen", Accept(NURSE), "accepted", "", ("accepted",)),
    ("proposed_by_citizen", Decline(NURSE), "declined", "declined", ("declined",)),
    ("proposed_by_citizen", Hangup(ERIK), "ended", "cancelled", ("ended",)),
    ("accepted", Offer(NURSE), "negotiating", "", ()),
    ("accepted", Hangup(ERIK), "ended", "hung_up", ("ended",)),
    ("accepted", Hangup(NURSE), "ended", "hung_up", ("ended",)),
    ("accepted", Failed(ERIK, "devices"), "failed", "devices", ("failed",)),
    ("accepted", CaseEnded("case_closed"), "ended", "case_closed", ("ended",)),
    ("accepted_by_staff", Offer(NURSE), "negotiating", "", ()),
    ("negotiating", Answer(ERIK), "negotiating", "", ()),
    ("negotiating", Connected(ERIK), "connected", "", ()),
    ("negotiating", Offer(NURSE), "negotiating", "", ()),  # a second offer: renegotiation
    ("negotiating", Hangup(NURSE), "ended", "hung_up", ("ended",)),
    ("negotiating", Failed(NURSE, "ice"), "failed", "ice", ("failed",)),
    ("negotiating", Failed(NURSE, ""), "failed", "media", ("failed",)),
    ("answered", Connected(NURSE), "connected", "", ()),
    ("connected", Offer(NURSE, ice_restart=True), "connected", "", ()),
    ("connected", Hangup(ERIK), "ended", "hung_up", ("ended",)),
    ("connected", Failed(ERIK, "media"), "failed", "media", ("failed",)),
    ("connected", CaseEnded("released"), "ended", "released", ("ended",)),
    ("restarting", Answer(ERIK), "connected", "", ()),
    ("declined", Propose(ERIK, "call-2", "audio"), "proposed", "", ("proposed",)),
    ("cancelled", Propose(NURSE, "call-2", "video"), "proposed", "", ("proposed",)),
    ("hung_up", Propose(NURSE, "call-2", "audio"), "proposed", "", ("proposed",)),
    ("failed", Propose(ERIK, "call-2", "video"), "proposed", "", ("proposed",)),
]


@pytest.mark.parametrize(
    ("path", "event", "state", "reason", "events"),
    [pytest.param(*row, id=label(row[0], row[1])) for row in TRANSITIONS],
)
def test_legal_transition(path: str, event: Event, state: str, reason: str, events: tuple[str, ...]) -> None:
    before, then = walk(path)
    now = then + SECOND
    result = step(before, event, now, CASE, LIMITS)
    after = result.call
    assert result.changed
    assert after.state == CallState(state)
    assert after.reason == reason
    assert result.events == events
    assert after.v == (before.v + 1 if before else 1)
    assert after.case_id == CASE
    assert after.history[-1] == state
    if before is not None and not isinstance(event, Propose):
        assert after.call_id == before.call_id
        assert after.started_ms == before.started_ms
        expected_history = before.history if after.state == before.state else (*before.history, state)
        assert after.history == expected_history
    if not after.state.live:
        assert after.ended_ms == now and after.deadline_ms == 0
    else:
        assert after.ended_ms == 0 and after.deadline_ms > now


NO_CHANGE = [
    ("accepted", Candidate(NURSE)),
    ("accepted", Candidate(ERIK)),
    ("negotiating", Candidate(ERIK)),
    ("connected", Candidate(NURSE)),
    ("connected", Connected(NURSE)),  # the other party reported it first
    ("proposed", Tick()),
    ("connected", Tick()),
    ("declined", Tick()),
    ("hung_up", CaseEnded("case_closed")),
    ("failed", CaseEnded("transferred")),
    ("declined", CaseEnded("released")),
]


@pytest.mark.parametrize(("path", "event"), [pytest.param(*row, id=label(*row)) for row in NO_CHANGE])
def test_allowed_events_that_change_nothing(path: str, event: Event) -> None:
    before, then = walk(path)
    result = step(before, event, then + SECOND, CASE, LIMITS)
    assert result == Step(before, changed=False)


def test_staff_proposal_fixes_staff_and_leaves_the_citizen_open() -> None:
    call = at("proposed")
    assert (call.call_id, call.media, call.proposer) == ("call-1", "video", "staff")
    assert (call.staff, call.citizen) == ("s-nurse-1", "")
    assert (call.v, call.started_ms, call.deadline_ms) == (1, T0, T0 + LIMITS.ring_ms)
    accepted = at("accepted")
    assert (accepted.staff, accepted.citizen) == ("s-nurse-1", "c-erik")
    assert accepted.deadline_ms == T0 + SECOND + LIMITS.setup_ms


def test_citizen_proposed_call_is_consented_by_asking_and_staff_still_offers() -> None:
    call, now = walk("proposed_by_citizen")
    assert call is not None
    assert (call.proposer, call.media, call.staff, call.citizen) == ("citizen", "audio", "", "c-erik")
    assert isinstance(refused(call, Offer(NURSE)), NoConsent)  # the staff side has not accepted yet
    call = step(call, Accept(NURSE), now + SECOND, CASE, LIMITS).call
    assert (call.state, call.staff, call.citizen) == (CallState.ACCEPTED, "s-nurse-1", "c-erik")
    assert isinstance(refused(call, Offer(ERIK)), CallStateError)  # the citizen never offers
    for event in (Offer(NURSE), Answer(ERIK), Connected(NURSE)):
        now += SECOND
        call = step(call, event, now, CASE, LIMITS).call
    assert call.state == CallState.CONNECTED
    assert call.history == ("proposed", "accepted", "negotiating", "connected")


def test_a_new_proposal_after_the_last_call_ended_is_a_new_call() -> None:
    old, then = walk("hung_up")
    assert old is not None
    new = step(old, Propose(ERIK, "call-2", "audio"), then + SECOND, CASE, LIMITS).call
    assert (new.call_id, new.media, new.proposer) == ("call-2", "audio", "citizen")
    assert (new.staff, new.citizen) == ("", "c-erik")
    assert new.v == old.v + 1
    assert new.history == ("proposed",)
    assert (new.connected_ms, new.ended_ms, new.restarts, new.reason) == (0, 0, 0, "")
    assert new.started_ms == then + SECOND


def test_the_offer_waits_for_an_answer() -> None:
    negotiating = at("negotiating")
    assert negotiating.offer_pending
    answered = at("answered")
    assert not answered.offer_pending
    assert answered.v == negotiating.v + 1


# -- refusals --------------------------------------------------------------------------------

ILLEGAL = [
    # no call at all
    ("none", Accept(ERIK), NoCall),
    ("none", Decline(ERIK), NoCall),
    ("none", Hangup(NURSE), NoCall),
    ("none", Offer(NURSE), NoCall),
    ("none", Candidate(ERIK), NoCall),
    ("none", Connected(ERIK), NoCall),
    ("none", Tick(), NoCall),
    ("none", CaseEnded("case_closed"), NoCall),
    # consent first: no media before the citizen accepted (or asked)
    ("proposed", Offer(NURSE), NoConsent),
    ("proposed", Offer(NURSE, ice_restart=True), NoConsent),
    ("proposed", Answer(ERIK), NoConsent),
    ("proposed", Candidate(NURSE), NoConsent),
    ("proposed", Candidate(ERIK), NoConsent),
    ("proposed", Connected(ERIK), NoConsent),
    ("proposed_by_citizen", Offer(NURSE), NoConsent),
    ("proposed_by_citizen", Candidate(ERIK), NoConsent),
    ("proposed_by_citizen", Answer(ERIK), NoConsent),
    # roles in negotiation: staff offers, the citizen answers
    ("accepted", Offer(ERIK), CallStateError),
    ("negotiating", Offer(ERIK), CallStateError),
    ("connected", Offer(ERIK), CallStateError),
    ("negotiating", Answer(NURSE), CallStateError),
    ("restarting", Answer(NURSE), CallStateError),
    ("accepted_by_staff", Offer(ERIK), CallStateError),
    # an answer needs a pending offer; connecting needs an offer
    ("accepted", Answer(ERIK), CallStateError),
    ("answered", Answer(ERIK), CallStateError),
    ("connected", Answer(ERIK), CallStateError),
    ("accepted", Connected(ERIK), CallStateError),
    # accept and decline belong to the side that did not propose, once
    ("proposed", Accept(NURSE), CallStateError),
    ("proposed", Decline(NURSE), CallStateError),
    ("proposed_by_citizen", Accept(ERIK), CallStateError),
    ("proposed_by_citizen", Decline(ERIK), CallStateError),
    ("proposed", Hangup(ERIK), CallStateError),  # decline, not hang up, a call you did not accept
    ("proposed_by_citizen", Hangup(NURSE), CallStateError),
    ("accepted", Accept(ERIK), CallStateError),
    ("accepted", Decline(ERIK), CallStateError),
    ("connected", Accept(ERIK), CallStateError),
    ("accepted_by_staff", Accept(NURSE), CallStateError),
    # one live call per case
    ("proposed", Propose(NURSE, "call-2", "video"), CallStateError),
    ("proposed", Propose(ERIK, "call-2", "audio"), CallStateError),
    ("accepted", Propose(ERIK, "call-2", "video"), CallStateError),
    ("connected", Propose(NURSE, "call-2", "video"), CallStateError),
    ("connected", Propose(OTHER_NURSE, "call-2", "video"), CallStateError),
    # ended calls take nothing but a new proposal
    ("declined", Accept(ERIK), CallStateError),
    ("declined", Hangup(NURSE), CallStateError),
    ("cancelled", Accept(ERIK), NotParty),  # nobody ever answered: no citizen is a party
    ("cancelled", Hangup(NURSE), CallStateError),
    ("hung_up", Hangup(NURSE), CallStateError),
    ("hung_up", Offer(NURSE), CallStateError),
    ("hung_up", Answer(ERIK), CallStateError),
    ("hung_up", Candidate(ERIK), CallStateError),
    ("hung_up", Connected(ERIK), CallStateError),
    ("failed", Failed(NURSE, "ice"), CallStateError),
    ("failed", Offer(NURSE, ice_restart=True), CallStateError),
    ("closed", Offer(NURSE), CallStateError),
    # third parties
    ("proposed", Hangup(OTHER_NURSE), NotParty),
    ("proposed", Accept(OTHER_NURSE), NotParty),
    ("proposed", Failed(OTHER_NURSE, "x"), NotParty),
    ("proposed_by_citizen", Hangup(ANNA), NotParty),
    ("proposed_by_citizen", Decline(ANNA), NotParty),
    ("accepted", Offer(OTHER_NURSE), NotParty),
    ("accepted", Candidate(OTHER_NURSE), NotParty),
    ("accepted", Candidate(ANNA), NotParty),
    ("accepted", Answer(ANNA), NotParty),
    ("accepted", Hangup(ANNA), NotParty),
    ("accepted_by_staff", Hangup(OTHER_NURSE), NotParty),
    ("negotiating", Answer(ANNA), NotParty),
    ("connected", Connected(ANNA), NotParty),
    ("connected", Hangup(OTHER_NURSE), NotParty),
    ("connected", Failed(ANNA, "media"), NotParty),
    ("hung_up", Hangup(OTHER_NURSE), NotParty),
]
CODES = {NoCall: "no_call", NotParty: "not_call_party", NoConsent: "no_consent", CallStateError: "call_state"}
FAMILIES = {NoCall: NotFound, NotParty: Forbidden, NoConsent: Conflict, CallStateError: Conflict}


@pytest.mark.parametrize(
    ("path", "event", "error"),
    [pytest.param(*row, id=label(row[0], row[1])) for row in ILLEGAL],
)
def test_illegal_event_is_a_typed_error(path: str, event: Event, error: type[CallError]) -> None:
    before, then = walk(path)
    raised = refused(before, event, then + SECOND)
    assert type(raised) is error
    wire = to_direkt_error(raised)  # the machine's own error, as the hub sends it
    assert wire.code == CODES[error]
    assert isinstance(wire, FAMILIES[error]) and isinstance(wire, DirektError)


def test_the_citizen_is_fixed_by_the_first_citizen_to_answer() -> None:
    call, now = walk("proposed")
    call = step(call, Accept(ANNA), now + SECOND, CASE, LIMITS).call
    assert call.citizen == "c-anna"
    assert isinstance(refused(call, Hangup(ERIK)), NotParty)
    assert isinstance(refused(call, Answer(ERIK)), NotParty)


# -- ICE restarts ----------------------------------------------------------------------------


def test_ice_restarts_while_connected_are_counted_and_limited() -> None:
    call, now = walk("connected")
    assert call is not None
    for n in range(1, LIMITS.max_restarts + 1):
        now += SECOND
        offered = step(call, Offer(NURSE, ice_restart=True), now, CASE, LIMITS)
        assert offered.changed and offered.events == ()
        assert (offered.call.state, offered.call.restarts, offered.call.v) == (CallState.CONNECTED, n, call.v + 1)
        assert offered.call.offer_pending
        now += SECOND
        call = step(offered.call, Answer(ERIK), now, CASE, LIMITS).call
        assert not call.offer_pending
    error = refused(call, Offer(NURSE, ice_restart=True), now + SECOND)
    assert isinstance(error, CallStateError) and to_direkt_error(error).code == "call_state"
    assert call.restarts == LIMITS.max_restarts and call.state == CallState.CONNECTED


def test_a_renegotiation_before_connecting_restarts_the_setup_time() -> None:
    call, now = walk("negotiating")
    assert call is not None
    later = now + 20 * SECOND
    again = step(call, Offer(NURSE), later, CASE, LIMITS).call
    assert again.restarts == 1
    assert again.deadline_ms == later + LIMITS.setup_ms > call.deadline_ms


def test_an_ice_restart_keeps_a_connected_call_connected_until_the_browsers_say_otherwise() -> None:
    """Protocol §7: a restart offer on a connected call keeps its state and deadline; a connection
    that stays lost is reported by the browsers (call_report failed), not timed out by the server."""
    call, restarted = walk("restarting")  # connected, then a restart offer the citizen never answers
    assert call is not None and call.offer_pending and call.state == CallState.CONNECTED
    assert settle(call, restarted + LIMITS.setup_ms) is None
    failed = step(call, Failed(ERIK, "ice"), restarted + LIMITS.setup_ms, CASE, LIMITS)
    assert (failed.call.state, failed.call.reason) == (CallState.FAILED, "ice")


def test_the_restart_limit_comes_from_limits() -> None:
    limits = replace(LIMITS, max_restarts=0)
    call, now = walk("connected", limits=limits)
    with pytest.raises(CallStateError):
        step(call, Offer(NURSE, ice_restart=True), now + SECOND, CASE, limits)


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


# -- properties over random event sequences --------------------------------------------------

ACTORS = st.sampled_from([NURSE, OTHER_NURSE, ERIK, ANNA])
EVENTS: st.SearchStrategy[Event] = st.one_of(
    st.builds(Propose, ACTORS, st.sampled_from(["call-a", "call-b"]), st.sampled_from(["audio", "video"])),
    st.builds(Accept, ACTORS),
    st.builds(Decline, ACTORS),
    st.builds(Hangup, ACTORS),
    st.builds(Offer, ACTORS, st.booleans()),
    st.builds(Answer, ACTORS),
    st.builds(Candidate, ACTORS),
    st.builds(Connected, ACTORS),
    st.builds(Failed, ACTORS, st.sampled_from(["", "ice", "devices"])),
    st.just(Tick()),
    st.builds(CaseEnded, st.sampled_from(["case_closed", "transferred", "released"])),
)
# Time jumps that land before, on and after each deadline.
JUMPS = st.one_of(
    st.integers(min_value=0, max_value=5 * SECOND),
    st.sampled_from([LIMITS.ring_ms, LIMITS.setup_ms, LIMITS.max_ms, LIMITS.setup_ms - 1, LIMITS.ring_ms + 1]),
)
MEDIA = (Offer, Answer, Candidate)


def plausible(call: Call | None) -> list[Event]:
    """Events a client might send now: mostly by the parties, weighted towards the next step of a call."""
    if call is None or not call.state.live:
        return [Propose(NURSE, "call-a", "video"), Propose(ERIK, "call-b", "audio")]
    staff, citizen = Actor(call.staff or NURSE.uid, "staff"), Actor(call.citizen or ERIK.uid, "citizen")
    answerer = citizen if call.proposer == "staff" else staff
    progress: dict[CallState, list[Event]] = {
        CallState.PROPOSED: [Accept(answerer)] * 4,
        CallState.ACCEPTED: [Offer(staff)] * 4,
        CallState.NEGOTIATING: [Answer(citizen), Answer(citizen), Connected(citizen), Connected(staff)],
        CallState.CONNECTED: [Offer(staff, ice_restart=True), Answer(citizen), Answer(citizen)],
    }
    kinds = (Accept, Decline, Hangup, Offer, Answer, Candidate, Connected)
    return [*progress[call.state], *(kind(who) for who in (staff, citizen) for kind in kinds), Tick()]


TIMEOUT_REASONS = {CallState.PROPOSED: "no_answer", CallState.CONNECTED: "time_limit"}


def check_invariants(before: Call | None, event: Event, result: Step, now: int, offers: dict[str, int]) -> None:
    """The rules every step keeps; ``offers`` counts the accepted offers of each call id."""
    after = result.call
    if not result.changed:
        assert after == before
        return
    assert before is None or after.v > before.v
    if isinstance(event, Propose):
        assert before is None or not before.state.live  # one live call per case
        offers[after.call_id] = 0
    else:
        assert before is not None and before.state.live  # terminal states change only by a new proposal
        assert after.call_id == before.call_id and after.case_id == before.case_id
        assert after.media == before.media and after.proposer == before.proposer
        if before.staff and before.citizen:
            assert (after.staff, after.citizen) == (before.staff, before.citizen)
        assert after.history[: len(before.history)] == before.history
    if isinstance(event, MEDIA):
        assert before is not None and before.state.consented  # consent first
    if isinstance(event, Offer):
        assert event.by.side == "staff"
        offers[after.call_id] += 1
    if isinstance(event, Answer):
        assert event.by.side == "citizen" and before is not None and before.offer_pending
    if isinstance(event, Tick):
        assert before is not None and now >= before.deadline_ms
        assert after.reason == TIMEOUT_REASONS.get(before.state, "setup_timeout")
    if isinstance(event, Failed):
        assert after.reason == (event.reason or "media")
    assert after.restarts == max(0, offers[after.call_id] - 1) <= LIMITS.max_restarts
    check_call(after, now, offered=offers[after.call_id] > 0)


def check_call(after: Call, now: int, *, offered: bool) -> None:
    """What holds of any call a step returns at ``now``."""
    assert after.history[-1] == after.state.value
    assert after.state.live == (after.ended_ms == 0) == (after.deadline_ms != 0)
    assert after.citizen in ("", ERIK.uid, ANNA.uid) and after.staff in ("", NURSE.uid, OTHER_NURSE.uid)
    if after.state.consented:
        assert after.staff and after.citizen
    if after.state == CallState.PROPOSED:
        assert after.deadline_ms == after.started_ms + LIMITS.ring_ms
    if after.state in (CallState.ACCEPTED, CallState.NEGOTIATING):
        assert after.deadline_ms - now <= LIMITS.setup_ms
    if after.state == CallState.CONNECTED:
        assert offered and "negotiating" in after.history  # connected only after an offer
        assert after.deadline_ms <= after.connected_ms + LIMITS.max_ms
        if not after.offer_pending:
            assert after.deadline_ms == after.connected_ms + LIMITS.max_ms
    if not after.state.live:
        assert after.ended_ms == now
        expected = after.ended_ms - after.connected_ms if after.connected_ms else 0
        assert after.duration_ms == expected


@settings(max_examples=300, deadline=None)
@given(data=st.data(), count=st.integers(min_value=1, max_value=40))
def test_random_event_sequences_keep_the_call_rules(data: st.DataObject, count: int) -> None:
    call: Call | None = None
    now = T0
    offers: dict[str, int] = {}
    for _ in range(count):
        now += data.draw(JUMPS)
        if data.draw(st.booleans()):  # what the hub does before each event
            due = settle(call, now)
            if due is None:
                assert call is None or not call.state.live or now < call.deadline_ms
            else:
                check_invariants(call, Tick(), due, now, offers)
                call = due.call
        anything = data.draw(st.integers(min_value=0, max_value=3)) == 0
        event = data.draw(EVENTS if anything else st.sampled_from(plausible(call)))
        try:
            result = step(call, event, now, CASE, LIMITS)
        except CallError as error:  # any other exception fails the test
            assert to_direkt_error(error).code in CODES.values()
            if call is not None and call.state == CallState.PROPOSED and isinstance(event, MEDIA):
                assert isinstance(error, NoConsent | NotParty)
            continue
        check_invariants(call, event, result, now, offers)
        call = result.call
