"""At ``DIREKT_LOG_LEVEL=debug`` the server log still holds no personal data (TARGETS 26).

A real ``direkt serve`` at debug level: a citizen logs in with a personal
identity number, tries her camera against the server's echo peer, answers
triage in her own words, chats with a nurse, and the two set up a video call
(real aiortc peers, SDP and ICE through the server).
Then the whole log is searched for the personnummer, the message texts, the
free-text triage answer, the session cookie, the CSRF token, the socket
tickets and the SDP. The WebSocket library's frame trace wrote the start and
end of every frame, chat text included, at debug level (issue 19).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack
from support import ServerProcess, timeout
from support_hub import ERIK, frames_until

from direkt.loadtests.calls import set_up_call
from direkt.loadtests.client import JSON, MSGPACK, Client, Socket
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling.ice import gather_only_on, rtc_configuration
from direkt.triage.answerer import MAX_QUESTIONS, choose

pytestmark = pytest.mark.slow

CITIZEN_SAYS = "Jag har haft ont i bröstet sedan i morse och det strålar ut i armen"
NURSE_SAYS = "Tack Erik, jag ringer upp dig via video om en minut"
OWN_WORDS = "Svindel och dubbelseende sedan frukosten, ramlade i badrummet"
ERIK_FORMS = (ERIK, "19910831-2399", "910831-2399", "9108312399")


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    gather_only_on(["127.0.0.1"])  # this process's aiortc peers
    process = ServerProcess(standalone_redis.url, DIREKT_LOG_LEVEL="debug", DIREKT_ICE_HOST_ADDRESSES="127.0.0.1")
    yield process
    process.stop()


async def triage_in_own_words(client: Client, words: str) -> str:
    """Triage for "something else", described in ``words``; submits and returns the case."""
    view = await client.call("POST", "/api/triage", {"entry": "seek_care"})
    for _ in range(MAX_QUESTIONS):
        question = view["question"]
        if question is None:
            break
        value = words if question["kind"] == "text" else choose(question, {}, "other")
        view = await client.call(
            "POST", f"/api/triage/{view['id']}/answer", {"question": question["id"], "value": value}
        )
    assert view["question"] is None, view
    return str((await client.submit(view["id"], chat_anyway=True))["case"])


async def socket_with(client: Client, tickets: list[str], subprotocol: str) -> Socket:
    """A socket opened as a browser opens it: with the session cookie in the handshake."""
    ticket = await client.ticket()
    tickets.append(ticket)
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.http.cookies.jar)
    sock = await Socket.open(client.ws_url(ticket), client.origin, subprotocol, additional_headers={"Cookie": cookie})
    assert (await sock.recv(timeout(5)))["t"] == "welcome"
    return sock


async def echo_test(client: Client) -> str:
    """A pre-call test against the server's own aiortc peer until media comes back; returns the offer."""
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(VideoStreamTrack())
    back = asyncio.Event()
    pc.on("track", lambda track: asyncio.ensure_future(first_frame(track, back)))
    try:
        await pc.setLocalDescription(await pc.createOffer())
        answer = await client.call("POST", "/api/calltest", {"type": "offer", "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await asyncio.wait_for(back.wait(), timeout(15))
        await client.call("DELETE", "/api/calltest", expect=(204,))
        return f"{pc.localDescription.sdp}\n{answer['sdp']}"
    finally:
        await pc.close()


async def first_frame(track: Any, back: asyncio.Event) -> None:
    with contextlib.suppress(MediaStreamError):
        await track.recv()
        back.set()


def sdp_secrets(sdp: str) -> list[str]:
    """The lines of an SDP and the values in it that identify a peer (ICE credentials, fingerprint, addresses)."""
    values = re.findall(r"^a=(?:ice-ufrag|ice-pwd|fingerprint:sha-256) ?(\S+)", sdp, re.MULTILINE)
    return ["v=0", "a=fingerprint", "a=ice-ufrag", "a=ice-pwd", "typ host", *values]


@pytest.mark.parametrize("subprotocol", [MSGPACK, JSON])
async def test_a_debug_level_log_holds_no_text_personnummer_token_or_sdp(
    server: ServerProcess, subprotocol: str
) -> None:
    erik, nurse, tickets = Client(server.base), Client(server.base), []
    secrets: list[str] = []
    try:
        await erik.login_citizen(ERIK)
        secrets += sdp_secrets(await echo_test(erik))  # the server's own aiortc peer
        case = await triage_in_own_words(erik, OWN_WORDS)
        await nurse.login_staff("nurse-1")
        citizen_sock = await socket_with(erik, tickets, subprotocol)
        await citizen_sock.request({"t": "join", "case": case}, "case")
        nurse_sock = await socket_with(nurse, tickets, subprotocol)
        assert (await nurse_sock.request({"t": "claim_next", "rid": "r1"}, "claimed"))["case"] == case
        await nurse_sock.request({"t": "join", "case": case}, "case")
        await frames_until(citizen_sock, "case", 10, case=case, state="joined")
        await citizen_sock.request({"t": "send", "case": case, "cid": "c1", "text": CITIZEN_SAYS}, "ack")
        await nurse_sock.expect("msg", 5, cid="c1")
        await nurse_sock.request({"t": "send", "case": case, "cid": "n1", "text": NURSE_SAYS}, "ack")
        await citizen_sock.expect("msg", 5, cid="n1")
        await citizen_sock.send({"t": "typing", "case": case, "on": True})
        await nurse_sock.expect("typing", 5)
        pair = await set_up_call(nurse_sock, citizen_sock, case, "video")
        for peer in (pair.staff, pair.citizen):
            secrets += sdp_secrets(peer.pc.localDescription.sdp)
        await nurse_sock.request({"t": "call_hangup", "case": case, "call": pair.call}, "call")
        await pair.close()
        await citizen_sock.close()
        await nurse_sock.close()
        secrets += [c.value for c in [*erik.http.cookies.jar, *nurse.http.cookies.jar] if len(c.value) >= 16]
        secrets += [erik.csrf, nurse.csrf]
    finally:
        await erik.aclose()
        await nurse.aclose()
    log = server.output()
    assert '"event":"connection open"' in log  # per-socket lines are written only at debug level
    personal: list[Any] = [*ERIK_FORMS, CITIZEN_SAYS, NURSE_SAYS, OWN_WORDS, *tickets, *secrets]
    for fragment in (*personal, "ont i bröstet", "strålar ut", "ringer upp dig", "dubbelseende"):
        assert fragment not in log, f"{fragment!r} is in the log: {context(log, fragment)}"
    # Binary frames were traced in hex: no frame trace at all, whatever it holds.
    trace = re.search(r'"event":"[<>] (TEXT|BINARY|CONT)\b', log)
    assert trace is None, context(log, trace.group(0))


def context(log: str, fragment: str) -> str:
    at = log.find(fragment)
    return log[max(0, at - 300) : at + 200]
