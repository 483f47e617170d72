"""The call state machine: pure, one call per case, driven by events.

A call lifts a chat to audio or video. The staff member holding the case and
the citizen of the case are its two parties; either may propose, the other
accepts or declines. The citizen consents by accepting (or by proposing):
before that no SDP or ICE may pass. The staff side always makes the offers
(the first one and any ICE restart); the citizen side answers.

``step(call, event, now_ms, limits)`` returns the next call and what happened
(``Step.events``: the transcript events), or raises a ``CallError`` for an
illegal event: an illegal transition is an error value, never a silent no-op.
Timeouts are deadlines in the call; a ``Tick`` at or after the deadline ends
the call, an early ``Tick`` changes nothing. No I/O here: the store applies
steps with compare-and-set, the hub publishes what they say.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Side = Literal["staff", "citizen"]
Media = Literal["audio", "video"]


class CallState(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    NEGOTIATING = "negotiating"
    CONNECTED = "connected"
    DECLINED = "declined"
    ENDED = "ended"
    FAILED = "failed"

    @property
    def live(self) -> bool:
        return self not in (CallState.DECLINED, CallState.ENDED, CallState.FAILED)

    @property
    def consented(self) -> bool:
        """Media may be negotiated: the citizen has accepted (or asked for) the call."""
        return self in (CallState.ACCEPTED, CallState.NEGOTIATING, CallState.CONNECTED)


class CallError(Exception):
    """An event the call does not allow now; ``message`` says why. The call is unchanged.

    The machine's own errors: the server maps each to its refusal (wire code,
    HTTP status) in one place, ``direkt.server.errors.as_direkt_errors``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoCall(CallError):
    """There is no call on the case (or not the one named)."""


class NotParty(CallError):
    """The sender is not one of the call's two parties."""


class NoConsent(CallError):
    """Media before the citizen has accepted the call."""


class CallStateError(CallError):
    """The call's state does not allow this event."""


@dataclass(frozen=True)
class Limits:
    ring_ms: int = 45_000  # a proposal unanswered this long ends as "no_answer"
    setup_ms: int = 30_000  # acceptance (or an ICE restart) to "connected"
    max_ms: int = 7_200_000  # the whole call
    max_restarts: int = 5


@dataclass(frozen=True)
class Actor:
    """Who sends an event: a uid and their side of the case (checked by the hub against the case)."""

    uid: str
    side: Side


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Propose:
    by: Actor
    call_id: str
    media: Media


@dataclass(frozen=True)
class Accept:
    by: Actor


@dataclass(frozen=True)
class Decline:
    by: Actor


@dataclass(frozen=True)
class Hangup:
    by: Actor


@dataclass(frozen=True)
class Offer:
    by: Actor
    ice_restart: bool = False


@dataclass(frozen=True)
class Answer:
    by: Actor


@dataclass(frozen=True)
class Candidate:
    by: Actor


@dataclass(frozen=True)
class Connected:
    by: Actor


@dataclass(frozen=True)
class Failed:
    by: Actor
    reason: str


@dataclass(frozen=True)
class Tick:
    """Time passed: ends the call if a deadline is due."""


@dataclass(frozen=True)
class CaseEnded:
    """The case was closed, transferred or released: the call ends with it."""

    reason: str


Event = Propose | Accept | Decline | Hangup | Offer | Answer | Candidate | Connected | Failed | Tick | CaseEnded


# -- the call -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    case_id: str
    call_id: str
    media: Media
    proposer: Side
    state: CallState
    staff: str  # the staff party's uid
    citizen: str  # the citizen party's uid; "" until the citizen acts
    v: int = 1
    reason: str = ""
    started_ms: int = 0
    deadline_ms: int = 0
    connected_ms: int = 0
    ended_ms: int = 0
    restarts: int = 0
    offer_pending: bool = False  # an offer went out and its answer has not come back
    history: tuple[str, ...] = field(default=())  # states passed through, for tests and audit

    def party(self, who: Actor) -> bool:
        """The actor is this call's party on their side (a side not yet fixed: anyone the hub let through)."""
        uid = self.staff if who.side == "staff" else self.citizen
        return who.uid == uid or (not uid and self.state == CallState.PROPOSED)

    def other_uid(self, who: Actor) -> str:
        return self.citizen if who.side == "staff" else self.staff

    @property
    def duration_ms(self) -> int:
        """Connected time of an ended call (0 while live or when it never connected)."""
        if not (self.connected_ms and self.ended_ms):
            return 0
        return max(0, self.ended_ms - self.connected_ms)

    def view(self) -> dict[str, Any]:
        """The ``call`` frame's fields (no SDP, no credentials)."""
        return {
            "t": "call",
            "case": self.case_id,
            "call": self.call_id,
            "v": self.v,
            "state": self.state.value,
            "media": self.media,
            "proposer": self.proposer,
            "staff": self.staff,
            "citizen": self.citizen,
            "reason": self.reason,
            "deadline_ms": self.deadline_ms,
            "connected_ms": self.connected_ms,
            "ended_ms": self.ended_ms,
            "duration_ms": self.duration_ms,
            "restarts": self.restarts,
        }


