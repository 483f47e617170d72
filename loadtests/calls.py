"""Scripted calls: a nurse's and a citizen's aiortc peers set up a call through the server.

``set_up_call`` walks the protocol of docs/protocol.md §7 the way the browser
clients do (propose, consent, ICE servers, offer, answer, connected) and
returns the two peers once media has arrived on both sides, with the time
that took.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from direkt.loadtests.client import Socket
from direkt.signaling.peer import CallPeer


class CallRefused(Exception):
    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.frame = frame


@dataclass
class CallPair:
    case: str
    call: str
    staff: CallPeer
    citizen: CallPeer
    setup_s: float  # propose → media frames received on both sides

    async def close(self) -> None:
        await self.staff.close()
        await self.citizen.close()


async def request(sock: Socket, frame: dict[str, Any], reply: str, timeout: float = 10.0) -> dict[str, Any]:
    got = await sock.request(frame, reply, timeout)
    if got["t"] == "error":
        raise CallRefused(got)
    return got


async def set_up_call(
    nurse: Socket, citizen: Socket, case: str, media: str = "video", *, by: str = "staff", timeout: float = 20.0
) -> CallPair:
    """Propose (``by`` the staff or the citizen side), accept, negotiate; returns once media flows both ways."""
    started = time.perf_counter()
    proposer, answerer = (nurse, citizen) if by == "staff" else (citizen, nurse)
    proposed = await request(proposer, {"t": "call_propose", "case": case, "media": media}, "call")
    call = proposed["call"]
    await answerer.expect("call", timeout, call=call, state="proposed")
    await request(answerer, {"t": "call_accept", "case": case, "call": call}, "call")
    staff_peer = CallPeer(nurse.send, case, call, side="staff", media=media)
    citizen_peer = CallPeer(citizen.send, case, call, side="citizen", media=media)
    try:
        async with asyncio.timeout(timeout):
            await citizen_peer.start(await ice_servers(citizen, case, call))
            await staff_peer.start(await ice_servers(nurse, case, call))  # sends the offer
            await citizen_peer.on_frame(await citizen.expect("sdp", timeout, call=call, kind="offer"))
            await staff_peer.on_frame(await nurse.expect("sdp", timeout, call=call, kind="answer"))
            await asyncio.gather(staff_peer.wait_for_media(1), citizen_peer.wait_for_media(1))
    except BaseException:
        await staff_peer.close()
        await citizen_peer.close()
        raise
    return CallPair(case, call, staff_peer, citizen_peer, time.perf_counter() - started)


async def ice_servers(sock: Socket, case: str, call: str) -> list[dict[str, Any]]:
    reply = await request(sock, {"t": "call_ice_servers", "case": case, "call": call}, "ice_servers")
    servers: list[dict[str, Any]] = reply["servers"]
    return servers
