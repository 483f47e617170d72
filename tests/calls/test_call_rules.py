"""Who may do what in a call, and what the server refuses, through the real server.

Every refusal is a typed error to the sender only; the call's state and the
chat carry on as before (TARGETS 22–24).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from support import ServerProcess
from support_hub import Chat, barrier, citizen, find, frames_until, kinds, open_chat, staff

from direkt.loadtests.calls import set_up_call
from direkt.loadtests.client import Socket
from direkt.signaling.ice import rtc_configuration, turn_accepts

TURN_SECRET = "test-turn-secret-not-for-production"
CHROMIUM_CANDIDATE = (
    "candidate:3625848226 1 udp 2122260223 192.0.2.2 50421 typ host generation 0 ufrag 8Z0b network-id 1"
)


async def real_offer(media: str = "video") -> str:
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(AudioStreamTrack())
    if media == "video":
        pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def refused(sock: Socket, frame: dict[str, Any], code: str) -> dict[str, Any]:
    got = await sock.request(frame, "error", 5)
    assert got["t"] == "error" and got["code"] == code, got
    assert got["message"]
    return got


async def propose(chat: Chat, media: str = "video") -> str:
    proposed = await chat.ns.request({"t": "call_propose", "case": chat.case, "media": media}, "call")
    assert proposed["state"] == "proposed", proposed
    await frames_until(chat.cs, "call", 5, call=proposed["call"], state="proposed")
    return str(proposed["call"])


async def accept(chat: Chat, call: str) -> None:
    accepted = await chat.cs.request({"t": "call_accept", "case": chat.case, "call": call}, "call")
    assert accepted["state"] == "accepted", accepted
    await frames_until(chat.ns, "call", 5, call=call, state="accepted")


async def chat_still_works(chat: Chat, tag: str) -> None:
    ack = await chat.cs.request({"t": "send", "case": chat.case, "cid": f"c-{tag}", "text": "Hallå?"}, "ack")
    assert ack["t"] == "ack", ack
    await frames_until(chat.ns, "msg", 5, cid=f"c-{tag}")
    ack = await chat.ns.request({"t": "send", "case": chat.case, "cid": f"n-{tag}", "text": "Jag är kvar."}, "ack")
    assert ack["t"] == "ack", ack
    await frames_until(chat.cs, "msg", 5, cid=f"n-{tag}")


async def call_state(sock: Socket, case: str) -> str:
    """The live call's state as a fresh join reports it ("" when no call is live)."""
    got = await frames_until(sock, "case", 5, case=case, ref=await _join(sock, case))
    got += await barrier(sock)
    calls = kinds(got, "call")
    return str(calls[-1]["state"]) if calls else ""


async def _join(sock: Socket, case: str) -> str:
    ref = f"rejoin-{next(sock.refs)}"
    await sock.send({"t": "join", "case": case, "ref": ref})
    return ref


async def test_sdp_and_ice_before_consent_are_refused_and_nothing_reaches_the_citizen(chat: Chat) -> None:
    call = await propose(chat)
    offer = await real_offer()
    await refused(chat.ns, {"t": "sdp", "case": chat.case, "call": call, "kind": "offer", "sdp": offer}, "no_consent")
    ice = {"t": "ice", "case": chat.case, "call": call, "candidate": CHROMIUM_CANDIDATE, "mid": "0", "mline": 0}
    await refused(chat.ns, ice, "no_consent")
    await refused(chat.ns, {"t": "call_ice_servers", "case": chat.case, "call": call}, "no_consent")
    got = await barrier(chat.cs)
    assert not kinds(got, "sdp") and not kinds(got, "ice"), got
    assert await call_state(chat.cs, chat.case) == "proposed"
    await chat_still_works(chat, "consent")


