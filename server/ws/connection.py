"""One accepted socket's life: register, receive and dispatch frames, keep alive, unregister.

After accept: a per-user socket limit, a bounded send queue with one sender
task (``outlet.Outlet``), a token-bucket rate limit on inbound frames, and
frame dispatch through tables of small handlers: the chat's
(``chat.CHAT_FRAMES``), the staff desk's (``desk.DESK_FRAMES``), and the
call frames (``calls.Calls``). Every refusal is an ``error`` frame
(``refusals.error_frame``).
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any, Protocol, get_args

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.http11 import Request

from direkt.queue.model import Staff
from direkt.queue.scripts import REDIS_FAILURES, redis_errors
from direkt.server.background import spawn
from direkt.server.care.workflow import Workflow
from direkt.server.errors import DirektError, Forbidden, RateLimited, Unauthenticated
from direkt.server.identity.sessions import Session
from direkt.server.redis import keys
from direkt.server.wiring import Services
from direkt.server.ws import frames as f
from direkt.server.ws.chat import CHAT_FRAMES, Chat
from direkt.server.ws.desk import DESK_FRAMES, StaffDesk
from direkt.server.ws.inbox import reader_for
from direkt.server.ws.keepalive import Wheel
from direkt.server.ws.listeners import UserListener
from direkt.server.ws.outbox import SERVER_SEND
from direkt.server.ws.outlet import Outlet
from direkt.server.ws.pings import PingWheel
from direkt.server.ws.positions import PositionFeed
from direkt.server.ws.ratelimit import TokenBucket
from direkt.server.ws.refusals import CLOSE_POLICY, CLOSE_SESSION_ENDED, close_code_for, error_frame
from direkt.server.ws.sessionend import SessionEnds
from direkt.server.ws.slimproto import slim_protocol

log = structlog.get_logger("direkt.hub")

CONN_TTL_MS = 90_000
UNREAD = "unread"  # the frame-type label of a frame refused before it was decoded (over the rate, or bad)


# Frame type -> (its "t", staff only?). A look-up: ``isinstance`` against the six staff-only
# types took over a microsecond per frame, ``__struct_config__`` makes an object per call.
FRAME_KINDS: dict[type, tuple[str, bool]] = {
    kind: (kind.__struct_config__.tag, issubclass(kind, f.STAFF_ONLY)) for kind in get_args(f.ClientFrame)
}


class Host(Protocol):
    """What a connection needs of the process-wide hub (``hub.Hub``)."""

    s: Services
    workflow: Workflow
    positions: PositionFeed
    keepalive: Wheel
    pings: PingWheel
    session_ends: SessionEnds
    connections: set[Connection]


def server_protocol(websocket: WebSocket) -> Any:
    """uvicorn's protocol object of the socket (``None`` under another server)."""
    return getattr(websocket.scope.get(SERVER_SEND), "__self__", None)


STARLETTE_CACHES = ("_headers", "_query_params", "_url")


def forget_handshake(websocket: WebSocket) -> None:
    """Empty the handshake's header tables: read before accept (Origin, ticket, subprotocols), never again.

    The ASGI scope keeps uvicorn's list of them for the socket's life, and
    websockets' parser its parsed request (a local of its generator, so
    dropping uvicorn's ``request`` attribute did not free it): together about
    3.9 KiB of every open socket (tracemalloc). Starlette's ``WebSocket``
    caches its parsed headers and query (the spent ticket) on first read:
    dropped too, about 0.5 KiB more; a later read parses the scope again.
    """
    headers = websocket.scope.get("headers")
    if isinstance(headers, list):
        headers.clear()
    request = getattr(server_protocol(websocket), "request", None)
    if isinstance(request, Request):
        request.headers.clear()
    for cached in STARLETTE_CACHES:
        vars(websocket).pop(cached, None)


