"""The pre-call test: a server-side aiortc peer that sends a browser's media back.

Before a call, a citizen (or a nurse) can see and hear themselves through the
whole path a call takes: camera, microphone, their browser's WebRTC and the
network to the server. The browser posts a complete (non-trickled) offer; the
answer comes from a peer that adds every received track back to the same
connection. One test per user (a new one replaces the old), at most
``max_peers`` per process, each closed after ``lifetime_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import structlog

from direkt.server.background import spawn
from direkt.server.errors import RateLimited, as_direkt_errors
from direkt.signaling.ice import rtc_configuration
from direkt.signaling.sdp import check_sdp

if TYPE_CHECKING:  # aiortc is imported with the first call test, not with the server (ice.py)
    from aiortc import MediaStreamTrack, RTCPeerConnection

log = structlog.get_logger("direkt.calltest")


class EchoPeers:
    def __init__(self, servers: list[dict[str, Any]], max_peers: int, lifetime_s: float = 60.0) -> None:
        self.servers = servers
        self.max_peers = max_peers
        self.lifetime_s = lifetime_s
        self.peers: dict[str, RTCPeerConnection] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def answer(self, uid: str, offer_sdp: str) -> str:
        """The echo peer's answer to a complete offer; raises BadSdp or RateLimited."""
        with as_direkt_errors():
            check_sdp(offer_sdp, media="video")
        await self.stop(uid)
        if len(self.peers) >= self.max_peers:
            raise RateLimited("too many call tests right now; try again in a minute")
        from aiortc import RTCPeerConnection, RTCSessionDescription

        pc = RTCPeerConnection(rtc_configuration(self.servers))
        self.peers[uid] = pc
        pc.on("track", lambda track: _echo(pc, track))
        pc.on("connectionstatechange", lambda: self._on_state(uid, pc))
        self._timers[uid] = asyncio.get_running_loop().call_later(self.lifetime_s, self._expire, uid, pc)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await self.stop(uid)
            raise
        log.info("calltest_started", uid=uid, peers=len(self.peers))
        return str(pc.localDescription.sdp)

    async def stop(self, uid: str) -> bool:
        pc = self.peers.pop(uid, None)
        if (timer := self._timers.pop(uid, None)) is not None:
            timer.cancel()
        if pc is None:
            return False
        await pc.close()
        return True

    async def stop_all(self) -> None:
        for uid in list(self.peers):
            await self.stop(uid)

    def _on_state(self, uid: str, pc: RTCPeerConnection) -> None:
        if pc.connectionState in ("failed", "closed") and self.peers.get(uid) is pc:
            spawn(self.stop(uid))

    def _expire(self, uid: str, pc: RTCPeerConnection) -> None:
        if self.peers.get(uid) is pc:
            spawn(self.stop(uid))


def _echo(pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
    with contextlib.suppress(Exception):  # the connection closed while the offer was applied
        pc.addTrack(track)
