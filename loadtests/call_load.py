"""The ``calls`` scenario: call set-ups through the signaling relay, many at once.

Each open chat places calls one after another on an open-loop schedule:
the nurse proposes, the citizen consents, both fetch ICE servers, the nurse's
offer and the citizen's answer cross the relay, both report ``connected``,
and the nurse hangs up. The SDP is real (made once per process by two aiortc
peers on 127.0.0.1) but no media flows: the scenario measures the server's
signaling; ``direkt bench calls`` measures set-ups with media.
"""

from __future__ import annotations

import asyncio
import time

from direkt.loadtests.actors import Citizen, Nurse, guarded
from direkt.loadtests.scenarios import World
from direkt.loadtests.schedule import paced, ticks

SDP: dict[str, str] = {}


async def prepare(world: World) -> None:
    """Make one real offer and answer with aiortc (audio and video, gathered on loopback)."""
    from aiortc import RTCConfiguration, RTCPeerConnection

    from direkt.signaling.ice import gather_only_on

    gather_only_on(["127.0.0.1"])
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        for kind in ("audio", "video"):
            offerer.addTransceiver(kind, direction="sendrecv")
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        SDP["offer"], SDP["answer"] = offerer.localDescription.sdp, answerer.localDescription.sdp
    finally:
        await offerer.close()
        await answerer.close()


async def calls(world: World, t0: float, duration: float) -> None:
    per_chat = world.spec.rate / max(1, len(world.pairs))
    await asyncio.gather(
        *(chat_calls(world, n, c, t0 + i * 0.01, duration, per_chat) for i, (n, c) in enumerate(world.pairs))
    )


async def chat_calls(world: World, nurse: Nurse, citizen: Citizen, start: float, duration: float, rate: float) -> None:
    async for at in paced(ticks(rate, start, duration)):
        if await guarded(world.probe, "call", one_call(nurse, citizen, at, world)) is None:
            world.probe.counters["calls_failed"] += 1


async def one_call(nurse: Nurse, citizen: Citizen, scheduled: float, world: World) -> bool:
    assert nurse.wire is not None and citizen.wire is not None
    case = citizen.case
    proposed = citizen.expect("call", 10, case=case, state="proposed")
    reply = await nurse.wire.request({"t": "call_propose", "case": case, "media": "video"}, "call", 10)
    if reply["t"] == "error":
        proposed.cancel()
        world.probe.error(f"call_{reply.get('code')}")
        return False
    call = reply["call"]
    await proposed
    offer = citizen.expect("sdp", 10, call=call, kind="offer")
    await checked(world, citizen.wire.request({"t": "call_accept", "case": case, "call": call}, "call", 10))
    for side in (nurse, citizen):
        assert side.wire is not None
        await checked(world, side.wire.request({"t": "call_ice_servers", "case": case, "call": call}, "ice_servers"))
    answer = nurse.expect("sdp", 10, call=call, kind="answer")
    await nurse.wire.send({"t": "sdp", "case": case, "call": call, "kind": "offer", "sdp": SDP["offer"]})
    await offer
    await citizen.wire.send({"t": "sdp", "case": case, "call": call, "kind": "answer", "sdp": SDP["answer"]})
    await answer
    connected = citizen.expect("call", 10, call=call, state="connected")
    for side in (nurse, citizen):
        assert side.wire is not None
        await checked(
            world, side.wire.request({"t": "call_report", "case": case, "call": call, "state": "connected"}, "call")
        )
    await connected
    world.probe.headline(time.monotonic() - scheduled)
    await checked(world, nurse.wire.request({"t": "call_hangup", "case": case, "call": call}, "call", 10))
    world.probe.counters["calls_connected"] += 1
    return True


async def checked(world: World, reply_of: object) -> None:
    reply = await reply_of  # type: ignore[misc]
    if reply["t"] == "error":
        world.probe.error(f"call_{reply.get('code')}")
        raise ConnectionError(f"call refused: {reply.get('code')}")
