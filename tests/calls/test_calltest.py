"""The pre-call test: a server-side aiortc peer sends a caller's own audio and video back."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from support import ServerProcess, timeout
from support_hub import ERIK, GUARDIAN, LOVA, citizen, refused, staff

from direkt.loadtests.client import Client
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling.ice import rtc_configuration


async def echo_through(client: Client, frames: int = 10) -> Counter[str]:
    """Offer audio and video to /api/calltest; count the frames that come back."""
    pc = RTCPeerConnection(rtc_configuration([]))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    got: Counter[str] = Counter()
    enough = asyncio.Event()

    async def consume(track) -> None:  # type: ignore[no-untyped-def]
        try:
            while True:
                await track.recv()
                got[track.kind] += 1
                if got["audio"] >= frames and got["video"] >= frames:
                    enough.set()
        except MediaStreamError:
            pass

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    try:
        await pc.setLocalDescription(await pc.createOffer())
        answer = await client.call("POST", "/api/calltest", {"type": "offer", "sdp": pc.localDescription.sdp})
        assert answer["type"] == "answer" and answer["expires_in_s"] == 60
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await asyncio.wait_for(enough.wait(), timeout(15))
    finally:
        await pc.close()
    return got


async def test_a_citizen_sees_and_hears_themselves_through_the_echo_peer(server: ServerProcess) -> None:
    erik = await citizen(server.base, ERIK)
    try:
        got = await echo_through(erik)
        assert got["audio"] >= 10 and got["video"] >= 10
        await erik.call("DELETE", "/api/calltest", expect=(204,))
    finally:
        await erik.aclose()


async def test_a_nurse_can_test_too_and_a_new_test_replaces_the_old(server: ServerProcess) -> None:
    nora = await staff(server.base, "nurse-1")
    try:
        assert (await echo_through(nora, frames=3))["video"] >= 3
        assert (await echo_through(nora, frames=3))["video"] >= 3  # the first test's peer was replaced
    finally:
        await nora.aclose()


async def test_bad_offers_strangers_and_too_many_tests_are_refused(server: ServerProcess) -> None:
    erik, maja, lova = [await citizen(server.base, p) for p in (ERIK, GUARDIAN, LOVA)]
    anonymous = Client(server.base)
    try:
        offer = {"type": "offer", "sdp": "v=0\r\nnot sdp\r\n"}
        await refused(erik.call("POST", "/api/calltest", offer), 400, "bad_sdp")
        await refused(erik.call("POST", "/api/calltest", {"type": "answer", "sdp": "v=0"}), 400, "bad_request")
        await refused(erik.call("POST", "/api/calltest", {"sdp": "v=0"}), 400, "bad_request")
        await refused(erik.call("POST", "/api/calltest", {"type": "offer", "sdp": "v", "x": 1}), 400, "bad_request")
        await refused(anonymous.call("POST", "/api/calltest", offer), 401, "unauthenticated")
        # DIREKT_CALLTEST_MAX=2 in this module: a third person at once is told to wait
        held = [RTCPeerConnection(rtc_configuration([])) for _ in range(3)]
        for pc in held:
            pc.addTrack(VideoStreamTrack())
            await pc.setLocalDescription(await pc.createOffer())
        body = [{"type": "offer", "sdp": pc.localDescription.sdp} for pc in held]
        await erik.call("POST", "/api/calltest", body[0])
        await maja.call("POST", "/api/calltest", body[1])
        await refused(lova.call("POST", "/api/calltest", body[2]), 429, "rate_limited")
        await erik.call("DELETE", "/api/calltest", expect=(204,))
        await lova.call("POST", "/api/calltest", body[2])  # room again
        for pc in held:
            await pc.close()
        for who in (maja, lova):
            await who.call("DELETE", "/api/calltest", expect=(204,))
    finally:
        for client in (erik, maja, lova, anonymous):
            await client.aclose()


def media_stack_loaded(server: ServerProcess) -> bool:
    """Whether the server process has mapped PyAV (aiortc's codecs), read from /proc/<pid>/maps."""
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    return "/site-packages/av/" in maps or "libavcodec" in maps


async def test_the_media_stack_is_loaded_with_the_first_call_test_not_at_start(
    standalone_redis: EmbeddedRedis,
) -> None:
    """aiortc and PyAV were over half a second of every start (ice.py): a ready server has neither,
    and the first call test loads them and works."""
    fresh = ServerProcess(standalone_redis.url, DIREKT_ICE_HOST_ADDRESSES="127.0.0.1")
    erik = await citizen(fresh.base, ERIK)
    try:
        assert not media_stack_loaded(fresh)
        got = await echo_through(erik, frames=3)
        assert got["audio"] >= 3 and got["video"] >= 3
        assert media_stack_loaded(fresh)
    finally:
        await erik.aclose()
        fresh.stop()
