"""aiortc peers: the Python call client (tests, load tests) and what the echo peer shares with it.

``CallPeer`` is one side of a call speaking direkt frames through any
``send`` coroutine: the staff side offers, the citizen side answers. aiortc
gathers every candidate before ``setLocalDescription`` returns, so its SDP
carries them all and it sends no ``ice`` frames; it accepts trickled
candidates from browsers. Media is synthetic (aiortc's silence and test
pattern) and every received frame is counted, so a test can prove media
flowed both ways.

``ice.gather_only_on`` restricts which local addresses aiortc gathers on
(aioice skips loopback by default): tests and load tests use 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp

from direkt.signaling.ice import rtc_configuration

Send = Callable[[dict[str, Any]], Awaitable[None]]


class CallPeer:
    """One party's media for one call."""

    def __init__(self, send: Send, case_id: str, call_id: str, *, side: str, media: str = "video") -> None:
        self.send = send
        self.case_id, self.call_id = case_id, call_id
        self.side, self.media = side, media
        self.pc: RTCPeerConnection | None = None
        self.received: Counter[str] = Counter()  # frames received per kind ("audio", "video")
        self.connected = asyncio.Event()
        self.failed = asyncio.Event()
        self._consumers: list[asyncio.Task[None]] = []
        self._reported = False
        self._arrived = asyncio.Event()

    async def start(self, servers: list[dict[str, Any]]) -> None:
        """Build the peer connection with exactly ``servers``; the staff side sends its offer."""
        pc = self.pc = RTCPeerConnection(rtc_configuration(servers))
        pc.addTrack(AudioStreamTrack())
        if self.media == "video":
            pc.addTrack(VideoStreamTrack())
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        if self.side == "staff":
            await pc.setLocalDescription(await pc.createOffer())
            await self._send_sdp("offer")

    async def on_frame(self, frame: dict[str, Any]) -> None:
        """Feed an ``sdp`` or ``ice`` frame for this call (others are ignored)."""
        if frame.get("call") != self.call_id or self.pc is None:
            return
        if frame.get("t") == "sdp":
            await self.pc.setRemoteDescription(RTCSessionDescription(frame["sdp"], frame["kind"]))
            if frame["kind"] == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self._send_sdp("answer")
        elif frame.get("t") == "ice" and frame.get("candidate"):
            candidate = candidate_from_sdp(frame["candidate"].removeprefix("candidate:"))
            candidate.sdpMid, candidate.sdpMLineIndex = frame.get("mid") or None, frame.get("mline", 0)
            await self.pc.addIceCandidate(candidate)

    async def wait_for_media(self, frames: int = 5) -> None:
        """Until at least ``frames`` frames of every kind of this call have arrived (wrap in a timeout)."""
        kinds = ("audio", "video") if self.media == "video" else ("audio",)
        while not all(self.received[k] >= frames for k in kinds):
            self._arrived.clear()
            await self._arrived.wait()

    async def close(self) -> None:
        for task in self._consumers:
            task.cancel()
        if self.pc is not None:
            await self.pc.close()

    async def _send_sdp(self, kind: str) -> None:
        assert self.pc is not None and self.pc.localDescription is not None  # set just before
        sdp = self.pc.localDescription.sdp
        await self.send({"t": "sdp", "case": self.case_id, "call": self.call_id, "kind": kind, "sdp": sdp})

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._consumers.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                self.received[track.kind] += 1
                self._arrived.set()

    async def _on_state(self) -> None:
        assert self.pc is not None
        state = self.pc.connectionState
        if state == "connected":
            self.connected.set()
            await self._report("connected")
        elif state == "failed":
            self.failed.set()
            await self._report("failed")

    async def _report(self, state: str) -> None:
        if self._reported and state == "connected":
            return
        self._reported = True
        frame = {"t": "call_report", "case": self.case_id, "call": self.call_id, "state": state}
        if state == "failed":
            frame["reason"] = "ice"
        with contextlib.suppress(Exception):  # the socket may be gone; the call then times out
            await self.send(frame)