@dataclass(frozen=True)
class Step:
    call: Call
    changed: bool
    events: tuple[str, ...] = ()  # transcript events: proposed, accepted, declined, ended, failed


def step(call: Call | None, event: Event, now_ms: int, case_id: str, limits: Limits = Limits()) -> Step:
    """The next call after ``event``; raises CallError when the event is not allowed now.

    Settle first (``settle``): an event is judged against the call as it stands,
    so a deadline that has passed must already have ended the call.
    """
    if isinstance(event, Propose):
        return _propose(call, event, now_ms, case_id, limits)
    if call is None:
        raise NoCall("no call on this case; propose one first")
    if isinstance(event, Tick):
        return settle(call, now_ms) or Step(call, changed=False)
    if isinstance(event, CaseEnded):
        if not call.state.live:
            return Step(call, changed=False)
        return _end(call, CallState.ENDED, event.reason, now_ms)
    if not call.party(event.by):
        raise NotParty("you are not a party of this call")
    if not call.state.live:
        raise CallStateError(f"the call has {call.state.value}")
    handler: Any = _HANDLERS[type(event)]
    result: Step = handler(call, event, now_ms, limits)
    return result


def settle(call: Call | None, now_ms: int) -> Step | None:
    """The timeout step when a live call's deadline has passed, else None."""
    if call is None or not call.state.live or not call.deadline_ms or now_ms < call.deadline_ms:
        return None
    return _timeout(call, now_ms)


def _timeout(call: Call, now_ms: int) -> Step:
    if call.state == CallState.PROPOSED:
        return _end(call, CallState.ENDED, "no_answer", now_ms)
    if call.state == CallState.CONNECTED:
        return _end(call, CallState.ENDED, "time_limit", now_ms)
    return _end(call, CallState.FAILED, "setup_timeout", now_ms)


def _propose(call: Call | None, event: Propose, now_ms: int, case_id: str, limits: Limits) -> Step:
    if call is not None and call.state.live:
        raise CallStateError("a call is already live on this case; end it first")
    new = Call(
        case_id=case_id,
        call_id=event.call_id,
        media=event.media,
        proposer=event.by.side,
        state=CallState.PROPOSED,
        staff=event.by.uid if event.by.side == "staff" else "",
        citizen=event.by.uid if event.by.side == "citizen" else "",
        v=(call.v + 1) if call else 1,
        started_ms=now_ms,
        deadline_ms=now_ms + limits.ring_ms,
        history=(CallState.PROPOSED.value,),
    )
    return Step(new, changed=True, events=("proposed",))


def _accept(call: Call, event: Accept, now_ms: int, limits: Limits) -> Step:
    _must_be(call, CallState.PROPOSED, "only a proposed call can be accepted")
    if event.by.side == call.proposer:
        raise CallStateError("the other side accepts a call you proposed")
    accepted = _move(call, CallState.ACCEPTED, now_ms + limits.setup_ms)
    accepted = _with_party(accepted, event.by)
    return Step(accepted, changed=True, events=("accepted",))


def _decline(call: Call, event: Decline, now_ms: int, limits: Limits) -> Step:
    _must_be(call, CallState.PROPOSED, "only a proposed call can be declined")
    if event.by.side == call.proposer:
        raise CallStateError("hang up to cancel a call you proposed")
    declined = _with_party(_end(call, CallState.DECLINED, "declined", now_ms).call, event.by)
    return Step(declined, changed=True, events=("declined",))