async def test_a_third_party_cannot_signal_even_from_the_same_unit(chat: Chat, server: ServerProcess) -> None:
    call = await propose(chat)
    await accept(chat, call)
    olle = await staff(server.base, "nurse-2")  # same unit: may follow the case, is no party of the call
    other = await citizen(server.base, "198105102381")  # Maja: not this case's citizen
    try:
        os_ = await olle.socket()
        await os_.request({"t": "join", "case": chat.case}, "case")
        offer = await real_offer()
        sdp = {"t": "sdp", "case": chat.case, "call": call, "kind": "offer", "sdp": offer}
        await refused(os_, sdp, "conflict")  # not the holder of the case
        await refused(os_, {"t": "call_hangup", "case": chat.case, "call": call}, "conflict")
        await refused(os_, {"t": "call_ice_servers", "case": chat.case, "call": call}, "conflict")
        ms = await other.socket()
        await refused(ms, {"t": "join", "case": chat.case}, "not_found")
        await refused(ms, sdp, "conflict")  # must join (and may not): no hint that a call exists
        # the follower sees call states (no SDP) but never the parties' SDP or candidates
        await chat.ns.send(sdp)
        await frames_until(chat.cs, "sdp", 5, call=call, kind="offer")
        seen = await barrier(os_)
        assert not kinds(seen, "sdp") and not kinds(seen, "ice"), seen
        await os_.close()
        await ms.close()
    finally:
        await olle.aclose()
        await other.aclose()
    assert await call_state(chat.ns, chat.case) == "negotiating"
    await chat_still_works(chat, "third")


async def test_malformed_sdp_and_candidates_are_refused_without_touching_call_or_chat(chat: Chat) -> None:
    call = await propose(chat, "audio")
    await accept(chat, call)
    base = {"t": "sdp", "case": chat.case, "call": call, "kind": "offer"}
    await refused(chat.ns, {**base, "sdp": "v=0\r\nthis is not sdp\r\n"}, "bad_sdp")
    await refused(chat.ns, {**base, "sdp": (await real_offer()).replace("a=fingerprint", "a=x-fp")}, "bad_sdp")
    await refused(chat.ns, {**base, "sdp": await real_offer("video")}, "bad_sdp")  # video in an audio call
    await refused(chat.ns, {**base, "sdp": "v=0\r\n" + "a=x\r\n" * 8000}, "bad_frame")  # over 32,000
    ice = {"t": "ice", "case": chat.case, "call": call, "mid": "0", "mline": 0}
    await refused(chat.ns, {**ice, "candidate": "candidate:1 1 udp 1 999.1.1.1 1 typ host"}, "bad_candidate")
    await refused(chat.ns, {**ice, "candidate": "candidate:1 1 udp 1 10.0.0.1 1 typ host\r\na=evil"}, "bad_candidate")
    await refused(chat.ns, {**ice, "candidate": "x" * 2000}, "bad_frame")
    await refused(chat.ns, {**ice, "candidate": CHROMIUM_CANDIDATE, "mline": 99}, "bad_frame")
    got = await barrier(chat.cs)
    assert not kinds(got, "sdp") and not kinds(got, "ice"), got
    assert await call_state(chat.ns, chat.case) == "accepted"
    # the same call then negotiates normally
    await chat.ns.send({**base, "sdp": await real_offer("audio")})
    await frames_until(chat.cs, "sdp", 5, call=call, kind="offer")
    await chat_still_works(chat, "malformed")


async def test_roles_are_fixed_and_replays_are_refused(chat: Chat) -> None:
    call = await propose(chat)
    await refused(chat.ns, {"t": "call_accept", "case": chat.case, "call": call}, "call_state")  # own proposal
    await accept(chat, call)
    await refused(chat.cs, {"t": "call_accept", "case": chat.case, "call": call}, "call_state")  # replayed
    await refused(chat.ns, {"t": "call_propose", "case": chat.case, "media": "audio"}, "call_state")  # one at a time
    offer = await real_offer()
    await refused(chat.cs, {"t": "sdp", "case": chat.case, "call": call, "kind": "offer", "sdp": offer}, "call_state")
    await refused(chat.ns, {"t": "sdp", "case": chat.case, "call": call, "kind": "answer", "sdp": offer}, "call_state")
    await refused(chat.cs, {"t": "sdp", "case": chat.case, "call": call, "kind": "answer", "sdp": offer}, "call_state")
    await refused(chat.ns, {"t": "call_accept", "case": chat.case, "call": "0123456789ab"}, "no_call")
    await chat.ns.request({"t": "call_hangup", "case": chat.case, "call": call}, "call")
    await refused(chat.cs, {"t": "call_hangup", "case": chat.case, "call": call}, "call_state")  # replayed hang-up
    ice = {"t": "ice", "case": chat.case, "call": call, "candidate": CHROMIUM_CANDIDATE, "mid": "0", "mline": 0}
    await refused(chat.cs, ice, "call_state")
    # a call step the call's rules refuse is no refusal of her right to the case:
    # the nurse is not told she lost it, and her console keeps the chat open
    assert not kinds(chat.ns.skipped + await barrier(chat.ns), "done"), chat.ns.skipped
    await chat_still_works(chat, "roles")


