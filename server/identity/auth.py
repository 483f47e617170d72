"""Logging in and out: identity providers, sessions, WebSocket tickets.

Providers:
* ``test-eid`` — behaves like BankID/Freja from the citizen's side: pick a
  test personal identity number (Skatteverket's published test numbers
  only, check digit validated), under a clear TEST banner. Refused when
  ``DIREKT_ENV=production``.
* ``oidc`` — a real e-ID broker by OpenID Connect (authorization code with
  PKCE), configured by ``DIREKT_OIDC_*``; the subject claim carries the
  personnummer. The ``state`` is single-use and bound to the browser that
  started the login by a cookie (no login CSRF).
* ``staff-password`` — argon2 hashes from the region file, for the demo.
* ``staff-oidc`` — the region's staff identity provider, ``DIREKT_STAFF_OIDC_*``;
  the subject claim names a staff id, HSA-id or UPN (case-folded); staff land on
  the console. Both OIDC logins end the provider's session too at logout where it
  offers that (docs/identity.md).
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from direkt.queue.scripts import redis_errors
from direkt.server.care.triageflow import stockholm_date
from direkt.server.errors import (
    BadRequest,
    CsrfFailed,
    DirektError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthenticated,
)
from direkt.server.http.requests import (
    COOKIE,
    EMBED_COOKIE,
    authed,
    check_csrf,
    check_origin,
    current_session,
    json_body,
    ok,
    partitioned_cookie,
    read_body,
    secure_cookies,
    services,
    session_id,
    set_session_cookie,
    status_of,
)
from direkt.server.identity.loginerrors import LoginRefusedAtProvider, error_page, kind_of, wants_html
from direkt.server.identity.oidc import OidcClient
from direkt.server.identity.oidclogout import end_session_url, landing, remember_id_token
from direkt.server.identity.personnummer import Personnummer, is_test_number
from direkt.server.identity.profile import citizen_names, claimed_mobile
from direkt.server.identity.sessions import LOGIN_TTL_S, Principal, Session, citizen_uid, staff_uid
from direkt.server.wiring import Services

LOGIN_FAILURES_ALLOWED = 10
LOGIN_FAILURE_WINDOW_S = 900
LOGIN_BROWSER_COOKIE = "direkt_oidc"
_hasher = PasswordHasher()
# Verifying against this keeps the time of an unknown user's login equal to a known one's. A constant:
# hashing it at import cost every server start and every `direkt` command 0.2-0.3 s of CPU. Made with
# PasswordHasher's parameters (tests/unit/test_dummy_hash.py fails when argon2's defaults change).
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$hToWPuXFlqqMTxC8kFZksg$QcRB44W3OcZy3elyplPjX7HjjXWjdnx6DSMzSibGg3c"


class TestEidLogin(msgspec.Struct, forbid_unknown_fields=True):
    pnr: str
    next: str = "/"


class StaffLogin(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


# -- sessions ----------------------------------------------------------------------------


async def start_session(svc: Services, principal: Principal, response: Response) -> Session:
    session = await svc.sessions.create(principal)
    set_session_cookie(response, session, svc)
    return session


def citizen(svc: Services, pnr: Personnummer, provider: str, claims: Mapping[str, Any] | None = None) -> Principal:
    """The citizen ``pnr``, named by the e-ID's claims, else the demo file, else neutrally (``profile``)."""
    listed = svc.config.citizens.get(pnr.digits)
    name, given = citizen_names(claims or {}, listed.name if listed else None)
    phone = claimed_mobile(claims or {}) or ((listed.phone or "") if listed else "")
    uid = citizen_uid(svc.settings.secret, pnr.digits)
    return Principal(uid, "citizen", name, provider, pnr=pnr.digits, given_name=given, phone=phone)


def with_claimed_profile(svc: Services, principal: Principal, claims: Mapping[str, Any]) -> Principal:
    """A citizen logged in by OIDC, with the name and mobile number the broker released (issue 23)."""
    if principal.is_staff:
        return principal
    return citizen(svc, Personnummer(principal.pnr), principal.provider, claims)


