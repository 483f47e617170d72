"""The call machine's rules over random event sequences (protocol §7 "Calls").

The property test drives random event sequences with time jumping over the
deadlines and checks the rules the protocol promises: consent before media,
staff offers, parties fixed, versions rising, terminal states final.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support_call_machine import (
    ANNA,
    CASE,
    CODES,
    ERIK,
    LIMITS,
    NURSE,
    OTHER_NURSE,
    SECOND,
    T0,
)

from direkt.server.errors import to_direkt_error
from direkt.signaling.call import (
    Accept,
    Actor,
    Answer,
    Call,
    CallError,
    CallState,
    Candidate,
    CaseEnded,
    Connected,
    Decline,
    Event,
    Failed,
    Hangup,
    NoConsent,
    NotParty,
    Offer,
    Propose,
    Step,
    Tick,
    settle,
    step,
)

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
