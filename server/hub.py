"""The WebSocket hub: ``/ws``, one connection object per socket.

Handshake (before accept, refused with the error's HTTP status and a JSON
reason): the Origin must be allowed (403), the one-time ticket valid (401),
a subprotocol we speak offered, or none: msgpack (400). After accept: a
per-user socket limit, a bounded send queue with one sender task (a slow
consumer is closed with 1008 and resumes from its last stream id; replays
wait for room in the queue), a token-bucket rate limit on inbound
frames, and frame dispatch through a table of small handlers. Every refusal
is an ``error`` frame with a stable code, mapped from ``DirektError`` in one
place (``_error_frame``).

Delivery: a joined case is followed through the process's fan-out; its live
entries are delivered in stream order, deduplicated by stream id; on join and
on a fan-out reconnect the gap is read from the stream first (``Follow``).
Citizens never receive staff-only entries, live or replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgpack
import structlog
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from direkt.queue.keys import events_channel
from direkt.queue.model import Skill, Staff
from direkt.queue.scripts import REDIS_FAILURES, redis_errors
from direkt.queue.waitinfo import Smoothed, smooth, staffed_queues
from direkt.queue.waitroom import CaseRecord, Position
from direkt.server import frames as f
from direkt.server import keys
from direkt.server.access import check_citizen_may_write, check_staff_holds
from direkt.server.audit import stale_token_refusal
from direkt.server.casefile import CaseFile
from direkt.server.datawatch import DataWatch
from direkt.server.errors import (
    BadRequest,
    Conflict,
    DirektError,
    Forbidden,
    NotFound,
    NotHolder,
    OriginRefused,
    RateLimited,
    RedisUnavailable,
    StaleToken,
    Unauthenticated,
    UnknownCase,
)
from direkt.server.keepalive import Wheel
from direkt.server.presence import StaffPresence, online_ttl_ms
from direkt.server.ratelimit import TokenBucket
from direkt.server.services import Services
from direkt.server.sessions import Session
from direkt.server.transcript import BadPosition, Entry, HistoryLost, decode_published, parse_id
from direkt.server.workflow import Workflow, position_view
from direkt.server.writeguard import CaseGone, Guard
from direkt.server.wsout import Outbox, writer_for

log = structlog.get_logger("direkt.hub")
T = TypeVar("T")

SEND_QUEUE_FRAMES = 512
REPLAY_STALL_S = 10.0  # a replay waits this long for the client to read before it counts as slow
CONN_TTL_MS = 90_000
CONN_REFRESH_S = 30.0
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN = 1013
CLOSE_SESSION_ENDED = 4001
CLOSE_TIMEOUT_S = 2.0
RESYNC_RETRY_S = 0.1  # a follower whose re-read failed tries again, backing off to RESYNC_RETRY_MAX_S
RESYNC_RETRY_MAX_S = 2.0


class Hub:
    """Process-wide: the live connections and the shared feeds."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.workflow = Workflow(services)
        self.connections: set[Connection] = set()
        self.positions = PositionFeed(self)
        self.keepalive = Wheel(lambda: min(CONN_REFRESH_S, services.settings.lease_seconds / 3))
        self.datawatch = DataWatch(services.client, services.fanout, self.end_orphaned_sockets)

    async def start(self) -> None:
        await self.s.fanout.start()
        await self.positions.start()
        self.keepalive.start()
        self.datawatch.start()

    async def stop(self) -> None:
        for conn in list(self.connections):
            await conn.close(1001, "server shutting down")
        await self.datawatch.stop()
        await self.keepalive.stop()
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

    async def end_orphaned_sockets(self) -> None:
        """Redis lost its data: every socket whose session went with it ends now (4001)."""
        conns = [c for c in self.connections if not c.closing]
        alive = await self.s.sessions.alive_many([c.session.sid for c in conns])
        orphans = [c for c in conns if c.session.sid not in alive]
        log.warning("sockets_orphaned_by_data_loss", sockets=len(orphans), kept=len(conns) - len(orphans))
        # together: each close may wait CLOSE_TIMEOUT_S for a client that stopped reading
        await asyncio.gather(*(conn.close(CLOSE_SESSION_ENDED, "the session has ended") for conn in orphans))


def close_code_for(exc: DirektError) -> int:
    """Ending a socket on an error outside any frame: 4001 log in again, 1013 retry later, 1008 otherwise."""
    if isinstance(exc, Unauthenticated):
        return CLOSE_SESSION_ENDED
    if isinstance(exc, RedisUnavailable):
        return CLOSE_TRY_AGAIN
    return CLOSE_POLICY


async def deny(websocket: WebSocket, exc: DirektError) -> None:
    """Refuse before accept: HTTP status and a JSON reason where the server can send one."""
    status = getattr(exc, "status", 403)
    log.info("ws_refused", code=exc.code)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": {"code": exc.code, "message": exc.message}}
        await websocket.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await websocket.close(CLOSE_POLICY)