def session_view(session: Session, svc: Services) -> dict[str, Any]:
    who = session.principal
    view: dict[str, Any] = {
        "uid": who.uid,
        "role": who.role,
        "name": who.name,
        "provider": who.provider,
        "csrf": session.csrf,
        "expires_ms": session.expires_ms,
    }
    staff = svc.config.directory.staff.get(who.staff_id) if who.is_staff else None
    if staff is not None:
        view["staff"] = {
            "id": staff.id,
            "profession": staff.profession.value,
            "units": list(staff.units),
            "max_chats": staff.max_chats,
            "roles": sorted(staff.roles),  # "supervisor", "admin": the console links to the supervisor view
        }
    elif not who.is_staff:
        view["pnr_masked"] = Personnummer(who.pnr).masked
        view["given_name"] = who.given_name
        view["phone"] = who.phone  # to pre-fill the notice form; the owner's own session only
        view["test_environment"] = not svc.settings.production
    return view


async def get_session(request: Request) -> Response:
    """Who is logged in: ``logged_in`` and the session view, or just ``{"logged_in": false}``.

    Not being logged in is an answer here, not an error: every page load asks,
    and a 401 would be logged in the browser's console each time.
    """
    svc = services(request)
    try:
        session = await current_session(request, svc)
    except Unauthenticated:
        return ok({"logged_in": False})
    return ok({"logged_in": True, **session_view(session, svc)})


async def logout(request: Request, svc: Services, session: Session) -> Response:
    """Ends the session; after an OIDC login whose provider offers RP-initiated logout, ``end_session_url``
    is where the browser goes next to end the provider's session too (docs/identity.md)."""
    end_session = await end_session_url(svc, session)
    await svc.sessions.revoke(session)
    response = ok({"logged_out": True, **({"end_session_url": end_session} if end_session else {})})
    response.delete_cookie(COOKIE, path="/")
    if request.cookies.get(EMBED_COOKIE):  # a framed chat's: the deletion must be partitioned too
        partitioned_cookie(response, EMBED_COOKIE, "", 0, "/")
    return response


async def ticket(request: Request) -> Response:
    """A one-time WebSocket ticket, written in the round trip that reads the session (a resume's first step).

    The checks of ``authed`` in its order: the Origin, the session, the CSRF
    token; a ticket whose request is refused is deleted before the refusal
    (``SessionStore.get_with_ticket``).
    """
    svc = services(request)
    check_origin(request, svc)
    session, value = await svc.sessions.get_with_ticket(session_id(request))
    try:
        check_csrf(request, session)
    except CsrfFailed:
        await svc.sessions.drop_ticket(value)
        raise
    return ok({"ticket": value, "expires_in_s": 30, "url": f"/ws?ticket={quote(value)}"}, 201)


