"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

A provider that keeps its own session (an e-ID broker, the region's identity
provider) would otherwise log the same person in again at the next "Logga in"
on a shared computer. So the ID token of an OIDC login is kept server-side
beside the session (never in the browser), and logging out hands the browser
the provider's ``end_session_endpoint`` with ``id_token_hint``; the provider
ends its session and returns to ``post_logout_redirect_uri``.
"""

from __future__ import annotations

import math

import msgpack

from direkt.queue.scripts import redis_errors
from direkt.server.identity.sessions import Session
from direkt.server.redis import keys
from direkt.server.wiring import Services

MAX_ID_TOKEN = 16_384  # bytes; a larger token is not kept (the logout is then local only)


def landing(audience: str) -> str:
    """Where a login goes when it names no page: staff to the console, citizens to the start page."""
    return "/console/" if audience == "staff" else "/"


async def remember_id_token(svc: Services, session: Session, audience: str, id_token: str) -> None:
    """Keep the login's ID token for as long as the session can live."""
    if len(id_token) > MAX_ID_TOKEN:
        return
    ttl_s = max(1, math.ceil((session.expires_ms - svc.clock()) / 1000))
    with redis_errors():
        await svc.client.set(keys.oidc_id_token(session.sid), msgpack.packb({"a": audience, "t": id_token}), ex=ttl_s)


async def end_session_url(svc: Services, session: Session) -> str | None:
    """The provider's logout URL for this session (and forget the ID token), or None: a local logout."""
    with redis_errors():
        raw = await svc.client.getdel(keys.oidc_id_token(session.sid))
    if not isinstance(raw, bytes):
        return None
    stored = msgpack.unpackb(raw)
    audience, id_token = stored.get("a"), stored.get("t")
    if not isinstance(audience, str) or not isinstance(id_token, str) or not svc.oidc.configured(audience):
        return None
    return await svc.oidc.get(audience).logout_url(id_token)