class Connection:
    def __init__(self, hub: Hub, websocket: WebSocket, codec: f.Codec, session: Session) -> None:
        self.hub = hub
        self.s = hub.s
        self.ws = websocket
        self.codec = codec
        self.session = session
        self.who = session.principal
        self.id = secrets.token_hex(8)
        self.staff: Staff | None = None
        self.follows: dict[str, Follow] = {}
        self._desk: StaffDesk | None = None  # staff only: made when the console starts
        self.user_listener = UserListener(self)
        self.outbox = Outbox(SEND_QUEUE_FRAMES)
        self.writer = writer_for(websocket)
        self.writer.after_accept()
        rate = self.s.settings.message_rate
        self.bucket = TokenBucket(rate, 2 * rate, self.s.clock)
        # Refused frames spend this; it refills at the rate, so only a socket that keeps
        # sending faster than twice the rate runs out (docs/protocol.md §1: closed with 1008).
        self.flood_allowance = TokenBucket(rate, self.s.settings.flood_frames, self.s.clock)
        self.closing = False
        self.log = log.bind(conn_id=self.id, role=self.who.role, uid=self.who.uid)
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._session_end: asyncio.TimerHandle | None = None

    @property
    def desk(self) -> StaffDesk:
        """The staff member's desk (held cases, queues served)."""
        if self._desk is None:
            raise Forbidden("this frame is for staff")
        return self._desk

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        self._sender = asyncio.create_task(self._send_loop())
        try:
            await self._register()
            await self._receive_loop()
        except DirektError as exc:
            self.push(self._error_frame(exc, ""))
            await self.close(close_code_for(exc), exc.code)
        except WebSocketDisconnect:
            pass
        finally:
            await self._unregister()

    async def _register(self) -> None:
        self.hub.connections.add(self)
        await self.s.fanout.subscribe(keys.user_channel(self.who.uid), self.user_listener)
        await self._claim_socket_slot()
        if self.who.is_staff:
            self.staff = self.hub.workflow.staff_of(self.who)
        self.push(
            {
                "t": "welcome",
                "conn": self.id,
                "uid": self.who.uid,
                "role": self.who.role,
                "name": self.who.name,
                "protocol": self.codec.subprotocol,
                "server_ms": self.s.clock(),
                "limits": {"frame_bytes": 65536, "rate_per_s": self.s.settings.message_rate},
            }
        )
        self.hub.keepalive.add(self)
        self._close_at_session_end()
        if self.staff is not None:
            await self._staff_start(self.staff)
        self.log.info("ws_open", protocol=self.codec.subprotocol)

    async def _claim_socket_slot(self) -> None:
        """Take one of the user's socket slots and check the session, in one round trip.

        After the user channel's subscription: a logout published between the
        ticket and the subscription was not heard, so the session is read now.
        A refused socket's slot is given back when it unregisters.
        """
        key, now, cap = keys.connections(self.who.uid), self.s.clock(), self.s.settings.max_sockets_per_user
        with redis_errors():
            pipe = self.s.client.pipeline(transaction=False)
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {self.id: now + CONN_TTL_MS})
            pipe.pexpire(key, CONN_TTL_MS)
            pipe.zcard(key)
            pipe.exists(keys.session(self.session.sid))
            *_, live, alive = await pipe.execute()
        if not alive:
            raise Unauthenticated("the session has ended; log in again")
        if live > cap:
            raise RateLimited(f"at most {cap} open sockets per user")

    def _close_at_session_end(self) -> None:
        """The session's absolute end closes the socket at that moment, however busy it is.

        The keepalive round runs only every ``CONN_REFRESH_S``, and the session
        key outlives the session's absolute end while its user is active (the
        idle timeout slides): sockets outlived their session. One timer per
        socket, smaller than a task; the keepalive round checks the end too.
        """
        delay_s = max(0.0, (self.session.expires_ms - self.s.clock()) / 1000)
        self._session_end = asyncio.get_running_loop().call_later(delay_s, self._session_ended)

    def _session_ended(self) -> None:
        self._session_end = None
        asyncio.get_running_loop().create_task(self.close(CLOSE_SESSION_ENDED, "the session has ended"))

    async def _unregister(self) -> None:
        self.closing = True
        if self._session_end is not None:
            self._session_end.cancel()
        self.hub.connections.discard(self)
        self.hub.keepalive.remove(self)
        self.hub.positions.forget(self)
        if self._sender is not None:
            self._sender.cancel()
        for case_id in list(self.follows):
            await self._unfollow(case_id)
        if self._desk is not None:
            for region in self.s.config.directory.regions:
                await self.s.fanout.unsubscribe(events_channel(region), self._desk.queue_listener)
        await self.s.fanout.unsubscribe(keys.user_channel(self.who.uid), self.user_listener)
        with contextlib.suppress(DirektError, *REDIS_FAILURES):
            await self.s.client.zrem(keys.connections(self.who.uid), self.id)
        self.log.info("ws_closed")

    async def close(self, code: int, reason: str) -> None:
        """Close with ``code`` after the frames already queued (such as the error saying why).

        Waits at most CLOSE_TIMEOUT_S, but never abandons the close: a client that
        stopped reading has a full send buffer, and the close frame can only be
        written once it drains. (Cancelling it on a timeout left a socket open but
        silent: no frames, no close code, so no reason to resume.) A slow
        consumer's full queue is dropped, not flushed; it resumes from its last id.
        """
        if self.closing:
            return
        self.closing = True
        self.outbox.wake()  # a replay waiting for room stops (push does nothing now)
        if len(self.outbox) >= SEND_QUEUE_FRAMES:  # a slow consumer: drop, it resumes from its last id
            self._drop_outbox()
        self.outbox.put(None)  # the sender stops after what is queued
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        self._closer = asyncio.create_task(self._send_close(code, reason))
        await asyncio.wait({self._closer}, timeout=CLOSE_TIMEOUT_S)

    def _drop_outbox(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        self.outbox.clear()

    async def _send_close(self, code: int, reason: str) -> None:
        if self._sender is not None:
            await asyncio.wait({self._sender})  # never raises for the sender's own end
        with contextlib.suppress(Exception):
            await self.ws.close(code, reason)

    def push(self, frame: dict[str, Any]) -> None:
        """Queue a frame; a client too slow to drain its queue is closed (it resumes later)."""
        if self.closing:
            return
        if not self.outbox.put(self.codec.encode(frame)):
            self._too_slow()

    async def room(self) -> None:
        """Wait until the send queue is under half full.

        A replay can be longer than the send queue: pushed all at once it closed
        every client that had missed more than SEND_QUEUE_FRAMES entries, so it
        could never catch up. Replays wait here instead, leaving room for live
        frames; a client that reads nothing for REPLAY_STALL_S is too slow.
        """
        while len(self.outbox) >= SEND_QUEUE_FRAMES // 2 and not self.closing:
            try:
                await asyncio.wait_for(asyncio.shield(self.outbox.taken()), REPLAY_STALL_S)
            except TimeoutError:
                self._too_slow()

    def _too_slow(self) -> None:
        self.log.warning("slow_consumer_closed")
        self.closing = True
        asyncio.get_running_loop().create_task(self._close_slow())

    async def _close_slow(self) -> None:
        self.closing = False
        await self.close(CLOSE_POLICY, "slow consumer: reconnect and resume")

    async def _send_loop(self) -> None:
        """Everything queued goes out together (one write under ``direkt serve``); ``None`` ends it."""
        while True:
            frames = await self.outbox.take()
            if None in frames:
                await self.writer.write([f for f in frames[: frames.index(None)] if f is not None])
                return
            await self.writer.write(frames)  # type: ignore[arg-type]  # no None in it

    async def keepalive_round(self) -> None:
        """Refresh the socket-limit slot, heartbeat held leases, and end with the session (``Hub.keepalive``)."""
        if self.closing:
            return
        try:
            if self.s.clock() >= self.session.expires_ms or not await self.s.sessions.alive(self.session.sid):
                await self.close(CLOSE_SESSION_ENDED, "the session has ended")
                return
            await self.s.client.zadd(keys.connections(self.who.uid), {self.id: self.s.clock() + CONN_TTL_MS})
            await self._heartbeat_leases()
        except (DirektError, *REDIS_FAILURES) as exc:
            self.log.warning("keepalive_failed", problem=type(exc).__name__)

    # -- receiving -----------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
            if data is not None:
                await self._handle(data)

    async def _handle(self, data: bytes | str) -> None:
        if not self.bucket.take():
            await self._refuse_excess(data)
            return
        ref = ""
        try:
            try:
                frame = self.codec.decode(data)
            except f.FrameError:
                ref = f.peek_ref(data)
                raise
            ref = frame.ref
            if isinstance(frame, f.STAFF_ONLY) and self.staff is None:
                raise Forbidden("this frame is for staff")
            await self._dispatch(frame)
        except DirektError as exc:
            self.push(self._error_frame(exc, ref))

    async def _refuse_excess(self, data: bytes | str) -> None:
        """A frame over the rate: a ``rate_limited`` error with its ref, or, when the flood allowance is spent, 1008.

        Frames that do get through do not forgive it: a flood at ten times the
        rate had every tenth frame admitted, each of which reset a count of
        refusals in a row, and it was never closed (issue 19).
        """
        if not self.flood_allowance.take():
            if not self.closing:
                self.log.warning("ws_flood_closed")
            await self.close(CLOSE_POLICY, "message flood")
            return
        # the client must learn which frame to send again
        self.push(self._error_frame(RateLimited("too many frames; slow down and retry"), f.peek_ref(data)))

    async def _dispatch(self, frame: Any) -> None:
        handler = HANDLERS.get(type(frame))
        if handler is None:
            await self.s.calls.on_frame(self, frame)
        else:
            await handler(self, frame)

    def _error_frame(self, exc: DirektError, ref: str) -> dict[str, Any]:
        """The one place where errors become frames: a stable code and a plain message."""
        frame: dict[str, Any] = {"t": "error", "code": exc.code, "message": exc.message}
        if ref:
            frame["ref"] = ref
        if isinstance(exc, HistoryLost):
            frame["epoch"] = exc.epoch
        return frame

    # -- chat ----------------------------------------------------------------------------

    async def on_join(self, frame: f.Join) -> None:
        file, record = await self._may_follow(frame.case)
        state = record.state
        follow = self.follows.get(frame.case)
        if follow is None:
            follow = Follow(self, frame.case, staff_view=self.staff is not None)
            self.follows[frame.case] = follow
            await self.s.fanout.subscribe(keys.case_channel(frame.case), follow)
        try:
            read = await self.s.transcripts.read_position(frame.case, self.who.uid)
            await follow.resync(frame.epoch, frame.after, ref=frame.ref, read=read)
        except BadPosition:
            await self._unfollow(frame.case)
            raise
        if self.staff is None:
            file = await self.hub.workflow.citizen_joined(frame.case, file)
            follow.can_write = bool(file.ready_ms and not file.closed_ms)
            follow.role = "guardian" if file.guardian_pnr == self.who.pnr else "citizen"
            if state == "waiting":
                self.hub.positions.watch(self, frame.case)
        else:
            follow.can_write = frame.case in self.desk.held
        self.push(
            {
                "t": "case",
                "case": frame.case,
                "state": state,
                "ref": frame.ref,
                **self._case_views(file, record),
            }
        )
        if (call := await self.s.calls.live_view(frame.case)) is not None:
            self.push(call)

    def _case_views(self, file: CaseFile, record: CaseRecord) -> dict[str, Any]:
        """The case file as this socket may see it, and where the case waits (its unit and profession)."""
        if self.staff is not None:
            return {"file": file.console_view() | {"unit": record.unit, "skill": record.skill.value}}
        queue = self.hub.workflow.queue_view(record.unit, record.skill, home=file.home_unit)
        return {"file": file.citizen_view(), "queue": queue}

    async def _may_follow(self, case_id: str) -> tuple[CaseFile, CaseRecord]:
        if self.staff is not None:
            return await self.hub.workflow.staff_case(self.staff, case_id, "transcript.read")
        file = await self.hub.workflow.citizen_case(self.who, case_id, "transcript.read")
        return file, await self.s.waitroom.get(case_id)

    async def on_leave(self, frame: f.Leave) -> None:
        await self._unfollow(frame.case)

    async def _unfollow(self, case_id: str) -> None:
        follow = self.follows.pop(case_id, None)
        if follow is not None:
            await self.s.fanout.unsubscribe(keys.case_channel(case_id), follow)
        self.hub.positions.unwatch(self, case_id)

    async def on_send(self, frame: f.Send) -> None:
        follow = self.followed(frame.case)
        if self.staff is None and not follow.can_write:
            await self.refresh_write(follow)  # staff: their lease is checked with the write (``fenced``)
        body = await self._message_body(frame)
        dedupe = f"{self.who.uid}:{frame.cid}"
        appended = await self.fenced(
            frame.case, lambda guard: self.hub.workflow.append(frame.case, body, dedupe=dedupe, guard=guard)
        )
        self.push(
            {
                "t": "ack",
                "case": frame.case,
                "cid": frame.cid,
                "id": appended.id,
                "epoch": appended.epoch,
                "dup": not appended.stored,
                "ref": frame.ref,
            }
        )
        if self.staff is not None and frame.case not in self.desk.contacted:
            self.desk.contacted.add(frame.case)
            await self.hub.workflow.first_contact(self.staff, frame.case, self.desk.held.get(frame.case, 0))

    async def fenced(self, case_id: str, write: Callable[[Guard], Awaitable[T]]) -> T:
        """Make a write with this socket's right to it, checked in the write's own script.

        Staff write under the lease token this socket knows; if another socket of
        the same nurse has claimed the case again since, the newer token is taken
        up and the write tried once more. A write refused because she no longer
        holds the case is audited and the socket told the case is lost. A case
        whose record is gone (Redis lost its data) ends the socket if the session
        went with it.
        """
        try:
            try:
                return await write(await self._guard(case_id))
            except StaleToken:
                if not await self._took_up_newer_lease(case_id):
                    raise
                return await write(await self._guard(case_id))
        except (StaleToken, NotHolder, CaseGone) as exc:  # refusals of the right to write, not of the write
            if self.staff is not None and not isinstance(exc, CaseGone):
                await self._refused_write(case_id, exc.code)
            elif isinstance(exc, CaseGone) and not await self.s.sessions.alive(self.session.sid):
                await self.close(CLOSE_SESSION_ENDED, "the session has ended")
            raise

    async def _guard(self, case_id: str) -> Guard:
        if self.staff is None:
            return Guard.file(case_id)
        token = self.desk.held.get(case_id)
        if token is None:
            await self.refresh_write(self.followed(case_id))
            token = self.desk.held[case_id]
        return Guard.lease(case_id, self.staff.id, token, self.s.clock())

    async def _took_up_newer_lease(self, case_id: str) -> bool:
        assert self.staff is not None
        try:
            record = await self.s.waitroom.get(case_id)
        except DirektError:
            return False
        if record.state != "claimed" or record.holder != self.staff.id or record.token == self.desk.held.get(case_id):
            return False
        self.desk.held[case_id] = record.token
        return True

    async def _refused_write(self, case_id: str, code: str) -> None:
        """A write by a nurse who no longer holds the case: audited, and the socket lets go of it."""
        assert self.staff is not None
        with contextlib.suppress(DirektError):
            record = await self.s.waitroom.get(case_id)
            file = await self.s.files.get(case_id)
            await self.hub.workflow.audit(self.staff, record, file, "chat.write", outcome="denied", detail=code)
        self.lost(case_id)

    def lost(self, case_id: str, state: str = "lost") -> None:
        """This socket no longer holds ``case_id`` (released, moved or taken elsewhere): say so once."""
        held = self.desk.held.pop(case_id, None) is not None
        follow = self.follows.get(case_id)
        if follow is not None:
            follow.can_write = False
        if held or follow is not None:
            self.push({"t": "done", "case": case_id, "state": state})

    async def refresh_write(self, follow: Follow) -> None:
        """The cached right to write is re-checked against Redis before refusing."""
        if self.staff is not None:
            record = await self.s.waitroom.get(follow.case_id)
            check_staff_holds(self.staff, record)
            self.desk.held[follow.case_id] = record.token
        else:
            check_citizen_may_write(await self.s.files.get(follow.case_id))
        follow.can_write = True

    async def _message_body(self, frame: f.Send) -> dict[str, Any]:
        text = frame.text.strip()
        body: dict[str, Any] = {
            "k": "text",
            "from": self.who.uid,
            "role": self._role(frame.case),
            "name": self.who.name,
            "cid": frame.cid,
        }
        if frame.photo:
            await self._check_photo(frame.case, frame.photo)
            body |= {"k": "photo", "photo": frame.photo}
        elif frame.template:
            if self.staff is None:
                raise Forbidden("templates are for staff")
            await self.s.templates.get(self.staff, frame.template)
            body |= {"k": "template", "tpl": frame.template}
        if not text and not frame.photo:
            raise BadRequest("a message needs text (or a photo)")
        body["text"] = text
        return body

    async def _check_photo(self, case_id: str, photo_id: str) -> None:
        with redis_errors():
            if not await self.s.client.exists(keys.photo(case_id, photo_id)):
                raise BadRequest("no such photo in this case; upload it first")

    def _role(self, case_id: str) -> str:
        """The sender's role in this case: a profession, citizen, or guardian acting for a child."""
        if self.staff is not None:
            return self.staff.profession.value
        follow = self.follows.get(case_id)
        return follow.role if follow is not None else "citizen"

    def followed(self, case_id: str) -> Follow:
        follow = self.follows.get(case_id)
        if follow is None:
            raise Conflict("join the case first")
        return follow

    async def on_typing(self, frame: f.Typing) -> None:
        self.followed(frame.case)
        event = {"t": "typing", "from": self.who.uid, "role": self._role(frame.case), "on": frame.on}
        await self._ephemeral(frame.case, event)

    async def on_read(self, frame: f.Read) -> None:
        self.followed(frame.case)
        parse_id(frame.id)
        event = {"t": "read", "from": self.who.uid, "role": self._role(frame.case), "id": frame.id}
        await self._ephemeral(frame.case, event, read=(self.who.uid, frame.id))

    async def _ephemeral(self, case_id: str, event: dict[str, Any], read: tuple[str, str] | tuple[()] = ()) -> None:
        """Typing and read markers: published (and the marker stored) only under this socket's right to write."""
        payload = b"~" + msgpack.packb({**event, "case": case_id})
        await self.fenced(case_id, lambda guard: self.s.guards.publish(guard, case_id, payload, read))

    async def on_ping(self, frame: f.Ping) -> None:
        self.push({"t": "pong", "n": frame.n, "server_ms": self.s.clock(), "ref": frame.ref})

    # -- staff ---------------------------------------------------------------------------

    async def _staff_start(self, staff: Staff) -> None:
        served = frozenset((u.id, s.value) for u, s in self.s.config.directory.queues_of(staff))
        self._desk = StaffDesk(served, QueueListener(self))
        for region in self.s.config.directory.regions:
            await self.s.fanout.subscribe(events_channel(region), self.desk.queue_listener)
        held = await self.s.waitroom.held_by(staff)
        unassigned = await self.hub.workflow.end_unassigned_leases(staff, held)
        for record in held:
            if self.hub.workflow.serves(staff, record):
                self.desk.held[record.case_id] = record.token
        await self.on_watch(f.Watch())
        for case_id in unassigned:  # held in a unit taken from her: her console lets go of it
            self.push({"t": "done", "case": case_id, "state": "lost"})

    async def on_watch(self, frame: f.Watch) -> None:
        assert self.staff is not None
        rows = await self.hub.workflow.queue_snapshot(self.staff)
        self.push({"t": "queue", "cases": rows, "held": sorted(self.desk.held), "ref": frame.ref})

    async def on_claim_next(self, frame: f.ClaimNext) -> None:
        assert self.staff is not None
        opened = await self.hub.workflow.claim_next(self.staff, frame.rid)
        if opened is None:
            self.push({"t": "claimed", "case": None, "ref": frame.ref})
            return
        self._took(*opened, ref=frame.ref)

    async def on_claim(self, frame: f.Claim) -> None:
        assert self.staff is not None
        self._took(*await self.hub.workflow.claim(self.staff, frame.case), ref=frame.ref)

    def _took(self, file: CaseFile, lease: Any, ref: str) -> None:
        self.desk.held[lease.case_id] = lease.token
        if (follow := self.follows.get(lease.case_id)) is not None:
            follow.can_write = True
        self.push(
            {
                "t": "claimed",
                "case": lease.case_id,
                "file": file.console_view() | {"unit": lease.unit, "skill": lease.skill.value},
                "lease_until_ms": lease.lease_until_ms,
                "ref": ref,
            }
        )

    async def on_release(self, frame: f.Release) -> None:
        assert self.staff is not None
        with self._letting_go(frame.case):
            await self.hub.workflow.release(self.staff, frame.case)
        self._dropped(frame.case, "released", frame.ref)

    async def on_transfer(self, frame: f.Transfer) -> None:
        assert self.staff is not None
        with self._letting_go(frame.case):
            await self.hub.workflow.transfer(self.staff, frame.case, frame.unit, frame.skill, frame.note)
        self._dropped(frame.case, "transferred", frame.ref)

    async def on_close(self, frame: f.Close) -> None:
        assert self.staff is not None
        with self._letting_go(frame.case):
            await self.hub.workflow.close(self.staff, frame.case, frame.outcome, frame.note)
        self._dropped(frame.case, "closed", frame.ref)

    @contextlib.contextmanager
    def _letting_go(self, case_id: str) -> Iterator[None]:
        self.desk.letting_go.add(case_id)
        try:
            yield
        finally:
            self.desk.letting_go.discard(case_id)

    def _dropped(self, case_id: str, state: str, ref: str) -> None:
        self.desk.held.pop(case_id, None)
        if (follow := self.follows.get(case_id)) is not None:
            follow.can_write = False
        self.push({"t": "done", "case": case_id, "state": state, "ref": ref})

    async def _heartbeat_leases(self) -> None:
        if self.staff is None:
            return
        for case_id, token in list(self.desk.held.items()):
            try:
                until = await self.s.waitroom.heartbeat(case_id, self.staff.id, token)
                await self.s.guards.extend(case_id, self.staff.id, token, until)
            except DirektError as exc:
                # Closed, released or transferred by this nurse meanwhile (seen in
                # `direkt load chat`'s tear-down): that is not a lost lease.
                letting_go = case_id in self.desk.letting_go or self.desk.held.get(case_id) != token
                if exc.code == "stale_token" and not letting_go:
                    await self._audit_stale(case_id, "case.heartbeat")  # first: a failure retries next round
                if exc.code in ("stale_token", "unknown_case", "case_conflict") and not letting_go:
                    self.desk.held.pop(case_id, None)
                    self.push({"t": "done", "case": case_id, "state": "lost"})

    async def _audit_stale(self, case_id: str, action: str) -> None:
        """Audit a write of this nurse's refused for a stale fencing token (TARGETS 10)."""
        assert self.staff is not None
        try:
            record = await self.s.waitroom.get(case_id)
            file = await self.s.files.get(case_id)
        except (UnknownCase, NotFound):
            return  # the case is gone: no patient to record it for
        await self.s.audit.record(stale_token_refusal(self.s.clock(), self.staff, record.unit, file, action))

    def on_queue_event(self, event: dict[str, Any], token: int | None = None) -> None:
        """A waiting-room event: forwarded if it concerns her queues or her; ``token``: the lease it ended."""
        if self.staff is None:
            return
        mine = event.get("staff") == self.staff.id
        case_id = event.get("case", "")
        if mine and event["t"] in LET_GO_EVENTS and self._let_go_elsewhere(case_id, token):
            self.lost(case_id, LET_GO_EVENTS[event["t"]])  # let go of elsewhere: this socket writes no more
        if event["t"] in HOLDER_ONLY_EVENTS:
            if mine:
                self.push({"t": "queue_event", "event": event})
            return
        if (event.get("unit"), event.get("skill")) in self.desk.served or mine:
            self.push({"t": "queue_event", "event": event})

    def _let_go_elsewhere(self, case_id: str, token: int | None) -> bool:
        """The lease this socket holds ended on another socket (or expired), not one it took since."""
        held = self.desk.held.get(case_id)
        return held is not None and case_id not in self.desk.letting_go and token in (None, held)


# Frame type -> handler; the other frame types are call frames (``f.CallFrame``). One
# table for the class, not a dict of bound methods per socket (memory per socket).
HANDLERS: dict[type, Callable[[Connection, Any], Awaitable[None]]] = {
    f.Join: Connection.on_join,
    f.Leave: Connection.on_leave,
    f.Send: Connection.on_send,
    f.Typing: Connection.on_typing,
    f.Read: Connection.on_read,
    f.Ping: Connection.on_ping,
    f.ClaimNext: Connection.on_claim_next,
    f.Claim: Connection.on_claim,
    f.Release: Connection.on_release,
    f.Transfer: Connection.on_transfer,
    f.Close: Connection.on_close,
    f.Watch: Connection.on_watch,
}


@dataclass(slots=True)
class StaffDesk:
    """What a staff connection keeps: citizens' connections have none (memory per socket)."""

    served: frozenset[tuple[str, str]]  # the (unit, skill) queues they serve
    queue_listener: QueueListener
    held: dict[str, int] = field(default_factory=dict)  # case -> fencing token
    letting_go: set[str] = field(default_factory=set)  # cases being closed, released or transferred
    contacted: set[str] = field(default_factory=set)  # cases with a first contact recorded


class Follow:
    """One connection following one case's transcript.

    While ``live`` is False (joining, or after a fan-out reconnect) live entries
    are buffered; the gap is read from the stream, then the buffer is flushed.
    Entries at or below the last delivered id are dropped, so the client sees
    every entry exactly once, in stream order.
    """

    def __init__(self, conn: Connection, case_id: str, *, staff_view: bool) -> None:
        self.conn = conn
        self.case_id = case_id
        self.staff_view = staff_view
        self.epoch = ""
        self.last = (0, 0)
        self.live = False
        self.buffer: list[Entry] = []
        self.can_write = False
        self.role = "citizen"  # a citizen follower: "guardian" when acting for a child
        self.generation = 0  # counts fan-out reconnects: entries buffered before one may precede a gap
        # One resync at a time: a join's replay waits for room in the send queue, and a
        # fan-out reconnect's resync must not reset ``last`` under it (duplicates).
        self._resyncing = asyncio.Lock()

    async def resync(self, epoch: str, after: str, ref: str = "", read: str | None = None) -> None:
        """Replay after ``after``, then ``synced`` (with ``read``, this reader's read position, on a join)."""
        async with self._resyncing:
            await self._resync(epoch, after, ref, read)

    async def _resync(self, epoch: str, after: str, ref: str, read: str | None = None) -> None:
        self.live = False
        buffer, generation = self.buffer, self.generation
        try:
            await self._replay(epoch, after, buffer)
        except HistoryLost as lost:
            self.conn.push({"t": "history_lost", "case": self.case_id, "epoch": lost.epoch, "ref": ref})
            await self._replay(lost.epoch, "", buffer)
        await self.conn.room()
        # Live entries that arrived during the replay follow it without a gap, unless
        # pub/sub dropped meanwhile: then the resync that is pending re-reads the stream.
        while buffer and self.generation == generation:
            self._deliver(buffer.pop(0))
            await self.conn.room()
        self.live = self.generation == generation  # no await from here to ``synced``
        last_id = f"{self.last[0]}-{self.last[1]}"
        synced = {"t": "synced", "case": self.case_id, "epoch": self.epoch, "last": last_id, "ref": ref}
        if read is not None:
            synced["read"] = read
        self.conn.push(synced)

    async def _replay(self, epoch: str, after: str, buffer: list[Entry]) -> None:
        """Deliver every entry after ``after``, however many, a page at a time.

        Each entry waits for room in the send queue, and the next page is read
        only once this one is queued: memory stays at a page and a send queue,
        and a client that keeps reading is never closed as too slow. Raises
        like ``Transcripts.since`` on any page, so ``synced`` never follows a gap.
        """
        self.last = parse_id(after) if after else (0, 0)
        async with contextlib.aclosing(self.conn.s.transcripts.pages(self.case_id, epoch, after)) as pages:
            async for page in pages:
                self.epoch = page.epoch
                for entry in page.entries:
                    await self.conn.room()
                    self._deliver(entry)
                buffer[:] = [e for e in buffer if parse_id(e.id) > self.last]  # the stream had these too
                if self.conn.closing:
                    return  # nothing more reaches this socket; it resumes from its last id

    def on_message(self, channel: str, data: bytes) -> None:
        if data[:1] == b"~":
            self._on_ephemeral(msgpack.unpackb(data[1:]))
            return
        epoch, entry = decode_published(data)
        if epoch != self.epoch and self.epoch:
            self.conn.push({"t": "history_lost", "case": self.case_id, "epoch": epoch})
            self.epoch, self.last = epoch, (0, 0)
        if self.live:
            self._deliver(entry)
        else:
            self.buffer.append(entry)

    def on_resync(self) -> None:
        # Pub/sub dropped and is back: entries from now on may follow a gap. Buffer them
        # at once (delivering one would move ``last`` past the gap) until the stream is re-read.
        self.live = False
        self.buffer = []
        self.generation += 1
        asyncio.get_running_loop().create_task(self._safe_resync())

    async def _safe_resync(self) -> None:
        """Re-read the stream after a fan-out reconnect, again and again until it works.

        Pub/sub can be back before Redis answers commands (a Cluster still
        forming after a restart): one failed attempt left the follower buffering
        live entries for good, a socket that silently never got another message.
        """
        generation, delay = self.generation, RESYNC_RETRY_S
        while self.generation == generation and not self.conn.closing:
            try:
                async with self._resyncing:  # from where the client is once any replay under way is done
                    if self.live or self.conn.follows.get(self.case_id) is not self:
                        return  # another resync (a join) caught up meanwhile, or the case was left
                    last = f"{self.last[0]}-{self.last[1]}" if self.last != (0, 0) else ""
                    await self._resync(self.epoch, last, "")
                return
            except DirektError as exc:
                if delay == RESYNC_RETRY_S:  # tell the client once that it is behind
                    self.conn.push(self.conn._error_frame(exc, ""))
            await asyncio.sleep(delay)
            delay = min(2 * delay, RESYNC_RETRY_MAX_S)

    def _deliver(self, entry: Entry) -> None:
        position = parse_id(entry.id)
        if position <= self.last:
            return
        self.last = position
        if entry.staff_only and not self.staff_view:
            return
        self.conn.push(message_frame(self.case_id, entry))

    def _on_ephemeral(self, event: dict[str, Any]) -> None:
        if event.get("from") == self.conn.who.uid:
            return
        if event.get("t") == "case":
            self._on_case_event(event)
        self.conn.push(event)

    def _on_case_event(self, event: dict[str, Any]) -> None:
        state = event.get("state")
        if self.staff_view:
            return
        if state == "ready":
            self.can_write = True
            self.conn.hub.positions.unwatch(self.conn, self.case_id)
            asyncio.get_running_loop().create_task(self._joined())
        elif state in ("waiting",):
            self.can_write = False
            self.conn.hub.positions.watch(self.conn, self.case_id)
        elif state in ("closed", "abandoned"):
            self.can_write = False
            self.conn.hub.positions.unwatch(self.conn, self.case_id)

    async def _joined(self) -> None:
        """A citizen following the case when the chat opens has joined it."""
        with contextlib.suppress(DirektError):
            file = await self.conn.s.files.get(self.case_id)
            await self.conn.hub.workflow.citizen_joined(self.case_id, file)


def message_frame(case_id: str, entry: Entry) -> dict[str, Any]:
    body = entry.body
    frame: dict[str, Any] = {"t": "msg", "case": case_id, "id": entry.id}
    frame.update({k: v for k, v in body.items() if k != "vis"})
    if entry.staff_only:
        frame["staff_only"] = True
    return frame


class UserListener:
    """A user's channel: in-app notices and session revocations."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def on_message(self, channel: str, data: bytes) -> None:
        event = msgpack.unpackb(data)
        if event.get("t") == "revoked":
            if event.get("sid") in ("*", self.conn.session.sid):
                asyncio.get_running_loop().create_task(self.conn.close(CLOSE_SESSION_ENDED, "logged out"))
            return
        self.conn.push(event)

    def on_resync(self) -> None:
        pass


class QueueListener:
    """A region's queue events, filtered per staff connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def on_message(self, channel: str, data: bytes) -> None:
        event = msgpack.unpackb(data)
        event["region"] = channel.rsplit(":", 1)[1]
        token = event.pop("token", None)  # a fencing token is never sent to a client
        self.conn.on_queue_event(event, token if isinstance(token, int) else None)

    def on_resync(self) -> None:  # events may have been missed: send a fresh snapshot
        asyncio.get_running_loop().create_task(self._snapshot())

    async def _snapshot(self) -> None:
        with contextlib.suppress(DirektError):
            await self.conn.on_watch(f.Watch())


# Events about a case someone already holds that change no one else's queue: only
# the holder hears them. A first contact went to every nurse of the unit; with
# 200 nurses each opening 5 chats that was 200,000 frames in a few seconds
# (found by `direkt load chat`), and the console ignores them anyway.
HOLDER_ONLY_EVENTS = frozenset({"contact"})
# A case its nurse let go of on another socket, or lost to the reaper -> the state her other sockets are told.
LET_GO_EVENTS = {
    "expired": "lost",
    "requeued": "released",
    "transferred": "transferred",
    "closed": "closed",
    "moving": "transferred",
}


class PositionFeed:
    """Coalesced waiting-room positions: a frame only on change, a queue's reads batched.

    Two triggers. A queue's own change (a case claimed, withdrawn, returned,
    enqueued ahead) re-reads the positions of the citizens waiting in that
    queue: after ``NUDGE_SETTLE_S``, so a burst of changes is one read, and at
    most once per ``NUDGE_GAP_S`` per queue, so a busy queue sends each citizen
    about one frame a second at most, never one per dequeue (TARGETS' sizing).
    Before, a citizen saw their place lag the queue by up to the whole interval.
    And a pass over every watched case every interval, for what moves without
    an event (the estimate counting down, staffing, opening hours).

    Both read with a few script calls per batch (``Waitroom.positions``), not
    one call per case: with six thousand citizens waiting, one call each took
    the hub's whole core and new citizens' handshakes timed out.
    """

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.watchers: dict[str, set[Connection]] = {}
        self.sent: dict[tuple[int, str], tuple[Any, ...]] = {}
        self.smoothed: dict[str, Smoothed] = {}  # per watched case: the estimate the citizen sees
        self.staffed: frozenset[tuple[str, Skill]] | None = None  # queues someone serves now (None: not read yet)
        self.presence = StaffPresence(hub.s.client, online_ttl_ms(hub.s.settings.position_interval_seconds))
        self.queue_of: dict[str, tuple[str, str]] = {}  # watched waiting case -> its (unit, skill)
        self.in_queue: dict[tuple[str, str], set[str]] = {}  # (unit, skill) -> its watched waiting cases
        self.nudged: dict[tuple[str, str], asyncio.Task[None]] = {}  # queues with a re-read pending
        self.refreshed: dict[tuple[str, str], float] = {}  # when each queue was last re-read (loop time)
        self.changes = QueueChanges(self)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-positions")
        for region in self.hub.s.config.directory.regions:
            with contextlib.suppress(DirektError):  # not confirmed in time: subscribed on the next reconnect
                await self.hub.s.fanout.subscribe(events_channel(region), self.changes)

    async def stop(self) -> None:
        for task in [*self.nudged.values(), *([self._task] if self._task else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def nudge(self, queue: tuple[str, str]) -> None:
        """The queue changed: re-read its watched cases soon (see the class)."""
        if queue in self.nudged or not self.in_queue.get(queue):
            return
        loop = asyncio.get_running_loop()
        wait = max(NUDGE_SETTLE_S, self.refreshed.get(queue, -math.inf) + NUDGE_GAP_S - loop.time())
        self.nudged[queue] = loop.create_task(self._refresh(queue, wait))

    async def _refresh(self, queue: tuple[str, str], wait: float) -> None:
        await asyncio.sleep(wait)
        del self.nudged[queue]  # a change from now on asks for another read
        self.refreshed[queue] = asyncio.get_running_loop().time()
        cases = list(self.in_queue.get(queue, ()))
        for start in range(0, len(cases), SWEEP_CHUNK):
            try:
                found = await self.hub.s.waitroom.positions(cases[start : start + SWEEP_CHUNK])
            except DirektError as exc:
                log.warning("positions_skipped", problem=exc.code)
                return
            for case_id, pos in found.items():
                self._tell(case_id, pos)

    def watch(self, conn: Connection, case_id: str) -> None:
        self.watchers.setdefault(case_id, set()).add(conn)
        asyncio.get_running_loop().create_task(self._update(case_id))

    def unwatch(self, conn: Connection, case_id: str) -> None:
        conns = self.watchers.get(case_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.watchers[case_id]
                self.smoothed.pop(case_id, None)
                self._place(case_id, None)
        self.sent.pop((id(conn), case_id), None)

    def forget(self, conn: Connection) -> None:
        for case_id in list(conn.follows):  # a connection watches only cases it follows
            self.unwatch(conn, case_id)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            interval = self.hub.s.settings.position_interval_seconds
            started = loop.time()
            await self.sweep(interval)
            await asyncio.sleep(max(0.0, started + interval - loop.time()))

    async def sweep(self, interval: float = 0.0) -> None:
        """One pass over every watched case, its reads spread evenly over ``interval`` seconds.

        Spread, not in one burst: with ten thousand citizens waiting, a burst
        of ten thousand frames every interval held up the hub (and every
        client's phone) for seconds, and arrivals waited behind it.
        """
        await self._read_staffing()
        watched = list(self.watchers)
        chunks = [watched[i : i + SWEEP_CHUNK] for i in range(0, len(watched), SWEEP_CHUNK)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        for n, chunk in enumerate(chunks):
            await asyncio.sleep(max(0.0, started + interval * n / len(chunks) - loop.time()))
            try:
                found = await self.hub.s.waitroom.positions(chunk)
            except DirektError as exc:
                log.warning("positions_skipped", problem=exc.code)
                continue
            for case_id, pos in found.items():
                self._tell(case_id, pos)

    async def _update(self, case_id: str) -> None:
        try:
            pos = await self.hub.s.waitroom.position(case_id)
        except DirektError:
            return
        self._tell(case_id, pos)

    async def _read_staffing(self) -> None:
        """Mark this process's staff as online, then read who answers now (online, not away) in every process."""
        now = self.hub.s.clock()
        here = {conn.staff.id for conn in self.hub.connections if conn.staff is not None}
        try:
            await self.presence.seen(here, now)
            online = await self.presence.attending(now)
        except DirektError as exc:
            log.warning("staffing_not_read", problem=exc.code)
            return
        self.staffed = staffed_queues(self.hub.s.config.directory, online)

    def _place(self, case_id: str, queue: tuple[str, str] | None) -> None:
        """Index a watched case under the queue it waits in (None: it waits nowhere, or is not watched)."""
        before = self.queue_of.pop(case_id, None)
        if before is not None and before != queue:
            cases = self.in_queue[before]
            cases.discard(case_id)
            if not cases:
                del self.in_queue[before]
        if queue is not None and case_id in self.watchers:
            self.queue_of[case_id] = queue
            self.in_queue.setdefault(queue, set()).add(case_id)

    def _tell(self, case_id: str, pos: Position) -> None:
        self._place(case_id, (pos.unit, str(pos.skill)) if pos.state == "waiting" else None)
        if pos.state != "waiting":
            self.smoothed.pop(case_id, None)
            return
        smoothed = smooth(self.smoothed.get(case_id), pos.estimated_wait_ms, self.hub.s.clock())
        if smoothed is None:
            self.smoothed.pop(case_id, None)
        else:
            self.smoothed[case_id] = smoothed
        staffed = None if self.staffed is None else (pos.unit, pos.skill) in self.staffed
        view = position_view(pos, smoothed, staffed=staffed)
        # a frame only when what the citizen is shown changes (the range, not the raw estimate)
        key = (
            view["position"],
            view["depth"],
            tuple(view["wait_range_ms"] or ()),
            view["open"],
            view["opens_ms"],
            view["staffed"],
        )
        for conn in list(self.watchers.get(case_id, ())):
            if self.sent.get((id(conn), case_id)) != key:
                self.sent[(id(conn), case_id)] = key
                conn.push({"t": "position", "case": case_id, **view})


SWEEP_CHUNK = 250  # watched cases per read (one script call of the waiting room)
NUDGE_SETTLE_S = 0.05  # a queue's change is read this long after it: a burst of changes, one read
NUDGE_GAP_S = 0.8  # a queue's positions are re-read on its changes at most this often: a lag under a second
# Queue events that move no waiting citizen: a held case's own steps, and warnings.
UNMOVING_EVENTS = frozenset({"contact", "closed", "stale_refused", "breach"})


class QueueChanges:
    """A region's queue events, for the position feed: which queues changed."""

    def __init__(self, feed: PositionFeed) -> None:
        self.feed = feed

    def on_message(self, channel: str, data: bytes) -> None:
        event = msgpack.unpackb(data)
        if event.get("t") in UNMOVING_EVENTS:
            return
        for unit, skill in ((event.get("unit"), event.get("skill")), (event.get("from_unit"), event.get("from_skill"))):
            if unit and skill:
                self.feed.nudge((unit, skill))

    def on_resync(self) -> None:
        pass  # events missed while pub/sub was down: the next pass over every case catches up