async def test_declined_calls_and_unanswered_calls_end_in_the_transcript(chat: Chat) -> None:
    call = await propose(chat)
    declined = await chat.cs.request({"t": "call_decline", "case": chat.case, "call": call}, "call")
    assert declined["state"] == "declined"
    await frames_until(chat.ns, "call", 5, call=call, state="declined")
    call = await propose(chat, "audio")  # a new call may follow
    ended = await frames_until(chat.ns, "call", 8, call=call, state="ended")  # ring timeout: 3 s here
    assert ended[-1]["reason"] == "no_answer"
    messages = (await chat.citizen.call("GET", f"/api/cases/{chat.case}/transcript"))["messages"]
    calls = [(m["code"], m.get("reason", "")) for m in messages if m.get("code", "").startswith("call_")]
    assert calls == [
        ("call_proposed", ""),
        ("call_declined", "declined"),
        ("call_proposed", ""),
        ("call_ended", "no_answer"),
    ]
    assert all("sdp" not in m and "v=0" not in str(m) for m in messages)


async def test_an_accepted_call_that_never_connects_fails_and_the_chat_goes_on(chat: Chat) -> None:
    call = await propose(chat)
    await accept(chat, call)
    failed = await frames_until(chat.cs, "call", 12, call=call, state="failed")  # setup timeout: 6 s here
    assert failed[-1]["reason"] == "setup_timeout"
    messages = (await chat.citizen.call("GET", f"/api/cases/{chat.case}/transcript"))["messages"]
    assert messages[-1]["code"] == "call_failed" and "Chatten fortsätter" in messages[-1]["text"]
    await chat_still_works(chat, "timeout")


@pytest.mark.parametrize("how", ["close", "transfer", "release"])
async def test_the_call_ends_with_the_case(chat: Chat, how: str) -> None:
    pair = await set_up_call(chat.ns, chat.cs, chat.case)
    try:
        frame: dict[str, Any] = {"t": how, "case": chat.case}
        if how == "close":
            frame |= {"outcome": "video_consultation", "note": "Bedömd i video."}
        if how == "transfer":
            frame |= {"unit": "vc-other", "skill": "nurse"}
        await chat.ns.request(frame, "done")
        reason = {"close": "case_closed", "transfer": "transferred", "release": "released"}[how]
        ended = await frames_until(chat.cs, "call", 5, call=pair.call, state="ended")
        assert ended[-1]["reason"] == reason
    finally:
        await pair.close()


async def test_turn_credentials_only_for_the_parties_of_a_live_call(standalone_redis: Any) -> None:
    server = ServerProcess(
        standalone_redis.url,
        DIREKT_ICE_SERVERS="stun:127.0.0.1:3478,turn:127.0.0.1:3478?transport=udp",
        DIREKT_TURN_SECRET=TURN_SECRET,
        DIREKT_TURN_TTL_SECONDS="600",
    )
    try:
        async with open_chat(server.base) as chat:
            config = await chat.citizen.call("GET", "/api/client-config")
            assert config["ice_servers"] == [{"urls": ["stun:127.0.0.1:3478"]}]  # STUN only, no credentials
            call = await propose(chat)
            ask = {"t": "call_ice_servers", "case": chat.case, "call": call}
            await refused(chat.ns, ask, "no_consent")  # the citizen has not accepted yet
            await accept(chat, call)
            for sock in (chat.ns, chat.cs):
                got = await sock.request(ask, "ice_servers")
                stun, turn = got["servers"]
                assert stun == {"urls": ["stun:127.0.0.1:3478"]}
                now_s = got["expires_ms"] // 1000 - 600
                assert turn_accepts(TURN_SECRET, turn["username"], turn["credential"], now_s)
                assert not turn_accepts(TURN_SECRET, turn["username"], turn["credential"], now_s + 601)  # expired
                assert not turn_accepts("another-secret", turn["username"], turn["credential"], now_s)
            olle = await staff(server.base, "nurse-2")
            os_ = await olle.socket()
            await os_.request({"t": "join", "case": chat.case}, "case")
            await refused(os_, ask, "conflict")
            await os_.close()
            await olle.aclose()
            await chat.ns.request({"t": "call_hangup", "case": chat.case, "call": call}, "call")
            await refused(chat.cs, ask, "call_state")  # the call is over
    finally:
        server.stop()