def reads_session(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that checks the session itself, marked as ``authed`` marks one (``__wrapped__``:
    the OpenAPI document lists it as needing a session)."""

    async def checked(request: Request) -> Response:
        return await endpoint(request)

    return functools.update_wrapper(checked, endpoint)


async def client_config(request: Request) -> Response:
    """Public: where the browser clients send people to log in, the STUN servers for the call test,
    and the region's brand (names, logo, colours, advice number; nothing personal)."""
    svc = services(request)
    s = svc.settings
    citizen_login = "/auth/oidc/login" if s.oidc_issuer else ("" if s.production else "/auth/test-eid")
    response = ok(
        {
            "citizen_login": citizen_login,
            "staff_oidc_login": "/auth/staff/oidc/login" if s.staff_oidc_issuer else "",
            "staff_password_login": bool(svc.config.staff_passwords),
            "test_environment": not s.production,
            "ice_servers": svc.calltest.servers,
            "brand": svc.config.brand.public(),
        }
    )
    # The widget reads the brand from a clinic's page (another origin); nothing here is personal,
    # and no cookie is sent or needed.
    response.headers["access-control-allow-origin"] = "*"
    return response


# -- test e-ID -----------------------------------------------------------------------------


def _test_eid_allowed(svc: Services) -> None:
    if svc.settings.production:
        raise NotFound("the test e-ID is not available in production")


async def test_eid_page(request: Request) -> Response:
    svc = services(request)
    _test_eid_allowed(svc)
    token = secrets.token_urlsafe(16)
    nxt = safe_next(request.query_params.get("next", "/"))
    people = "".join(
        f'<li><button name="pnr" value="{c.pnr}">{html.escape(c.name)} · {c.pnr[:8]}-{c.pnr[8:]}</button></li>'
        for c in svc.config.citizens.values()
    )
    page = TEST_EID_PAGE.format(token=token, next=html.escape(nxt), people=people)
    response = HTMLResponse(page, headers={"Cache-Control": "no-store"})
    response.set_cookie("direkt_login", token, httponly=True, samesite="strict", path="/auth/")
    return response


async def test_eid_login(request: Request) -> Response:
    """JSON for scripted clients; a form post (with its double-submit token) from the page."""
    svc = services(request)
    _test_eid_allowed(svc)
    check_origin(request, svc)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await _form_login(request)
        form = True
    else:
        body = await json_body(request, TestEidLogin)
        form = False
    pnr = Personnummer.parse(body.pnr, today=stockholm_date(svc.clock()))
    if not is_test_number(pnr):
        raise Forbidden("the test e-ID accepts only Skatteverket's published test numbers")
    principal = citizen(svc, pnr, "test-eid")
    response: Response = RedirectResponse(safe_next(body.next), 303) if form else ok({})
    session = await start_session(svc, principal, response)
    if not form:
        response = ok(session_view(session, svc))
        set_session_cookie(response, session, svc)
    return response


async def _form_login(request: Request) -> TestEidLogin:
    from urllib.parse import parse_qs

    fields = parse_qs((await read_body(request, 4096)).decode("utf-8", "replace"))
    token = fields.get("token", [""])[0]
    if not token or token != request.cookies.get("direkt_login"):
        raise Forbidden("the login form has expired; reload the page")
    named = set(fields.get("pnr", [""]))
    if len(named) > 1:  # never guess which person was meant (an old page posted a listed one and the typed one)
        raise BadRequest("the form named more than one person; choose one")
    return TestEidLogin(named.pop(), fields.get("next", ["/"])[0])


def safe_next(target: str) -> str:
    """Only local paths: never an open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or len(target) > 512:
        return "/"
    return target


# -- staff passwords ---------------------------------------------------------------------


async def staff_login(request: Request) -> Response:
    svc = services(request)
    check_origin(request, svc)
    body = await json_body(request, StaffLogin)
    staff = svc.config.directory.staff.get(body.username)
    await _throttle(svc, body.username)
    stored = svc.config.staff_passwords.get(body.username) if staff else None
    if not await asyncio.to_thread(_verify, stored or DUMMY_HASH, body.password) or stored is None or staff is None:
        await _failed(svc, body.username)
        raise Unauthenticated("wrong user name or password")
    response = ok({})
    session = await start_session(
        svc, Principal(staff_uid(staff.id), "staff", staff.name, "staff-password", staff_id=staff.id), response
    )
    response = ok(session_view(session, svc))
    set_session_cookie(response, session, svc)
    return response


def _verify(stored: str, password: str) -> bool:
    if len(password) > 1024:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _failures_key(username: str) -> str:
    return f"dk:loginfail:{username[:64]}"


async def _throttle(svc: Services, username: str) -> None:
    with redis_errors():
        failures = int(await svc.client.get(_failures_key(username)) or 0)
    if failures >= LOGIN_FAILURES_ALLOWED:
        raise RateLimited("too many failed logins; wait 15 minutes")


async def _failed(svc: Services, username: str) -> None:
    with redis_errors():
        await svc.client.incr(_failures_key(username))
        await svc.client.expire(_failures_key(username), LOGIN_FAILURE_WINDOW_S)


# -- OIDC ----------------------------------------------------------------------------------


def oidc_client(svc: Services, audience: str) -> OidcClient:
    """The audience's relying party, kept per process with its cached discovery and keys (404 if none)."""
    return svc.oidc.get(audience)


def oidc_login(audience: str) -> Any:
    async def endpoint(request: Request) -> Response:
        svc = services(request)
        start = await oidc_client(svc, audience).begin()
        # RFC 6749 10.12: bind the login to this browser. Without it a callback URL
        # planted in someone else's browser (login CSRF) logs them in as whoever
        # started the login, who can later read everything they wrote. One value
        # per browser, so logins started in two tabs both work.
        browser = request.cookies.get(LOGIN_BROWSER_COOKIE, "")
        if not 32 <= len(browser) <= 64:
            browser = secrets.token_urlsafe(32)
        await svc.sessions.put_login(
            start.state,
            {
                "verifier": start.code_verifier,
                "nonce": start.nonce,
                "next": safe_next(request.query_params.get("next", landing(audience))),
                "browser": browser,
            },
        )
        response = RedirectResponse(start.url, 302)
        response.set_cookie(
            LOGIN_BROWSER_COOKIE,
            browser,
            max_age=LOGIN_TTL_S,
            httponly=True,
            samesite="lax",  # sent on the top-level redirect back from the provider
            secure=secure_cookies(svc),
            path="/auth/",
        )
        return response

    return friendly_login_errors(endpoint, _login_start(audience))


def oidc_callback(audience: str) -> Any:
    async def endpoint(request: Request) -> Response:
        svc = services(request)
        if "error" in request.query_params:
            raise LoginRefusedAtProvider(request.query_params["error"][:64])
        pending = await svc.sessions.take_login(request.query_params.get("state", ""))
        browser = request.cookies.get(LOGIN_BROWSER_COOKIE, "")
        if not browser or not hmac.compare_digest(browser.encode(), str(pending.get("browser", "")).encode()):
            raise Unauthenticated("this login was not started in this browser; start again")
        code = request.query_params.get("code", "")
        if not code or len(code) > 2048:
            raise BadRequest("the identity provider sent no code")
        client = oidc_client(svc, audience)
        verified = await client.finish(
            code,
            code_verifier=pending["verifier"],
            nonce=pending["nonce"],
            response_issuer=request.query_params.get("iss"),
        )
        claims = verified.claims
        principal = _principal_from_claims(svc, audience, str(claims[client.config.subject_claim]))
        principal = with_claimed_profile(svc, principal, claims)
        response = RedirectResponse(pending["next"], 303)
        session = await start_session(svc, principal, response)
        await remember_id_token(svc, session, audience, verified.id_token)
        return response

    return friendly_login_errors(endpoint, _login_start(audience))


def _principal_from_claims(svc: Services, audience: str, subject: str) -> Principal:
    if audience == "staff":
        staff = svc.config.staff_by_login(subject)  # case-folded: a staff id, an HSA-id or a UPN
        if staff is None:
            raise Forbidden("you are not staff of any unit here")
        return Principal(staff_uid(staff.id), "staff", staff.name, "staff-oidc", staff_id=staff.id)
    pnr = Personnummer.parse(subject, today=stockholm_date(svc.clock()))
    return citizen(svc, pnr, "oidc")


# -- error pages (issue 23) ----------------------------------------------------------------------


def _login_start(audience: str) -> str:
    return "/auth/staff/oidc/login" if audience == "staff" else "/auth/oidc/login"


def friendly_login_errors(endpoint: Any, start: str) -> Any:
    """A browser's navigation gets a page in plain words (``loginerrors``) instead of the JSON error;
    the status stays (401/403/503); API clients and ``fetch`` get the JSON as before."""

    async def wrapped(request: Request) -> Response:
        try:
            response: Response = await endpoint(request)
        except DirektError as exc:
            if not wants_html(request.headers.get("accept", ""), request.headers.get("sec-fetch-mode", "")):
                raise
            backend = request.state.backend
            backend.metrics.error(exc.code, "http")
            found: Services | None = backend.services
            brand = found.config.brand if found is not None else None
            nxt = request.query_params.get("next")  # a failed start keeps where the person was going
            again = f"{start}?next={quote(safe_next(nxt), safe='/')}" if nxt else start
            page = error_page(
                kind_of(exc), again, brand.advice_phone if brand else "", brand.name_sv if brand else "Vården direkt"
            )
            return HTMLResponse(page, status_code=status_of(exc), headers={"Cache-Control": "no-store"})
        return response

    return wrapped


AUTH_ROUTES = [
    ("GET", "/api/client-config", client_config, "Where the clients send people to log in; the brand", None),
    (
        "GET",
        "/auth/test-eid",
        friendly_login_errors(test_eid_page, "/auth/test-eid"),
        "The test e-ID page (not in production)",
        None,
    ),
    (
        "POST",
        "/auth/test-eid",
        friendly_login_errors(test_eid_login, "/auth/test-eid"),
        "Log in with a test personal identity number",
        TestEidLogin,
    ),
    ("POST", "/auth/staff/login", staff_login, "Staff login with a password (demo)", StaffLogin),
    ("GET", "/auth/oidc/login", oidc_login("citizen"), "Log in with e-ID through the OIDC broker", None),
    ("GET", "/auth/oidc/callback", oidc_callback("citizen"), "OIDC redirect target (citizens)", None),
    ("GET", "/auth/staff/oidc/login", oidc_login("staff"), "Staff login through the region's OIDC provider", None),
    ("GET", "/auth/staff/oidc/callback", oidc_callback("staff"), "OIDC redirect target (staff)", None),
    ("GET", "/api/session", get_session, "Who is logged in (logged_in), and the CSRF token", None),
    ("POST", "/auth/logout", authed(logout), "Log out; this session's sockets close", None),
    ("POST", "/api/tickets", reads_session(ticket), "A one-time WebSocket ticket (30 s)", None),
]

TEST_EID_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>TEST e-legitimation</title><link rel="icon" href="/shared/icon.svg" type="image/svg+xml">
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#fff;color:#111}}
.banner{{background:#b00020;color:#fff;padding:1rem;font-size:1.25rem;font-weight:700;text-align:center}}
main{{max-width:36rem;margin:1.5rem auto;padding:0 1rem}} button{{font:inherit;padding:.6rem 1rem;margin:.25rem 0;
width:100%;text-align:left;border:2px solid #1b4f72;background:#fff;border-radius:.4rem;cursor:pointer}}
button:focus{{outline:3px solid #f5a623}} ul{{list-style:none;padding:0}} input{{font:inherit;padding:.5rem;width:100%}}
</style></head><body>
<div class="banner" role="alert">TEST – ingen riktig e-legitimation · TEST – not a real e-ID</div>
<main><h1>Logga in med test-e-legitimation</h1>
<p>Välj en testperson (Skatteverkets testpersonnummer) eller skriv ett testpersonnummer.
Choose a test person (Skatteverket's test numbers) or type a test number.</p>
<form method="post" action="/auth/test-eid">
<input type="hidden" name="token" value="{token}"><input type="hidden" name="next" value="{next}">
<ul>{people}</ul>
</form>
<form method="post" action="/auth/test-eid">
<input type="hidden" name="token" value="{token}"><input type="hidden" name="next" value="{next}">
<label for="pnr">Testpersonnummer / test number</label>
<input id="pnr" name="pnr" inputmode="numeric" autocomplete="off" placeholder="ÅÅÅÅMMDD-NNNN" required>
<button type="submit">Logga in / Log in</button>
</form></main></body></html>
"""
# Two forms: Enter in the number field submits the form's first submit button, which in one
# shared form was the first listed person (so Enter logged in the wrong person).
