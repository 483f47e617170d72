"""The WebSocket hub: ``/ws``, the process's open sockets and the feeds they share.

Handshake (before accept, refused with the error's HTTP status and a JSON
reason, ``refusals.deny``): the Origin must be allowed (403), the one-time
ticket valid (401), a subprotocol we speak offered, or none: msgpack (400).
After accept, one ``connection.Connection`` per socket runs its life. The
hub keeps what every socket of the process shares: the keepalive wheel, the
waiting citizens' position feed, and the watch on Redis losing its data.

Where the rest is: ``connection.py`` (one socket: register, receive, dispatch),
``outlet.py`` (its send queue and close), ``chat.py`` (joining and writing
into cases), ``follow.py`` (replay and live delivery of one case),
``desk.py`` (a nurse's claims, leases and fenced writes), ``listeners.py``
(user and queue channels), ``positions.py`` (position frames),
``refusals.py`` (close codes and error frames).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from starlette.websockets import WebSocket

from direkt.server.care.workflow import Workflow
from direkt.server.errors import BadRequest, DirektError, OriginRefused
from direkt.server.identity.sessions import Session
from direkt.server.liveconfig import staff_changes
from direkt.server.region import RegionConfig
from direkt.server.wiring import Services
from direkt.server.ws import frames as f
from direkt.server.ws.connection import Connection
from direkt.server.ws.datawatch import DataWatch
from direkt.server.ws.keepalive import Wheel
from direkt.server.ws.pings import PingWheel
from direkt.server.ws.positions import PositionFeed
from direkt.server.ws.refusals import CLOSE_GOING_AWAY, CLOSE_RIGHTS_CHANGED, CLOSE_SESSION_ENDED, deny
from direkt.server.ws.sessionend import SessionEnds

log = structlog.get_logger("direkt.hub")

CONN_REFRESH_S = 30.0


class Hub:
    """Process-wide: the live connections and the shared feeds."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.workflow = Workflow(services)
        self.connections: set[Connection] = set()
        self.positions = PositionFeed(services, self.staff_here)
        self.keepalive = Wheel(lambda: min(CONN_REFRESH_S, services.settings.lease_seconds / 3))
        self.session_ends = SessionEnds(services.clock)
        self.pings = PingWheel()
        self.datawatch = DataWatch(services.client, services.fanout, self.end_orphaned_sockets)
        self._closing: set[asyncio.Task[None]] = set()
        services.live.follow(self.on_config)

    async def start(self) -> None:
        await self.s.fanout.start()
        # The data watch before the position feed's subscriptions, which wait for the
        # fan-out's first connection: it must be listening by then, so that connection's
        # resync has it read the data marker at once. Started after them, it first read
        # the marker one interval later, and a loss within that time went unseen.
        self.datawatch.start()
        await self.positions.start()
        self.keepalive.start()

    async def stop(self) -> None:
        for conn in list(self.connections):
            await conn.out.close(CLOSE_GOING_AWAY, "server shutting down")
        await self.datawatch.stop()
        await self.keepalive.stop()
        self.session_ends.stop()
        await self.pings.stop()
        await self.positions.stop()
        self.s.calls.stop()
        await self.s.calltest.stop_all()
        await self.s.fanout.stop()

    async def endpoint(self, websocket: WebSocket) -> None:
        try:
            session, subprotocol = await self._handshake(websocket)
        except DirektError as exc:
            await deny(websocket, exc)
            return
        await websocket.accept(subprotocol=subprotocol if websocket.scope.get("subprotocols") else None)
        conn = Connection(self, websocket, f.Codec(subprotocol), session)
        await conn.run()

    async def _handshake(self, websocket: WebSocket) -> tuple[Session, str]:
        origin = websocket.headers.get("origin", "")
        if origin.rstrip("/") not in self.s.settings.origins:
            raise OriginRefused("this Origin may not open a socket")
        subprotocol = f.choose_subprotocol(list(websocket.scope.get("subprotocols") or []))
        if subprotocol is None:
            raise BadRequest(f"offer one of the subprotocols {', '.join(f.SUBPROTOCOLS)}")
        session = await self.s.sessions.redeem_ticket(websocket.query_params.get("ticket", ""))
        return session, subprotocol

    def staff_here(self) -> set[str]:
        """The staff members with a socket open in this process (the position feed marks them online)."""
        return {conn.staff.id for conn in self.connections if conn.staff is not None}

    def on_config(self, old: RegionConfig, new: RegionConfig) -> None:
        """A new configuration: staff whose rights or queues changed reconnect; deactivated staff are out (4001)."""
        gone, changed = staff_changes(old.directory, new.directory)
        if not gone and not changed:
            return
        closes = [
            conn.out.close(CLOSE_SESSION_ENDED, "deactivated")
            if conn.staff.id in gone
            else conn.out.close(CLOSE_RIGHTS_CHANGED, "your units or rights changed")
            for conn in self.connections
            if conn.staff is not None and conn.staff.id in gone | changed and not conn.out.closing
        ]
        if closes:
            log.info("staff_sockets_closed_by_config", sockets=len(closes))
            task = asyncio.get_running_loop().create_task(self._close_all(closes))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close_all(self, closes: list[Any]) -> None:
        await asyncio.gather(*closes)

    async def end_orphaned_sockets(self) -> None:
        """Redis lost its data: every socket whose session went with it ends now (4001)."""
        conns = [c for c in self.connections if not c.out.closing]
        alive = await self.s.sessions.alive_many([c.session.sid for c in conns])
        orphans = [c for c in conns if c.session.sid not in alive]
        log.warning("sockets_orphaned_by_data_loss", sockets=len(orphans), kept=len(conns) - len(orphans))
        # together: each close may wait CLOSE_TIMEOUT_S for a client that stopped reading
        await asyncio.gather(*(conn.out.close(CLOSE_SESSION_ENDED, "the session has ended") for conn in orphans))
