"""Small HTTP helpers: typed bodies, the session behind a request, CSRF and
Origin checks, and the one mapping from ``DirektError`` to an HTTP answer.

CSRF (OWASP): state-changing requests from a logged-in browser carry the
session's token in ``X-CSRF-Token``; a request whose ``Origin`` is present and
not allowed is refused before anything else. The session cookie is HttpOnly,
SameSite=Lax, and Secure whenever the site is served over https. A chat framed on
another site has its own session cookie, ``direkt_embed_session``: HttpOnly,
Secure, SameSite=None and Partitioned (CHIPS), so it lives only in the frame's
partition under that one clinic site (server/identity/embedlogin.py).
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import orjson
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from direkt.server.errors import (
    AtCapacity,
    BadRequest,
    CaseConflict,
    ConfigRejected,
    CsrfFailed,
    DirektError,
    NotAllowed,
    OriginRefused,
    QueueError,
    RedisUnavailable,
    RequestError,
    StaleToken,
    TooLarge,
    TriageError,
    Unavailable,
    UnknownCase,
)
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services

log = structlog.get_logger("direkt.http")
COOKIE = "direkt_session"
EMBED_COOKIE = "direkt_embed_session"  # the framed chat's own, partitioned (server/identity/embedlogin.py)
MAX_JSON_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")

_QUEUE_STATUS: dict[type[QueueError], int] = {
    UnknownCase: 404, AtCapacity: 409, CaseConflict: 409, StaleToken: 409, NotAllowed: 403,
}  # fmt: skip


class OrjsonResponse(JSONResponse):
    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


def status_of(exc: DirektError) -> int:
    """The HTTP status of an error: the one mapping."""
    if isinstance(exc, RequestError):
        return exc.status
    if isinstance(exc, TriageError):
        return 422
    if isinstance(exc, QueueError):
        return _QUEUE_STATUS.get(type(exc), 400)
    if isinstance(exc, RedisUnavailable | Unavailable):
        return 503
    return 400


def error_response(exc: DirektError) -> Response:
    body: dict[str, object] = {"code": exc.code, "message": exc.message}
    if isinstance(exc, TriageError):
        body["text"] = exc.text  # the citizen's words, in Swedish and English
    body |= getattr(exc, "fields", {})  # what the refusal carries besides (steering.IntakeClosed: text, until_ms)
    if isinstance(exc, ConfigRejected):
        body["field"] = exc.field  # the form field to mark (server/http/administration.py)
    return OrjsonResponse({"error": body}, status_code=status_of(exc))


async def on_direkt_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DirektError)
    request.state.backend.metrics.error(exc.code, "http")
    if status_of(exc) >= 500:
        log.warning("request_failed", code=exc.code, detail=exc.message)  # server-side reasons: no personal data
    return error_response(exc)


def services(request: Request) -> Services:
    found: Services | None = request.state.backend.services
    if found is None:
        raise RedisUnavailable("the server is starting; try again in a moment")
    return found


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` (never buffered beyond it)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge(f"the body is over {limit // 1024} KiB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is over {limit // 1024} KiB")
        chunks.append(chunk)
    return b"".join(chunks)


def _invalid_body(exc: msgspec.ValidationError) -> DirektError:
    return BadRequest(f"invalid body: {exc}")


async def json_body(
    request: Request, kind: type[T], invalid: Callable[[msgspec.ValidationError], DirektError] = _invalid_body
) -> T:
    """Decode and validate a JSON body into ``kind`` (unknown fields refused); ``invalid`` words a
    field of the wrong type or shape (a 400 by default)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BadRequest("send the body as application/json")
    raw = await read_body(request, MAX_JSON_BYTES)
    try:
        return msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise invalid(exc) from None
    except msgspec.DecodeError:
        raise BadRequest("the body is not valid JSON") from None


def check_origin(request: Request, svc: Services) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in svc.settings.origins:
        raise OriginRefused("requests from this Origin are not allowed")


async def current_session(request: Request, svc: Services) -> Session:
    """The request's session; state-changing methods must carry its CSRF token.

    Raises:
        Unauthenticated, OriginRefused, CsrfFailed.
    """
    session, _ = await session_with(request, svc, "")
    return session


async def session_with(request: Request, svc: Services, key: str) -> tuple[Session, Any]:
    """``current_session`` and the value at ``key`` (``SessionStore.get_with``), in one round trip.

    The value is returned only after every check on the session has passed.

    Raises:
        Unauthenticated, OriginRefused, CsrfFailed.
    """
    if request.method not in SAFE_METHODS:
        check_origin(request, svc)
    session, value = await svc.sessions.get_with(session_id(request), key)
    if request.method not in SAFE_METHODS:
        check_csrf(request, session)
    return session, value


def check_csrf(request: Request, session: Session) -> None:
    """A state-changing request carries its session's CSRF token.

    Raises:
        CsrfFailed.
    """
    token = request.headers.get("x-csrf-token", "")
    if not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise CsrfFailed("the X-CSRF-Token header is missing or wrong")


def session_id(request: Request) -> str:
    """The session cookie: a framed chat's partitioned one first, else the site's own."""
    return request.cookies.get(EMBED_COOKIE) or request.cookies.get(COOKIE, "")


def secure_cookies(svc: Services) -> bool:
    return svc.settings.production or svc.settings.base_url.startswith("https://")


def set_session_cookie(response: Response, session: Session, svc: Services) -> None:
    response.set_cookie(COOKIE, session.sid, httponly=True, samesite="lax", secure=secure_cookies(svc), path="/")


def partitioned_cookie(response: Response, name: str, value: str, max_age: int | None, path: str) -> None:
    """A cookie in a framed chat's own partition (CHIPS): HttpOnly; Secure; SameSite=None; Partitioned.

    Secure is required; Chromium keeps it over http only on loopback (http://127.0.0.1,
    http://localhost), so a deployment embedded on other sites is https. Python's cookie module
    knows ``Partitioned`` only from 3.14, so the attribute is appended to the header here.
    """
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, secure=True, samesite="none")
    header, raw = response.raw_headers[-1]
    assert header == b"set-cookie"
    response.raw_headers[-1] = (header, raw + b"; Partitioned")


Handler = Callable[[Request, Services, Session], Awaitable[Response]]


def authed(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler that needs a logged-in session."""

    async def endpoint(request: Request) -> Response:
        svc = services(request)
        return await handler(request, svc, await current_session(request, svc))

    return functools.update_wrapper(endpoint, handler)  # __wrapped__ marks it as needing a session (openapi)


def ok(content: Any, status: int = 200) -> Response:
    return OrjsonResponse(content, status_code=status)
