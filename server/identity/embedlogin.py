"""Logging in to a chat framed on another site (a clinic's page): a pop-up and a one-time code.

A chat in an iframe on a clinic's page is a third party there: the site's own
session cookie (SameSite=Lax) is never sent to it, and an e-ID broker refuses
to be framed. So (docs/identity.md, "Embedding on another site"):

1. The framed chat asks ``POST /auth/embed/start``: a login id, and a random
   binding in a cookie of its own partition (``direkt_embed_bind``: HttpOnly,
   Secure, SameSite=None, Partitioned). Redis keeps only the binding's hash.
2. It opens the login in a pop-up (a first-party, top-level window, where the
   test e-ID and the brokers work as on the site itself), with ``next`` the
   hand-over page ``/chat/embed-done.html?login=<id>``.
3. That page, logged in first-party, asks ``POST /auth/embed/code``: the
   login id is taken (once) and a one-time code of 60 seconds carries the
   citizen to the frame; the pop-up's own session ends there (the login moves
   into the frame). The code goes to ``window.opener`` by ``postMessage`` to
   this origin only, and the frame takes it only from its own pop-up and origin.
4. The frame exchanges it, ``POST /auth/embed/exchange``: the code works once,
   within 60 s, only from an allowed Origin, and only with the binding cookie of
   the browser (and partition) that started the login. The answer sets the
   frame's session cookie, ``direkt_embed_session``: HttpOnly, Secure,
   SameSite=None, Partitioned, so the login lives in that clinic site's
   partition only (CHIPS); another clinic's site does not share it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict
from typing import Any

import msgpack
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.scripts import redis_errors
from direkt.server.errors import BadRequest, Forbidden, OriginRefused, Unauthenticated
from direkt.server.http.api import Endpoint
from direkt.server.http.requests import (
    COOKIE,
    EMBED_COOKIE,
    authed,
    check_origin,
    json_body,
    ok,
    partitioned_cookie,
    services,
)
from direkt.server.identity.auth import session_view
from direkt.server.identity.sessions import Principal, Session
from direkt.server.redis import keys
from direkt.server.wiring import Services

BIND_COOKIE = "direkt_embed_bind"
LOGIN_TTL_S = 600  # the pop-up's login, from start to hand-over
CODE_TTL_S = 60  # the one-time code, from the pop-up to the frame
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class EmbedLogin(msgspec.Struct, forbid_unknown_fields=True):
    login: str


class EmbedCode(msgspec.Struct, forbid_unknown_fields=True):
    code: str


def well_formed(value: str) -> bool:
    """A login id, binding or code as we mint them (secrets.token_urlsafe)."""
    return bool(TOKEN.match(value))


def digest(binding: str) -> bytes:
    return hashlib.sha256(binding.encode()).digest()


def same_binding(stored: bytes, cookie: str) -> bool:
    """The cookie is the binding whose hash was stored (compared in constant time)."""
    return well_formed(cookie) and hmac.compare_digest(stored, digest(cookie))


def require_origin(request: Request, svc: Services) -> None:
    """A present and allowed Origin: browsers send it on every cross-origin and every POST fetch."""
    if "origin" not in request.headers:
        raise OriginRefused("this request needs an Origin header")
    check_origin(request, svc)


def forget_partitioned(response: Response, name: str, path: str) -> None:
    """Delete a partitioned cookie: the deletion must be partitioned too, or it misses."""
    partitioned_cookie(response, name, "", 0, path)


async def start(request: Request) -> Response:
    """The framed chat starts a pop-up login: a login id and the browser's binding cookie."""
    svc = services(request)
    require_origin(request, svc)
    login_id, binding = secrets.token_urlsafe(18), secrets.token_urlsafe(24)
    with redis_errors():
        await svc.client.set(keys.embed_login(login_id), digest(binding), ex=LOGIN_TTL_S)
    response = ok({"login": login_id, "expires_in_s": LOGIN_TTL_S}, 201)
    partitioned_cookie(response, BIND_COOKIE, binding, LOGIN_TTL_S, "/auth/embed/")
    return response


async def hand_over(request: Request, svc: Services, session: Session) -> Response:
    """The pop-up, logged in, turns its login into a one-time code for the frame; its session ends."""
    body = await json_body(request, EmbedLogin)
    if not well_formed(body.login):
        raise BadRequest("the login id is malformed")
    if session.principal.is_staff:
        raise Forbidden("only citizens log in to the framed chat")
    with redis_errors():
        bound: Any = await svc.client.getdel(keys.embed_login(body.login))
    if not isinstance(bound, bytes):
        raise Unauthenticated("the login is unknown, expired or already handed over; start again")
    code = secrets.token_urlsafe(24)
    record = msgpack.packb({"p": asdict(session.principal), "b": bound})
    with redis_errors():
        await svc.client.set(keys.embed_code(code), record, ex=CODE_TTL_S)
        await svc.client.delete(keys.oidc_id_token(session.sid))
    await svc.sessions.revoke(session)
    response = ok({"code": code, "expires_in_s": CODE_TTL_S}, 201)
    response.delete_cookie(COOKIE, path="/")
    return response


async def exchange(request: Request) -> Response:
    """The frame's code for a session of its own, in its partition; once, in time, bound to the browser."""
    svc = services(request)
    require_origin(request, svc)
    body = await json_body(request, EmbedCode)
    if not well_formed(body.code):
        raise BadRequest("the code is malformed")
    with redis_errors():
        raw: Any = await svc.client.getdel(keys.embed_code(body.code))
    if not isinstance(raw, bytes):
        raise Unauthenticated("the code is unknown, expired or already used; log in again")
    record = msgpack.unpackb(raw)
    if not same_binding(record["b"], request.cookies.get(BIND_COOKIE, "")):
        raise Forbidden("the code belongs to a login started in another browser")
    session = await svc.sessions.create(Principal(**record["p"]))
    response = ok(session_view(session, svc))
    partitioned_cookie(response, EMBED_COOKIE, session.sid, None, "/")
    forget_partitioned(response, BIND_COOKIE, "/auth/embed/")
    return response


ENDPOINTS = [
    Endpoint("POST", "/auth/embed/start", start, "A framed chat starts a pop-up login (binding cookie)", who="public"),
    Endpoint("POST", "/auth/embed/code", authed(hand_over), "The pop-up's login as a one-time code", EmbedLogin),
    Endpoint(
        "POST", "/auth/embed/exchange", exchange, "The framed chat's code for its session", EmbedCode, who="public"
    ),
]
