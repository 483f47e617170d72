"""Malformed SDP and ICE during chat load (TARGETS 22).

A nurse in an accepted video call sends hundreds of malformed offers and
candidates as fast as the server answers them, while another citizen and
nurse chat beside it. What users notice: every bad frame gets a typed error
to its sender only, nothing reaches the citizen, the bystanders' messages
keep arriving quickly, and the call that never got a usable offer fails
cleanly (``setup_timeout``, a ``call_failed`` line in the transcript) while
its chat carries on.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from support import ServerProcess, timeout
from support_fault import ask, flushed
from support_hub import GUARDIAN, Chat, barrier, frames_until, kinds, open_chat

from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling.ice import gather_only_on, rtc_configuration

pytestmark = pytest.mark.slow

SETUP_S = 4.0  # DIREKT_CALL_SETUP_SECONDS: an accepted call must connect within this
ROUNDS = 25  # of the malformed frames below: 250 frames
CANDIDATE = "candidate:3625848226 1 udp 2122260223 192.0.2.2 50421 typ host generation 0 ufrag 8Z0b network-id 1"


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    gather_only_on(["127.0.0.1"])  # this process's aiortc makes the offers the bad ones are cut from
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_ICE_HOST_ADDRESSES="127.0.0.1",
        DIREKT_CALL_SETUP_SECONDS=str(SETUP_S),
        DIREKT_MESSAGE_RATE="2000",  # the flood is parsed, not throttled: the point is the parser's cost
    )
    yield process
    process.stop()


@pytest.fixture
async def chats(standalone_redis: EmbeddedRedis, server: ServerProcess) -> AsyncIterator[tuple[Chat, Chat]]:
    await flushed(standalone_redis.url)
    async with open_chat(server.base) as calling, open_chat(server.base, pnr=GUARDIAN, nurse="nurse-2") as beside:
        yield calling, beside


async def real_offer() -> str:
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


def malformed(offer: str) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, fields, the error code it must get): cheap garbage and offers broken deep inside."""
    lines = offer.split("\r\n")
    media = [i for i, line in enumerate(lines) if line.startswith("m=")]
    nine_sections = "\r\n".join(lines[: media[0]] + (lines[media[0] :] * 5)[: len(lines[media[0] :]) * 5])
    return [
        ("sdp", {"sdp": "v=0\r\nthis is not sdp\r\n"}, "bad_sdp"),
        ("sdp", {"sdp": offer.replace("a=fingerprint", "a=x-fp")}, "bad_sdp"),  # no DTLS: unencrypted
        ("sdp", {"sdp": "\r\n".join(line for line in lines if not line.startswith("a=ice-"))}, "bad_sdp"),
        ("sdp", {"sdp": offer[: len(offer) // 2]}, "bad_sdp"),  # cut off mid-way
        ("sdp", {"sdp": offer.replace("s=-", "s=Säkert")}, "bad_sdp"),  # not ASCII
        ("sdp", {"sdp": nine_sections}, "bad_sdp"),  # ten media sections
        ("sdp", {"sdp": offer + "a=x\r\n" * 9000}, "bad_frame"),  # over 32,000 characters
        ("ice", {"candidate": "candidate:1 1 udp 1 999.1.1.1 1 typ host", "mid": "0", "mline": 0}, "bad_candidate"),
        ("ice", {"candidate": CANDIDATE + "\r\na=evil", "mid": "0", "mline": 0}, "bad_candidate"),
        ("ice", {"candidate": CANDIDATE, "mid": "0", "mline": 99}, "bad_frame"),
    ]


async def call_accepted(chat: Chat) -> str:
    proposed = await ask(chat.ns, {"t": "call_propose", "case": chat.case, "media": "video"}, "call")
    assert proposed is not None and proposed["state"] == "proposed", proposed
    call = str(proposed["call"])
    await frames_until(chat.cs, "call", 5, call=call, state="proposed")
    accepted = await ask(chat.cs, {"t": "call_accept", "case": chat.case, "call": call}, "call")
    assert accepted is not None and accepted["state"] == "accepted", accepted
    return call


async def flood(chat: Chat, call: str, bad: list[tuple[str, dict[str, Any], str]]) -> Counter[tuple[str, str]]:
    """Every malformed frame, ROUNDS times, each answered before the next: (expected, got) counts."""
    outcomes: Counter[tuple[str, str]] = Counter()
    for _ in range(ROUNDS):
        for kind, fields, expected in bad:
            frame = {"t": kind, "case": chat.case, "call": call, **fields}
            if kind == "sdp":
                frame["kind"] = "offer"
            got = await ask(chat.ns, frame, "error", 10)
            outcomes[(expected, "no answer" if got is None else got["code"])] += 1
    return outcomes


async def probe(chat: Chat, stop: asyncio.Event, most: int = 10_000) -> list[float]:
    """The bystander citizen's messages: seconds from send until the nurse has each one."""
    loop, latencies = asyncio.get_running_loop(), list[float]()
    while not stop.is_set() and len(latencies) < most:
        cid = f"probe-{loop.time()}"
        started = loop.time()
        await chat.cs.send({"t": "send", "case": chat.case, "cid": cid, "text": "Är ni kvar?"})
        await chat.ns.expect("msg", timeout(5), cid=cid)
        latencies.append(loop.time() - started)
    return latencies


async def test_malformed_sdp_and_ice_under_load_leave_the_chats_alone_and_the_call_fails_cleanly(
    chats: tuple[Chat, Chat],
) -> None:
    calling, beside = chats
    bad = malformed(await real_offer())
    stop = asyncio.Event()
    quiet = await probe(beside, stop, most=20)
    call = await call_accepted(calling)
    during = asyncio.create_task(probe(beside, stop))
    outcomes = await flood(calling, call, bad)
    stop.set()
    loaded = await during

    assert outcomes == Counter({(code, code): ROUNDS * sum(c == code for *_, c in bad) for *_, code in bad})
    seen = await barrier(calling.cs)
    assert not kinds(seen, "sdp") and not kinds(seen, "ice"), "a malformed frame reached the citizen"
    assert len(loaded) >= 10, loaded
    worst, typical = max(loaded), statistics.median(loaded)
    assert worst < timeout(1.0), f"a bystander's message took {worst * 1000:.0f} ms (quiet: {max(quiet) * 1000:.0f})"
    assert typical < timeout(0.25), f"bystander median {typical * 1000:.0f} ms (quiet: {statistics.median(quiet)})"

    failed = await frames_until(calling.cs, "call", SETUP_S + 10, call=call, state="failed")
    assert failed[-1]["reason"] == "setup_timeout"
    await frames_until(calling.ns, "call", 5, call=call, state="failed")
    messages = (await calling.citizen.call("GET", f"/api/cases/{calling.case}/transcript"))["messages"]
    assert [m["code"] for m in messages if m.get("code", "").startswith("call_")][-1] == "call_failed"
    assert all("v=0" not in str(m) for m in messages)  # SDP never enters the transcript
    for sock, other, cid in ((calling.cs, calling.ns, "after-c"), (calling.ns, calling.cs, "after-n")):
        ack = await ask(sock, {"t": "send", "case": calling.case, "cid": cid, "text": "Vi fortsätter här."}, "ack")
        assert ack is not None and ack["t"] == "ack", ack
        await frames_until(other, "msg", 5, cid=cid)
