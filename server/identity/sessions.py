"""Server-side login sessions, one-time WebSocket tickets and logins in progress.

A session is a Redis hash with an idle TTL (sliding) and an absolute expiry;
the browser holds only a random id in an HttpOnly cookie. Revoking deletes the
hash and publishes on the user's channel so every server process closes that
user's sockets (TARGETS 15: "logout, expiry or revoked assignment → that
user's sockets closed promptly").
"""

from __future__ import annotations

import asyncio
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import msgpack

from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import Unauthenticated
from direkt.server.redis import keys

IDLE_TTL_S = 30 * 60
ABSOLUTE_TTL_S = 12 * 3600
TICKET_TTL_S = 30
LOGIN_TTL_S = 600
Clock = Callable[[], int]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is logged in. ``uid`` is a pseudonym safe for logs and key names.

    Citizens: ``pnr`` holds the 12-digit personal identity number (stored in
    Redis with the session, never logged). Staff: ``staff_id``.
    """

    uid: str
    role: str  # "citizen" or "staff"
    name: str
    provider: str
    pnr: str = ""
    staff_id: str = ""
    given_name: str = ""  # citizens: the first name to greet ("" when unknown: "Hej!", never an invented one)
    phone: str = ""  # citizens: a mobile number (E.164) to offer for notices, from the e-ID or the demo file

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    principal: Principal
    csrf: str
    created_ms: int
    expires_ms: int


def citizen_uid(secret: bytes, pnr: str) -> str:
    """A stable pseudonym for a citizen: keyed hash of the personnummer."""
    return "c-" + hmac.new(secret, pnr.encode(), "sha256").hexdigest()[:20]


def staff_uid(staff_id: str) -> str:
    return f"s-{staff_id}"


class SessionStore:
    """Sessions in Redis.

    Args:
        lifetime_s: a session's absolute lifetime (``DIREKT_SESSION_LIFETIME_SECONDS``):
            it ends then however active it is, and its sockets are closed.
    """

    def __init__(self, client: RedisClient, clock: Clock, lifetime_s: float = ABSOLUTE_TTL_S) -> None:
        self.client = client
        self.clock = clock
        self.lifetime_ms = int(lifetime_s * 1000)

    async def create(self, principal: Principal) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), principal, secrets.token_urlsafe(24), now, now + self.lifetime_ms)
        fields = {
            "p": msgpack.packb(asdict(principal)),
            "csrf": session.csrf,
            "created": now,
            "expires": session.expires_ms,
        }
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(keys.session(session.sid), mapping=fields)  # type: ignore[arg-type]
        pipe.expire(keys.session(session.sid), IDLE_TTL_S)
        pipe.sadd(keys.user_sessions(principal.uid), session.sid)
        pipe.expire(keys.user_sessions(principal.uid), math.ceil(self.lifetime_ms / 1000))
        with redis_errors():
            await pipe.execute()
        return session

    async def get(self, sid: str) -> Session:
        """The live session; slides its idle timeout.

        Raises:
            Unauthenticated: unknown, expired or malformed session id.
        """
        session, _ = await self.get_with(sid, "")
        return session

    async def get_with(self, sid: str, key: str) -> tuple[Session, Any]:
        """The live session and the string value at ``key`` (None if absent), in one round trip.

        A request that needs one value besides its session (a triage) saves a
        round trip; the value is the caller's to use only once the session
        holds. ``key`` "" reads nothing (the value is None).

        Raises:
            Unauthenticated: unknown, expired or malformed session id.
        """
        if not sid or len(sid) > 64:
            raise Unauthenticated("not logged in")
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.session(sid))
        pipe.expire(keys.session(sid), IDLE_TTL_S)  # a no-op for an unknown id
        if key:
            pipe.get(key)
        with redis_errors():
            raw, _, *value = await pipe.execute()
        return self._session(sid, raw), (value[0] if value else None)

    def _session(self, sid: str, raw: Any) -> Session:
        if not raw or int(raw[b"expires"]) <= self.clock():
            raise Unauthenticated("the session has ended; log in again")
        principal = Principal(**msgpack.unpackb(raw[b"p"]))
        return Session(sid, principal, raw[b"csrf"].decode(), int(raw[b"created"]), int(raw[b"expires"]))

    async def alive(self, sid: str) -> bool:
        with redis_errors():
            return bool(await self.client.exists(keys.session(sid)))

    async def alive_many(self, sids: list[str], chunk: int = 200) -> set[str]:
        """The session ids of ``sids`` that still exist (a few hundred EXISTS at a time)."""
        alive: set[str] = set()
        with redis_errors():
            for start in range(0, len(sids), chunk):
                part = sids[start : start + chunk]
                found = await asyncio.gather(*(self.client.exists(keys.session(sid)) for sid in part))
                alive.update(sid for sid, n in zip(part, found, strict=True) if n)
        return alive

    async def revoke(self, session: Session) -> None:
        """End one session and tell every process to close its sockets."""
        with redis_errors():
            await self.client.delete(keys.session(session.sid))
            await self.client.srem(keys.user_sessions(session.principal.uid), session.sid)
            await self.client.publish(
                keys.user_channel(session.principal.uid), msgpack.packb({"t": "revoked", "sid": session.sid})
            )

    async def revoke_user(self, uid: str) -> int:
        """End every session of a user (an assignment revoked); returns how many."""
        with redis_errors():
            sids: Any = await self.client.smembers(keys.user_sessions(uid))
            for sid in sids:
                await self.client.delete(keys.session(sid.decode()))
            await self.client.delete(keys.user_sessions(uid))
            await self.client.publish(keys.user_channel(uid), msgpack.packb({"t": "revoked", "sid": "*"}))
        return len(sids)

    # -- WebSocket tickets -------------------------------------------------------------

    async def get_with_ticket(self, sid: str) -> tuple[Session, str]:
        """The live session (its idle timeout slid, as ``get``) and a new ticket for it, in one round trip.

        A resume took two (the session, then the ticket). The ticket is
        written with the read, so a refused session's ticket is deleted before
        the refusal; whoever refuses the session later (a CSRF check) calls
        ``drop_ticket``. It was never shown, and redeeming one reads the
        session again (``redeem_ticket``).

        Raises:
            Unauthenticated: unknown, expired or malformed session id.
        """
        if not sid or len(sid) > 64:
            raise Unauthenticated("not logged in")
        ticket = secrets.token_urlsafe(24)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.session(sid))
        pipe.expire(keys.session(sid), IDLE_TTL_S)  # a no-op for an unknown id
        pipe.set(keys.ticket(ticket), sid, ex=TICKET_TTL_S)
        with redis_errors():
            raw, *_ = await pipe.execute()
        try:
            return self._session(sid, raw), ticket
        except Unauthenticated:
            await self.drop_ticket(ticket)
            raise

    async def drop_ticket(self, ticket: str) -> None:
        """Delete a ticket that must not be redeemed (its request was refused)."""
        with redis_errors():
            await self.client.delete(keys.ticket(ticket))

    async def redeem_ticket(self, ticket: str) -> Session:
        """Exchange a ticket for its session; a ticket works once (GETDEL).

        Raises:
            Unauthenticated: missing, expired, replayed or foreign ticket, or its session ended.
        """
        if not ticket or len(ticket) > 64:
            raise Unauthenticated("a WebSocket ticket is required")
        with redis_errors():
            sid: Any = await self.client.getdel(keys.ticket(ticket))
        if sid is None:
            raise Unauthenticated("the ticket is unknown, expired or already used")
        return await self.get(sid.decode())

    # -- logins in progress (OIDC state, test e-ID) ------------------------------------

    async def put_login(self, state: str, data: dict[str, Any]) -> None:
        with redis_errors():
            await self.client.set(keys.login(state), msgpack.packb(data), ex=LOGIN_TTL_S)

    async def take_login(self, state: str) -> dict[str, Any]:
        """The login started with ``state``, once.

        Raises:
            Unauthenticated: unknown, expired or replayed state.
        """
        if not state or len(state) > 128:
            raise Unauthenticated("the login request is missing its state")
        with redis_errors():
            raw: Any = await self.client.getdel(keys.login(state))
        if raw is None:
            raise Unauthenticated("the login has expired or was already completed; start again")
        data: dict[str, Any] = msgpack.unpackb(raw)
        return data