def _hangup(call: Call, event: Hangup, now_ms: int, limits: Limits) -> Step:
    if call.state == CallState.PROPOSED and event.by.side != call.proposer:
        raise CallStateError("decline a call you have not accepted")
    reason = "cancelled" if call.state == CallState.PROPOSED else "hung_up"
    return _end(call, CallState.ENDED, reason, now_ms)


def _offer(call: Call, event: Offer, now_ms: int, limits: Limits) -> Step:
    _consented(call)
    if event.by.side != "staff":
        raise CallStateError("the staff side makes the offers; answer instead")
    if call.state == CallState.ACCEPTED:
        return Step(replace(_move(call, CallState.NEGOTIATING, call.deadline_ms), offer_pending=True), changed=True)
    if call.restarts >= limits.max_restarts:
        raise CallStateError("too many renegotiations; hang up and call again")
    # A new offer on a negotiating or connected call: renegotiation or an ICE restart.
    # The call keeps its state; a negotiating call gets the setup time again, a connected one keeps
    # its time limit (browsers report a connection that stays lost as failed).
    restarted = replace(
        call,
        v=call.v + 1,
        restarts=call.restarts + 1,
        offer_pending=True,
        deadline_ms=(now_ms + limits.setup_ms) if call.state == CallState.NEGOTIATING else call.deadline_ms,
    )
    return Step(restarted, changed=True)


def _answer(call: Call, event: Answer, now_ms: int, limits: Limits) -> Step:
    _consented(call)
    if event.by.side != "citizen":
        raise CallStateError("the citizen side answers; the staff side offers")
    if not call.offer_pending:
        raise CallStateError("there is no offer to answer")
    return Step(replace(call, v=call.v + 1, offer_pending=False), changed=True)


def _candidate(call: Call, event: Candidate, now_ms: int, limits: Limits) -> Step:
    _consented(call)
    return Step(call, changed=False)


def _connected(call: Call, event: Connected, now_ms: int, limits: Limits) -> Step:
    _consented(call)
    if call.state == CallState.CONNECTED:
        return Step(call, changed=False)  # the other party said so first
    if call.state != CallState.NEGOTIATING:
        raise CallStateError("a call connects after an offer and an answer")
    connected = replace(_move(call, CallState.CONNECTED, now_ms + limits.max_ms), connected_ms=now_ms)
    return Step(connected, changed=True)


def _failed(call: Call, event: Failed, now_ms: int, limits: Limits) -> Step:
    return _end(call, CallState.FAILED, event.reason or "media", now_ms)


def _with_party(call: Call, who: Actor) -> Call:
    return replace(call, staff=who.uid) if who.side == "staff" else replace(call, citizen=who.uid)


def _must_be(call: Call, state: CallState, message: str) -> None:
    if call.state != state:
        raise CallStateError(message)


def _consented(call: Call) -> None:
    if call.state == CallState.PROPOSED:
        raise NoConsent("the citizen has not accepted the call: no media may be negotiated yet")


def _move(call: Call, state: CallState, deadline_ms: int) -> Call:
    return replace(call, state=state, v=call.v + 1, deadline_ms=deadline_ms, history=(*call.history, state.value))


def _end(call: Call, state: CallState, reason: str, now_ms: int) -> Step:
    ended = replace(_move(call, state, 0), reason=reason, ended_ms=now_ms, offer_pending=False)
    event = {CallState.DECLINED: "declined", CallState.FAILED: "failed"}.get(state, "ended")
    return Step(ended, changed=True, events=(event,))


_HANDLERS: dict[type, Any] = {
    Accept: _accept,
    Decline: _decline,
    Hangup: _hangup,
    Offer: _offer,
    Answer: _answer,
    Candidate: _candidate,
    Connected: _connected,
    Failed: _failed,
}


# -- storage form ---------------------------------------------------------------------------


def to_record(call: Call) -> dict[str, Any]:
    record = {k: getattr(call, k) for k in Call.__dataclass_fields__}
    record["state"] = call.state.value
    record["history"] = list(call.history)
    return record


def from_record(record: dict[str, Any]) -> Call:
    values = {k: record[k] for k in Call.__dataclass_fields__ if k in record}
    values["state"] = CallState(values["state"])
    values["history"] = tuple(values.get("history", ()))
    return Call(**values)
