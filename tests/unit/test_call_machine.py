"""The call state machine (protocol §7 "Calls"): legal transitions, refusals and ICE restarts.

Every call here is reached by stepping real events from nothing, one second
apart, starting at ``T0``; the tables name the path that leads to a state
(tests/support_call_machine.py). How calls end (deadlines, case ends,
duration), the call frame and the stored record are in
test_call_machine_endings.py; the property test over random event sequences
is in test_call_machine_properties.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from support_call_machine import (
    ANNA,
    BY_CITIZEN,
    BY_STAFF,
    CASE,
    CODES,
    ERIK,
    LIMITS,
    NURSE,
    OTHER_NURSE,
    SECOND,
    T0,
    at,
    label,
    refused,
    walk,
)

from direkt.server.errors import Conflict, DirektError, Forbidden, NotFound, to_direkt_error
from direkt.signaling.call import (
    Accept,
    Answer,
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
    NoCall,
    NoConsent,
    NotParty,
    Offer,
    Propose,
    Step,
    Tick,
    settle,
    step,
)

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
