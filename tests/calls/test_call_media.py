"""Two aiortc peers call each other through the real server (real Redis, real WebSockets)."""

from __future__ import annotations

import asyncio

from support import ServerProcess, timeout
from support_hub import Chat, frames_until

from direkt.loadtests.calls import set_up_call


async def transcript_codes(chat: Chat) -> list[dict]:
    entries = await chat.citizen.call("GET", f"/api/cases/{chat.case}/transcript")
    return [e for e in entries["messages"] if str(e.get("code", "")).startswith("call_")]


async def test_video_call_between_two_aiortc_peers_carries_media_both_ways(chat: Chat, server: ServerProcess) -> None:
    pair = await set_up_call(chat.ns, chat.cs, chat.case, "video")
    try:
        async with asyncio.timeout(timeout(15)):
            await asyncio.gather(pair.staff.wait_for_media(20), pair.citizen.wait_for_media(20))
        assert pair.staff.received["video"] >= 20 and pair.citizen.received["audio"] >= 20
        # both sides hear that the call connected
        await frames_until(chat.cs, "call", 10, call=pair.call, state="connected")
        await frames_until(chat.ns, "call", 10, call=pair.call, state="connected")
        await asyncio.sleep(1.1)
        ended = await chat.ns.request({"t": "call_hangup", "case": chat.case, "call": pair.call}, "call")
        assert ended["state"] == "ended" and ended["reason"] == "hung_up"
        assert ended["duration_ms"] >= 1000
        await frames_until(chat.cs, "call", 5, call=pair.call, state="ended")
    finally:
        await pair.close()
    events = await transcript_codes(chat)
    assert [e["code"] for e in events] == ["call_proposed", "call_accepted", "call_ended"]
    assert events[-1]["duration_ms"] >= 1000
    assert events[-1]["text"].startswith("Samtalet avslutades efter ")
    # the chat carries on after the call
    ack = await chat.cs.request({"t": "send", "case": chat.case, "cid": "after-call", "text": "Tack!"}, "ack")
    assert ack["t"] == "ack"
    await frames_until(chat.ns, "msg", 5, cid="after-call")
    assert "v=0" not in server.output() and "a=fingerprint" not in server.output()
