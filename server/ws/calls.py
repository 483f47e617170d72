"""The hub side of calls: frames in, call steps applied, effects out.

Each call frame is checked in this order, cheapest first: the socket follows
the case (the join already authorised it), the sender's right to the case
(the holder; a citizen whose chat is open), the SDP or candidate itself (pure),
then the call record (one Redis read, and a compare-and-set write when the
state changes). Effects of a change: a ``call`` frame to everyone following
the case, the transcript's system message for proposed/accepted/declined/
ended/failed, and a timer for the call's next deadline. SDP and candidates go
only to the other party's own channel; they never enter the transcript or
the logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgpack
import structlog

from direkt.queue.scripts import REDIS_FAILURES, RedisClient, redis_errors
from direkt.server.background import spawn
from direkt.server.care.transcript import system_body
from direkt.server.care.writeguard import Guard
from direkt.server.errors import DirektError, as_direkt_errors
from direkt.server.redis import keys
from direkt.server.ws import frames as f
from direkt.signaling import call as c
from direkt.signaling.sdp import check_candidate, check_sdp
from direkt.signaling.store import CallStore

if TYPE_CHECKING:
    from direkt.queue.waitroom import Waitroom
    from direkt.server.care.transcript import Transcripts
    from direkt.server.settings import Settings
    from direkt.server.ws.chat import Chat

log = structlog.get_logger("direkt.calls")

MEDIA_WORDS = {"video": ("videosamtal", "a video call"), "audio": ("ljudsamtal", "an audio call")}
FAILURE_WORDS = {
    "devices": ("kameran eller mikrofonen gick inte att använda", "the camera or microphone could not be used"),
    "setup_timeout": ("anslutningen kom aldrig igång", "the connection never started"),
    "ice": ("anslutningen bröts", "the connection was lost"),
}


class Calls:
    """Process-wide: applies call frames from any connection of this process."""

    def __init__(
        self,
        settings: Settings,
        client: RedisClient,
        waitroom: Waitroom,
        transcripts: Transcripts,
        clock: Callable[[], int],
    ) -> None:
        self.client, self.waitroom, self.transcripts, self.clock = client, waitroom, transcripts, clock
        self.limits = c.Limits(
            ring_ms=int(settings.call_ring_seconds * 1000),
            setup_ms=int(settings.call_setup_seconds * 1000),
            max_ms=int(settings.call_max_seconds * 1000),
        )
        self.ice = settings.ice
        self.store = CallStore(client, self.limits.max_ms + 3_600_000)
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # -- frames ----------------------------------------------------------------------------

    async def on_frame(self, chat: Chat, frame: f.CallFrame) -> None:
        """Apply one call frame; a refusal of the call machine or the SDP checks leaves as a ``DirektError``."""
        with as_direkt_errors():
            chat.followed(frame.case)  # the join authorised this socket for the case
            actor = await self._actor(chat, frame.case)
            # Every step is written under the socket's right to the case, checked in the
            # step's own script: a nurse who no longer holds the case changes no call.
            await chat.fenced(frame.case, lambda guard: self._handle(chat, actor, frame, guard))

    async def _handle(self, chat: Chat, actor: c.Actor, frame: f.CallFrame, guard: Guard) -> None:
        if isinstance(frame, f.IceCandidateFrame):
            await chat.s.guards.verify(guard)  # a relay, not a step: checked just before it
            await self._relay_candidate(chat, actor, frame)
        elif isinstance(frame, f.SessionDescription):
            await self._relay_sdp(chat, actor, frame, guard)
        elif isinstance(frame, f.CallIceServers):
            await chat.s.guards.verify(guard)
            await self._ice_servers(chat, actor, frame)
        else:
            await self._change(chat, actor, frame, guard)

    async def _actor(self, chat: Chat, case_id: str) -> c.Actor:
        if chat.staff is not None:  # only the current lease holder: checked in each step's script
            return c.Actor(chat.who.uid, "staff")
        follow = chat.follows[case_id]
        if not follow.can_write:
            await chat.refresh_write(follow)  # a citizen acts on calls only while the chat is open
        return c.Actor(chat.who.uid, "citizen")

    async def _change(self, chat: Chat, actor: c.Actor, frame: Any, guard: Guard) -> None:
        event = self._event(actor, frame)
        call_id = getattr(frame, "call", "")
        result = await self.apply(frame.case, event, chat.who.name, call_id=call_id, guard=guard)
        chat.out.push({**result.call.view(), "ref": frame.ref})

    def _event(self, actor: c.Actor, frame: Any) -> c.Event:
        if isinstance(frame, f.CallPropose):
            return c.Propose(actor, secrets.token_hex(6), frame.media)
        if isinstance(frame, f.CallReport):
            return c.Connected(actor) if frame.state == "connected" else c.Failed(actor, frame.reason or "media")
        if isinstance(frame, f.CallAccept):
            return c.Accept(actor)
        if isinstance(frame, f.CallDecline):
            return c.Decline(actor)
        return c.Hangup(actor)

    async def apply(
        self, case_id: str, event: c.Event, name: str = "", call_id: str = "", guard: Guard | None = None
    ) -> c.Step:
        """Apply ``event`` (after ending the call first if a deadline has passed) and publish what changed."""
        while True:
            now, timed_out = self.clock(), False

            def decide(call: c.Call | None, now: int = now) -> c.Step:
                nonlocal timed_out
                settled = c.settle(call, now)
                timed_out = settled is not None  # reset on every attempt: the store may retry
                if settled is not None:
                    return settled
                if call_id and (call is None or call.call_id != call_id):
                    raise c.NoCall("no such call on this case; it may have ended")
                return c.step(call, event, now, case_id, self.limits)

            result = await self.store.apply(case_id, decide, guard)
            if result.changed:
                await self._publish(result, "" if timed_out else name)
            if not timed_out or isinstance(event, c.Tick):
                return result

    async def _relay_sdp(self, chat: Chat, actor: c.Actor, frame: f.SessionDescription, guard: Guard) -> None:
        call = await self._live(frame.case, frame.call)
        check_sdp(frame.sdp, media=call.media)
        event: c.Event = c.Offer(actor) if frame.kind == "offer" else c.Answer(actor)
        result = await self.apply(frame.case, event, chat.who.name, call_id=frame.call, guard=guard)
        payload = {"t": "sdp", "case": frame.case, "call": frame.call, "kind": frame.kind, "sdp": frame.sdp}
        await self._to_other(result.call, actor, payload)

    async def _relay_candidate(self, chat: Chat, actor: c.Actor, frame: f.IceCandidateFrame) -> None:
        check_candidate(frame.candidate, frame.mid, frame.mline)
        call = await self._live(frame.case, frame.call)
        c.step(call, c.Candidate(actor), self.clock(), frame.case, self.limits)  # raises unless allowed
        payload = {
            "t": "ice",
            "case": frame.case,
            "call": frame.call,
            "candidate": frame.candidate,
            "mid": frame.mid,
            "mline": frame.mline,
        }
        await self._to_other(call, actor, payload)

    async def _ice_servers(self, chat: Chat, actor: c.Actor, frame: f.CallIceServers) -> None:
        call = await self._live(frame.case, frame.call)
        if not call.state.consented:
            raise c.NoConsent("ICE servers are issued once the call is accepted")
        if not call.party(actor):
            raise c.NotParty("you are not a party of this call")
        servers, expires_s = self.ice.servers_for(actor.uid, self.clock() // 1000)
        frame_out = {"t": "ice_servers", "case": frame.case, "call": frame.call, "servers": servers}
        chat.out.push({**frame_out, "expires_ms": expires_s * 1000, "ref": frame.ref})

    async def _live(self, case_id: str, call_id: str) -> c.Call:
        call = await self.store.load(case_id)
        if call is None or call.call_id != call_id:
            raise c.NoCall("no such call on this case; it may have ended")
        if c.settle(call, self.clock()) is not None or not call.state.live:
            raise c.CallStateError("the call has ended")
        return call

    async def _to_other(self, call: c.Call, actor: c.Actor, payload: dict[str, Any]) -> None:
        other = call.other_uid(actor)
        if not other:
            raise c.CallStateError("the other party has not joined the call yet")
        with redis_errors():
            await self.client.publish(keys.user_channel(other), msgpack.packb(payload))

    # -- the case ends, the clock runs -----------------------------------------------------

    async def case_ended(self, case_id: str, reason: str) -> None:
        """The case was closed, transferred or released: end its live call, if any."""
        with contextlib.suppress(c.NoCall):
            await self.apply(case_id, c.CaseEnded(reason))

    async def live_view(self, case_id: str) -> dict[str, Any] | None:
        call = await self.store.load(case_id)
        if call is None or not call.state.live or c.settle(call, self.clock()) is not None:
            return None
        return call.view()

    def _schedule(self, call: c.Call) -> None:
        if (old := self._timers.pop(call.case_id, None)) is not None:
            old.cancel()
        if not call.state.live or not call.deadline_ms:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, (call.deadline_ms - self.clock()) / 1000) + 0.005
        self._timers[call.case_id] = loop.call_later(delay, self._tick, call.case_id)

    def _tick(self, case_id: str) -> None:
        self._timers.pop(case_id, None)
        spawn(self._safe_tick(case_id))

    async def _safe_tick(self, case_id: str) -> None:
        try:
            result = await self.apply(case_id, c.Tick())
            if not result.changed:
                self._schedule(result.call)  # woke a little early (clocks differ): wait for the deadline again
        except (DirektError, c.CallError, *REDIS_FAILURES) as exc:
            log.warning("call_tick_failed", case_id=case_id, problem=type(exc).__name__)

    # -- effects ---------------------------------------------------------------------------

    async def _publish(self, result: c.Step, name: str) -> None:
        call = result.call
        self._schedule(call)
        for event in result.events:
            await self.transcripts.append(call.case_id, {"ts": self.clock(), **transcript_body(call, event, name)})
        with redis_errors():
            await self.client.publish(keys.case_channel(call.case_id), b"~" + msgpack.packb(call.view()))
        log.info("call", case_id=call.case_id, call=call.call_id, state=call.state.value, reason=call.reason)


def transcript_body(call: c.Call, event: str, name: str) -> dict[str, Any]:
    """The system message for a call event, in Swedish and English (no SDP, no devices)."""
    sv_media, en_media = MEDIA_WORDS[call.media]
    who = name or ("Vårdpersonalen" if call.proposer == "staff" else "Patienten")
    who_en = name or ("The staff member" if call.proposer == "staff" else "The patient")
    if event == "proposed":
        verb_sv, verb_en = ("föreslår ett", "suggests") if call.proposer == "staff" else ("ber om ett", "asks for")
        sv, en = f"{who} {verb_sv} {sv_media}.", f"{who_en} {verb_en} {en_media}."
    elif event == "accepted":
        sv, en = f"{who} svarade. Samtalet kopplas upp.", f"{who_en} answered. The call is connecting."
    elif event == "declined":
        sv, en = f"{who} avböjde samtalet.", f"{who_en} declined the call."
    elif event == "failed":
        detail_sv, detail_en = FAILURE_WORDS.get(call.reason, ("tekniskt fel", "a technical problem"))
        sv = f"Samtalet kunde inte kopplas upp ({detail_sv}). Chatten fortsätter."
        en = f"The call could not be connected ({detail_en}). The chat carries on."
    else:
        sv, en = _ended_text(call)
    extra: dict[str, Any] = {"call": call.call_id, "media": call.media, "reason": call.reason}
    if event in ("ended", "failed"):
        extra["duration_ms"] = call.duration_ms
    return {**system_body(f"call_{event}", sv, en), **extra}


def _ended_text(call: c.Call) -> tuple[str, str]:
    if call.duration_ms:
        minutes, seconds = divmod(round(call.duration_ms / 1000), 60)
        length = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        return f"Samtalet avslutades efter {length}.", f"The call ended after {length}."
    if call.reason == "no_answer":
        return "Samtalet besvarades inte.", "The call was not answered."
    if call.reason == "cancelled":
        return "Samtalet avbröts innan det besvarades.", "The call was cancelled before it was answered."
    return "Samtalet avslutades.", "The call ended."