@pytest.mark.parametrize("how", ["close", "transfer"])
async def test_no_turn_credentials_once_the_case_is_closed_or_transferred_away(standalone_redis: Any, how: str) -> None:
    """TARGETS 24: after a close, or a transfer away from the nurse, neither party of the call that
    was live gets TURN credentials for it (a typed error, and no ``ice_servers``), nor does the
    nurse who takes the transferred case at the other unit."""
    server = ServerProcess(
        standalone_redis.url, DIREKT_ICE_SERVERS="turn:127.0.0.1:3478", DIREKT_TURN_SECRET=TURN_SECRET
    )
    try:
        async with open_chat(server.base) as chat:
            call = await propose(chat)
            await accept(chat, call)
            ask = {"t": "call_ice_servers", "case": chat.case, "call": call}
            assert (await chat.ns.request(ask, "ice_servers"))["t"] == "ice_servers"  # while the case is hers
            frame: dict[str, Any] = {"t": how, "case": chat.case}
            frame |= {"outcome": "video_consultation"} if how == "close" else {"unit": "vc-other", "skill": "nurse"}
            await chat.ns.request(frame, "done")
            # at once, whether or not the citizen's socket has heard of it yet: the call ended first
            assert (await chat.cs.request(ask, "error"))["code"] in {"conflict", "call_state"}
            state = "closed" if how == "close" else "waiting"
            await find(chat.cs, chat.cs.skipped, "case", case=chat.case, state=state)  # the citizen's app is told
            await refused(chat.ns, ask, "conflict")  # she no longer holds the case
            await refused(chat.cs, ask, "conflict")  # the chat is closed, or waits for a nurse at the new unit
            if how == "transfer":
                pia = await staff(server.base, "nurse-other")
                ps = await pia.socket()
                assert (await ps.request({"t": "claim_next", "rid": "pia-1"}, "claimed"))["case"] == chat.case
                await ps.request({"t": "join", "case": chat.case}, "case")
                await refused(ps, ask, "call_state")  # the call ended with the transfer
                assert not kinds(await barrier(ps), "ice_servers")
                await ps.close()
                await pia.aclose()
            for sock in (chat.ns, chat.cs):
                assert not kinds(await barrier(sock), "ice_servers")
    finally:
        server.stop()


async def test_a_reloaded_page_learns_of_the_live_call(chat: Chat) -> None:
    call = await propose(chat)
    fresh = await chat.citizen.socket()
    try:
        reply = await fresh.request({"t": "join", "case": chat.case}, "case")
        assert reply["t"] == "case"
        live = await fresh.expect("call", 5, call=call)
        assert live["state"] == "proposed" and live["proposer"] == "staff"
    finally:
        await fresh.close()


async def test_a_call_across_two_server_processes(chat: Chat, standalone_redis: Any) -> None:
    """The nurse on one process, the citizen on another (one Redis): signaling crosses over."""
    other = ServerProcess(standalone_redis.url, DIREKT_ICE_HOST_ADDRESSES="127.0.0.1")
    try:
        nurse_elsewhere = await staff(other.base, "nurse-1")
        ns2 = await nurse_elsewhere.socket()
        await ns2.request({"t": "join", "case": chat.case}, "case")
        pair = await set_up_call(ns2, chat.cs, chat.case)
        await asyncio.wait_for(asyncio.gather(pair.staff.wait_for_media(10), pair.citizen.wait_for_media(10)), 15)
        await pair.close()
        await ns2.close()
        await nurse_elsewhere.aclose()
    finally:
        other.stop()