class SocketLog:
    """The socket's log lines, each with its id, role and user.

    A bound structlog logger per socket held a context dict and a logger
    object for the socket's whole life; the socket writes two lines (open,
    close), so the fields are added per line instead.
    """

    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def info(self, event: str, **fields: Any) -> None:
        conn = self.conn
        log.info(event, conn_id=conn.id, role=conn.who.role, uid=conn.who.uid, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        conn = self.conn
        log.warning(event, conn_id=conn.id, role=conn.who.role, uid=conn.who.uid, **fields)


class Connection:
    """One socket's state; slotted (no instance dict), as every open socket holds one."""

    __slots__ = (
        "_desk", "bucket", "chat", "codec", "flood_allowance", "hub", "id", "log", "out", "s",
        "session", "staff", "user_listener", "who", "ws",
    )  # fmt: skip

    def __init__(self, hub: Host, websocket: WebSocket, codec: f.Codec, session: Session) -> None:
        self.hub = hub
        self.s = hub.s
        self.codec = codec
        self.session = session
        self.who = session.principal
        self.id = secrets.token_hex(8)
        self.log = SocketLog(self)
        forget_handshake(websocket)  # before the outlet's writer drops uvicorn's reference to the request
        slim_protocol(server_protocol(websocket))
        self.out = Outlet(websocket, codec, self.log, hub.s.metrics)
        self.ws = websocket
        self.staff: Staff | None = None
        self.chat = Chat(hub.s, hub.workflow, hub.positions, self.out, self.who, session.sid)
        self._desk: StaffDesk | None = None  # staff only: made when the console starts
        self.user_listener = UserListener(self.out, session.sid)
        rate = self.s.settings.message_rate
        self.bucket = TokenBucket(rate, 2 * rate, self.s.clock)
        # Refused frames spend this; it refills at the rate, so only a socket that keeps
        # sending faster than twice the rate runs out (docs/protocol.md §1: closed with 1008).
        self.flood_allowance = TokenBucket(rate, self.s.settings.flood_frames, self.s.clock)
        hub.pings.add(server_protocol(websocket))  # last: from here on ``run`` ends with ``_unregister``

    @property
    def desk(self) -> StaffDesk:
        """The staff member's desk (held cases, queues served)."""
        if self._desk is None:
            raise Forbidden("this frame is for staff")
        return self._desk

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        self.out.start()
        open_sockets = self.s.metrics.sockets.labels(self.who.role)
        open_sockets.inc()
        try:
            await self._register()
            await self._receive_loop()
        except DirektError as exc:
            self.out.push(error_frame(exc, "", self.s.metrics))
            await self.out.close(close_code_for(exc), exc.code)
        except WebSocketDisconnect:
            pass
        finally:
            open_sockets.dec()
            await self._unregister()

    async def _register(self) -> None:
        self.hub.connections.add(self)
        await self.s.fanout.subscribe(keys.user_channel(self.who.uid), self.user_listener)
        await self._claim_socket_slot()
        if self.who.is_staff:
            self.staff = self.chat.staff = self.hub.workflow.staff_of(self.who)
        self.out.push(
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
        self.hub.session_ends.add(self, self.session.expires_ms)
        if self.staff is not None:
            await self._staff_start(self.staff)
        self.log.info("ws_open", protocol=self.codec.subprotocol)

    async def _claim_socket_slot(self) -> None:
        """Take one of the user's socket slots and check the session and the flood bar, in one round trip.

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
            pipe.pttl(keys.flooded(self.who.uid))
            *_, live, alive, barred_ms = await pipe.execute()
        if not alive:
            raise Unauthenticated("the session has ended; log in again")
        if barred_ms > 0:
            raise RateLimited(f"a socket of this user was closed as a flood; retry in {-(-barred_ms // 1000)} s")
        if live > cap:
            raise RateLimited(f"at most {cap} open sockets per user")

    async def _staff_start(self, staff: Staff) -> None:
        self._desk = self.chat.desk = StaffDesk(staff, self.s, self.hub.workflow, self.out, self.chat.follows)
        await self._desk.start()

    def session_ended(self) -> None:
        """The session's absolute end closes the socket within a second, however busy it is (``SessionEnds``).

        The keepalive round runs only every ``CONN_REFRESH_S``, and the session
        key outlives the session's absolute end while its user is active (the
        idle timeout slides): sockets outlived their session. The keepalive
        round checks the end too.
        """
        spawn(self.out.close(CLOSE_SESSION_ENDED, "the session has ended"))

    async def _unregister(self) -> None:
        self.out.stop()
        self.hub.session_ends.remove(self, self.session.expires_ms)
        self.hub.pings.remove(server_protocol(self.ws))
        self.hub.connections.discard(self)
        self.hub.keepalive.remove(self)
        self.hub.positions.forget(self.out, self.chat.follows)
        for case_id in list(self.chat.follows):
            await self.chat.unfollow(case_id)
        if self._desk is not None:
            await self._desk.stop()
        await self.s.fanout.unsubscribe(keys.user_channel(self.who.uid), self.user_listener)
        with contextlib.suppress(DirektError, *REDIS_FAILURES):
            await self.s.client.zrem(keys.connections(self.who.uid), self.id)
        self.log.info("ws_closed")

    async def keepalive_round(self) -> None:
        """Refresh the socket-limit slot, heartbeat held leases, and end with the session (``Hub.keepalive``)."""
        if self.out.closing:
            return
        try:
            if self.s.clock() >= self.session.expires_ms or not await self.s.sessions.alive(self.session.sid):
                await self.out.close(CLOSE_SESSION_ENDED, "the session has ended")
                return
            await self.s.client.zadd(keys.connections(self.who.uid), {self.id: self.s.clock() + CONN_TTL_MS})
            if self._desk is not None:
                await self._desk.heartbeat_leases()
        except (DirektError, *REDIS_FAILURES) as exc:
            self.log.warning("keepalive_failed", problem=type(exc).__name__)

    # -- receiving -----------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        """Each frame is handled before the next is read (the socket's frames keep their order)."""
        receive = reader_for(self.ws).receive
        while (data := await receive()) is not None:
            await self._handle(data)

    async def _handle(self, data: bytes | str) -> None:
        if not self.bucket.take():
            self.s.metrics.frame_in(UNREAD)
            await self._refuse_excess(data)
            return
        ref = ""
        try:
            try:
                frame = self.codec.decode(data)
            except f.FrameError:
                self.s.metrics.frame_in(UNREAD)
                ref = f.peek_ref(data)
                raise
            tag, staff_only = FRAME_KINDS[type(frame)]
            self.s.metrics.frame_in(tag)  # the frame's "t": a closed set
            ref = frame.ref
            if staff_only and self.staff is None:
                raise Forbidden("this frame is for staff")
            await self._dispatch(frame)
        except DirektError as exc:
            self.out.push(error_frame(exc, ref, self.s.metrics))

    async def _refuse_excess(self, data: bytes | str) -> None:
        """A frame over the rate: a ``rate_limited`` error with its ref, or, when the flood allowance is spent, 1008.

        Frames that do get through do not forgive it: a flood at ten times the
        rate had every tenth frame admitted, each of which reset a count of
        refusals in a row, and it was never closed (issue 19). The user's new
        sockets are refused until a new one's allowance would have refilled:
        a flood that opened a socket again at once had a new burst each time,
        and stored some 500 messages a second where five sockets at the rate
        store 100 (issue 19).
        """
        if not self.flood_allowance.take():
            if not self.out.closing:
                self.log.warning("ws_flood_closed")
                await self._bar_new_sockets()
            await self.out.close(CLOSE_POLICY, "message flood")
            return
        # the client must learn which frame to send again
        refusal = RateLimited("too many frames; slow down and retry")
        self.out.push(error_frame(refusal, f.peek_ref(data), self.s.metrics))

    async def _bar_new_sockets(self) -> None:
        """For as long as a flood allowance takes to refill, the user's new sockets are refused (all processes)."""
        settings = self.s.settings
        bar_ms = max(1, round(1000 * settings.flood_frames / settings.message_rate))
        with contextlib.suppress(DirektError, *REDIS_FAILURES), redis_errors():
            await self.s.client.set(keys.flooded(self.who.uid), b"1", px=bar_ms)

    async def _dispatch(self, frame: Any) -> None:
        """By frame type: the chat's, the desk's, a ping; the other types are call frames (``f.CallFrame``)."""
        kind = type(frame)
        if (on_chat := CHAT_FRAMES.get(kind)) is not None:
            await on_chat(self.chat, frame)
        elif (on_desk := DESK_FRAMES.get(kind)) is not None:
            await on_desk(self.desk, frame)
        elif kind is f.Ping:
            self.out.push({"t": "pong", "n": frame.n, "server_ms": self.s.clock(), "ref": frame.ref})
        else:
            await self.s.calls.on_frame(self.chat, frame)
