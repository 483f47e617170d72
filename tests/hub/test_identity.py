"""Logging in and out against a real ``direkt serve`` process: the test e-ID (JSON
and the HTML form), OIDC through a running issuer for citizens and staff, staff
passwords, sessions, CSRF and Origin checks, logout closing sockets, tickets.

Every refusal is a typed JSON error ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_issuer import CLIENT_ID, Issuer
from support import ServerProcess, timeout
from support_brokers import Brokers, brokers_on
from support_hub import ERIK, GUARDIAN, UNLISTED, error_of, not_logged_in, refused, staff
from websockets.exceptions import InvalidStatus

from direkt.loadtests.client import Client, Socket
from direkt.queue.scripts import RedisClient
from direkt.server.identity.personnummer import Personnummer, is_test_number
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

# A valid personnummer (check digit right) that Skatteverket has NOT published as a test number.
REAL_LOOKING = "199001011239"
EVIL = "https://evil.example"


@pytest.fixture
async def anonymous(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with no session yet (its Origin is the site's own)."""
    async with httpx.AsyncClient(base_url=server.base, headers={"Origin": server.base}, timeout=10) as http:
        yield http


# -- test e-ID, JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(("pnr", "name"), [(ERIK, "Erik Nilsson"), (UNLISTED, "Invånare")])
async def test_test_eid_logs_in_listed_and_unlisted_test_numbers(server: ServerProcess, pnr: str, name: str) -> None:
    async with Client(server.base) as client:
        me = await client.login_citizen(pnr)
        assert (me["role"], me["name"], me["provider"]) == ("citizen", name, "test-eid")
        assert me["pnr_masked"] == f"{pnr[:8]}-****"
        assert me["test_environment"] is True
        assert pnr not in str(me)  # the session view never carries the whole number
        again = await client.call("GET", "/api/session")
        assert again["logged_in"] is True and again["uid"] == me["uid"] and again["csrf"] == me["csrf"]


async def test_the_same_person_gets_the_same_pseudonym_and_another_person_another(server: ServerProcess) -> None:
    async with Client(server.base) as first, Client(server.base) as second, Client(server.base) as other:
        a, b, c = (
            await first.login_citizen(ERIK),
            await second.login_citizen(ERIK),
            await other.login_citizen(GUARDIAN),
        )
    assert a["uid"] == b["uid"] != c["uid"]
    assert a["csrf"] != b["csrf"]  # but two sessions


@pytest.mark.parametrize("written", ["19910831-2399", "910831-2399", "9108312399", " 199108312399 "])
async def test_the_number_may_be_written_as_people_write_it(server: ServerProcess, written: str) -> None:
    async with Client(server.base) as typed, Client(server.base) as canonical:
        assert (await typed.login_citizen(written))["uid"] == (await canonical.login_citizen(ERIK))["uid"]


async def test_a_real_looking_number_outside_the_test_list_is_refused(anonymous: httpx.AsyncClient) -> None:
    assert not is_test_number(Personnummer(REAL_LOOKING))  # valid check digit, not a test number
    response = await anonymous.post("/auth/test-eid", json={"pnr": REAL_LOOKING})
    message = error_of(response, 403, "forbidden")
    assert "test" in message and REAL_LOOKING not in response.text
    assert "direkt_session" not in response.cookies


@pytest.mark.parametrize(
    "body",
    [
        {"pnr": ERIK[:-1] + str((int(ERIK[-1]) + 1) % 10)},  # check digit off by one
        {"pnr": "not a number"},
        {"pnr": ""},
        {"pnr": 199108312399},  # a number, not a string
        {"pnr": "20991231-0000"},
        {},
        {"pnr": ERIK, "role": "staff"},  # unknown fields are refused, not ignored
        [ERIK],
    ],
    ids=["check-digit", "garbage", "empty", "not-a-string", "not-a-date", "missing", "unknown-field", "array"],
)
async def test_test_eid_refuses_malformed_bodies(anonymous: httpx.AsyncClient, body: Any) -> None:
    response = await anonymous.post("/auth/test-eid", json=body)
    error_of(response, 400, "bad_request")
    assert "direkt_session" not in response.cookies
    assert ERIK not in response.text  # the number is never echoed back


async def test_test_eid_refuses_bodies_that_are_not_json(anonymous: httpx.AsyncClient) -> None:
    wrong_type = await anonymous.post(
        "/auth/test-eid", content=f'{{"pnr": "{ERIK}"}}', headers={"Content-Type": "text/plain"}
    )
    assert "application/json" in error_of(wrong_type, 400, "bad_request")
    broken = await anonymous.post("/auth/test-eid", content=b'{"pnr": ', headers={"Content-Type": "application/json"})
    error_of(broken, 400, "bad_request")


async def test_test_eid_refuses_a_body_over_64_kib(anonymous: httpx.AsyncClient) -> None:
    padding = "x" * (64 * 1024)
    declared = await anonymous.post("/auth/test-eid", json={"pnr": ERIK, "next": padding})
    error_of(declared, 413, "too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield f'{{"pnr": "{ERIK}", "next": "'.encode()
        for _ in range(17):
            yield b"y" * 4096
        yield b'"}'

    streamed = await anonymous.post("/auth/test-eid", content=chunks(), headers={"Content-Type": "application/json"})
    error_of(streamed, 413, "too_large")
    assert "direkt_session" not in streamed.cookies


async def test_test_eid_login_from_a_foreign_origin_is_refused(server: ServerProcess) -> None:
    async with Client(server.base, origin=EVIL) as client:
        await refused(client.login_citizen(ERIK), 403, "origin_refused")


# -- test e-ID, the HTML page --------------------------------------------------------------------


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name!r}"
    return found.group(1)


async def test_the_test_eid_page_shows_a_test_banner_and_the_test_people(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/auth/test-eid")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert re.search(r'class="banner" role="alert">TEST', page)
    assert "not a real e-ID" in page
    assert "Erik Nilsson" in page and "Maja Andersson" in page
    token = hidden(page, "token")
    assert len(token) >= 16 and anonymous.cookies.get("direkt_login", path="/auth/") == token


async def login_form(http: httpx.AsyncClient, fields: dict[str, str], page_next: str = "/") -> httpx.Response:
    page = (await http.get("/auth/test-eid", params={"next": page_next})).text
    form = {"token": hidden(page, "token"), "next": hidden(page, "next"), **fields}
    return await http.post("/auth/test-eid", data=form)


async def test_the_form_login_sets_a_session_and_redirects_to_the_local_next(anonymous: httpx.AsyncClient) -> None:
    response = await login_form(anonymous, {"pnr": GUARDIAN}, page_next="/cases?tab=mine")
    assert response.status_code == 303
    assert response.headers["location"] == "/cases?tab=mine"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("direkt_session=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    me = (await anonymous.get("/api/session")).json()
    assert (me["role"], me["name"], me["provider"]) == ("citizen", "Maja Andersson", "test-eid")


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "evil.example", "/" + "a" * 600]
)
async def test_the_form_login_never_redirects_off_site(anonymous: httpx.AsyncClient, target: str) -> None:
    page = (await anonymous.get("/auth/test-eid", params={"next": target})).text
    assert hidden(page, "next") == "/"
    response = await login_form(anonymous, {"pnr": ERIK, "next": target})  # a forged form with its own next
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_the_form_login_needs_the_token_of_the_page(anonymous: httpx.AsyncClient) -> None:
    await anonymous.get("/auth/test-eid")
    forged = await anonymous.post("/auth/test-eid", data={"token": "guessed", "pnr": ERIK, "next": "/"})
    assert "reload" in error_of(forged, 403, "forbidden")
    anonymous.cookies.clear()  # a cross-site post carries no login cookie
    without = await anonymous.post("/auth/test-eid", data={"token": "", "pnr": ERIK, "next": "/"})
    error_of(without, 403, "forbidden")
    assert await not_logged_in(anonymous)


async def test_the_form_login_never_guesses_between_two_people(anonymous: httpx.AsyncClient) -> None:
    page = (await anonymous.get("/auth/test-eid")).text
    form = {"token": hidden(page, "token"), "next": "/", "pnr": [GUARDIAN, ERIK]}  # a listed one and a typed one
    error_of(await anonymous.post("/auth/test-eid", data=form), 400, "bad_request")
    assert await not_logged_in(anonymous)


async def test_the_form_login_refuses_a_number_outside_the_test_list(anonymous: httpx.AsyncClient) -> None:
    response = await login_form(anonymous, {"pnr": REAL_LOOKING})
    error_of(response, 403, "forbidden")
    assert await not_logged_in(anonymous)


# -- production ----------------------------------------------------------------------------------

PUBLIC_URL = "https://direkt.example"


@pytest.fixture(scope="module")
def production(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(
        standalone_redis.url, DIREKT_ENV="production", DIREKT_SECRET_KEY="k" * 40, DIREKT_PUBLIC_URL=PUBLIC_URL
    )
    yield process
    process.stop()


async def test_production_has_no_test_eid(production: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=production.base, headers={"Origin": PUBLIC_URL}) as http:
        page = await http.get("/auth/test-eid")
        error_of(page, 404, "not_found")
        assert "TEST" not in page.text
        login = await http.post("/auth/test-eid", json={"pnr": ERIK})
        error_of(login, 404, "not_found")
        assert "direkt_session" not in login.cookies


async def test_production_staff_sessions_use_secure_cookies(production: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=production.base, headers={"Origin": PUBLIC_URL}) as http:
        response = await http.post("/auth/staff/login", json={"username": "nurse-1", "password": "demo"})
        assert response.status_code == 200, response.text
        assert "secure" in response.headers["set-cookie"].lower()
        local = await http.post(
            "/auth/staff/login",
            json={"username": "nurse-1", "password": "demo"},
            headers={"Origin": production.base},  # the loopback address is not the public site
        )
        error_of(local, 403, "origin_refused")


# -- OIDC ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def brokers(standalone_redis: EmbeddedRedis) -> Iterator[Brokers]:
    with brokers_on(standalone_redis.url) as running:
        yield running


@pytest.fixture
def idp(brokers: Brokers) -> Brokers:
    return brokers.reset()


async def oidc_round_trip(http: httpx.AsyncClient, login_path: str, issuer: Issuer) -> tuple[str, httpx.Response]:
    """What the browser does: start at the server, approve at the issuer, come back.

    Returns the callback URL (to replay it) and the server's answer to it.
    """
    start = await http.get(login_path)
    assert start.status_code == 302, start.text
    location = urlsplit(start.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{issuer.url}/authorize"
    approved = await http.get(start.headers["location"])
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"]
    return callback, await http.get(callback)


async def test_oidc_login_goes_through_the_issuer_with_pkce_and_state(idp: Brokers) -> None:
    server = idp.server
    async with httpx.AsyncClient(base_url=server.base, headers={"Origin": server.base}, timeout=10) as http:
        start = await http.get("/auth/oidc/login", params={"next": "/cases"})
        assert start.status_code == 302
        query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43 and len(query["state"]) >= 32
        assert query["redirect_uri"] == server.url("/auth/oidc/callback")
        assert query["client_id"] == CLIENT_ID and "openid" in query["scope"].split()
        other = await http.get("/auth/oidc/login")
        assert parse_qs(urlsplit(other.headers["location"]).query)["state"][0] != query["state"]

        approved = await http.get(start.headers["location"])
        callback = approved.headers["location"]
        assert callback.startswith(server.url("/auth/oidc/callback?"))
        assert parse_qs(urlsplit(callback).query)["state"] == [query["state"]]
        back = await http.get(callback)
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/cases"
        me = (await http.get("/api/session")).json()
    assert (me["role"], me["provider"]) == ("citizen", "oidc")
    assert me["pnr_masked"] == f"{idp.citizens.subject[:8]}-****"


async def test_the_server_redeems_the_code_with_its_verifier_and_credentials(idp: Brokers) -> None:
    """The issuer's token endpoint checks the PKCE verifier against the challenge and the client secret."""
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        _, back = await oidc_round_trip(http, "/auth/oidc/login", idp.citizens)
    assert back.status_code == 303
    assert idp.citizens.token_auth_used == ["client_secret_basic"]


async def test_an_oidc_callback_cannot_be_replayed(idp: Brokers) -> None:
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        callback, back = await oidc_round_trip(http, "/auth/oidc/login", idp.citizens)
        assert back.status_code == 303
        replay = await http.get(callback)  # the same browser, the same URL: the state works once
        error_of(replay, 401, "unauthenticated")
        assert "direkt_session" not in replay.cookies
        made_up = await http.get("/auth/oidc/callback", params={"state": "x" * 43, "code": "c"})
        error_of(made_up, 401, "unauthenticated")


async def test_two_logins_started_in_one_browser_both_work(idp: Brokers) -> None:
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        first = (await http.get("/auth/oidc/login")).headers["location"]
        second = (await http.get("/auth/oidc/login")).headers["location"]
        for authorize in (first, second):
            back = await http.get((await http.get(authorize)).headers["location"])
            assert back.status_code == 303, back.text


async def test_an_oidc_callback_planted_in_another_browser_logs_nobody_in(idp: Brokers) -> None:
    """Login CSRF: the attacker starts logins, approves them, and sends the callback URLs to a victim."""
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as attacker:
        callbacks = []
        for _ in range(2):
            start = await attacker.get("/auth/oidc/login")
            binding = start.headers["set-cookie"]
            assert binding.startswith("direkt_oidc=") and "HttpOnly" in binding
            assert "samesite=lax" in binding.lower() and "Path=/auth/" in binding
            callbacks.append((await attacker.get(start.headers["location"])).headers["location"])
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as victim:
        planted = await victim.get(callbacks[0])
        assert "browser" in error_of(planted, 401, "unauthenticated")
        assert "direkt_session" not in planted.cookies
        await victim.get("/auth/oidc/login")  # a login of the victim's own in progress does not help
        assert "browser" in error_of(await victim.get(callbacks[1]), 401, "unauthenticated")
        assert await not_logged_in(victim)


async def test_an_oidc_subject_that_is_not_a_personnummer_is_refused(idp: Brokers) -> None:
    idp.citizens.subject = "199001012386"  # check digit wrong
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        _, back = await oidc_round_trip(http, "/auth/oidc/login", idp.citizens)
        error_of(back, 400, "bad_request")
        assert "199001012386" not in back.text
        assert await not_logged_in(http)


async def test_a_refusal_at_the_issuer_logs_nobody_in(idp: Brokers) -> None:
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        start = await http.get("/auth/oidc/login")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        back = await http.get("/auth/oidc/callback", params={"error": "access_denied", "state": state})
        error_of(back, 401, "unauthenticated")
        assert await not_logged_in(http)


async def test_staff_oidc_login_maps_the_subject_to_a_staff_id(idp: Brokers) -> None:
    idp.staff.subject = "nurse-2"
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        _, back = await oidc_round_trip(http, "/auth/staff/oidc/login", idp.staff)
        assert back.status_code == 303 and back.headers["location"] == "/console/"  # staff land on the console
        me = (await http.get("/api/session")).json()
    assert (me["role"], me["provider"], me["name"]) == ("staff", "staff-oidc", "Olle Ek")
    assert me["staff"]["id"] == "nurse-2" and me["staff"]["units"] == ["vc-t"]


async def test_staff_oidc_refuses_someone_who_is_not_staff_here(idp: Brokers) -> None:
    idp.staff.subject = "nurse-elsewhere"
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as http:
        _, back = await oidc_round_trip(http, "/auth/staff/oidc/login", idp.staff)
        error_of(back, 403, "forbidden")
        assert await not_logged_in(http)


async def test_oidc_is_not_found_where_no_provider_is_configured(anonymous: httpx.AsyncClient) -> None:
    error_of(await anonymous.get("/auth/oidc/login"), 404, "not_found")
    error_of(await anonymous.get("/auth/staff/oidc/login"), 404, "not_found")


# -- staff passwords -----------------------------------------------------------------------------


async def test_staff_login_shows_profession_and_units(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        me = await client.login_staff("nurse-1")
        assert (me["role"], me["name"], me["provider"]) == ("staff", "Nora Nilsson", "staff-password")
        assert me["staff"] == {
            "id": "nurse-1",
            "profession": "nurse",
            "units": ["vc-t", "1177-t"],
            "max_chats": 4,
            "roles": [],
        }
        assert "pnr_masked" not in me
        assert (await client.call("GET", "/api/session"))["staff"]["profession"] == "nurse"


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        wrong = await refused(client.login_staff("nurse-1", "wrong"), 401, "unauthenticated")
        unknown = await refused(client.login_staff("nobody-here", "demo"), 401, "unauthenticated")
        assert await not_logged_in(client.http)
    assert wrong.message == unknown.message


async def test_ten_failed_logins_lock_the_user_name(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        for _ in range(10):
            await refused(client.login_staff("nurse-2", "wrong"), 401, "unauthenticated")
        locked = await refused(client.login_staff("nurse-2", "demo"), 429, "rate_limited")
        assert "15 minutes" in locked.message
    async with Client(server.base) as colleague:  # another user name is not locked
        assert (await colleague.login_staff("nurse-1"))["role"] == "staff"


async def test_staff_login_refuses_malformed_bodies(anonymous: httpx.AsyncClient) -> None:
    error_of(await anonymous.post("/auth/staff/login", json={"username": "nurse-1"}), 400, "bad_request")
    extra = {"username": "nurse-1", "password": "demo", "staff": True}
    error_of(await anonymous.post("/auth/staff/login", json=extra), 400, "bad_request")
    form = await anonymous.post("/auth/staff/login", data={"username": "nurse-1", "password": "demo"})
    error_of(form, 400, "bad_request")


# -- sessions, CSRF, Origin ----------------------------------------------------------------------


async def test_no_cookie_means_not_logged_in(anonymous: httpx.AsyncClient) -> None:
    assert await not_logged_in(anonymous)
    error_of(await anonymous.post("/api/tickets"), 401, "unauthenticated")
    anonymous.cookies.set("direkt_session", "made-up-session-id")
    assert await not_logged_in(anonymous)


async def test_a_state_change_without_the_csrf_token_is_refused(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        await client.login_citizen(ERIK)
        token, client.csrf = client.csrf, ""
        await refused(client.call("POST", "/api/tickets"), 403, "csrf_failed")
        await refused(client.call("POST", "/api/triage", {"entry": "seek_care"}), 403, "csrf_failed")
        client.csrf = token[:-1] + ("A" if token[-1] != "A" else "B")
        await refused(client.call("POST", "/auth/logout"), 403, "csrf_failed")
        client.csrf = token
        assert (await client.call("GET", "/api/session"))["role"] == "citizen"  # still logged in
        assert (await client.call("POST", "/api/tickets"))["ticket"]


async def test_another_sessions_csrf_token_does_not_work(server: ServerProcess) -> None:
    async with Client(server.base) as mine, Client(server.base) as theirs:
        await mine.login_citizen(ERIK)
        await theirs.login_citizen(GUARDIAN)
        mine.csrf = theirs.csrf
        await refused(mine.call("POST", "/api/tickets"), 403, "csrf_failed")


async def test_a_foreign_origin_cannot_change_state(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        await client.login_citizen(ERIK)
        client.http.headers["Origin"] = EVIL
        await refused(client.call("POST", "/api/tickets"), 403, "origin_refused")
        await refused(client.call("POST", "/auth/logout"), 403, "origin_refused")
        del client.http.headers["Origin"]  # no Origin at all (not a browser): the CSRF token decides
        assert (await client.call("POST", "/api/tickets"))["ticket"]


async def test_logout_ends_the_session_for_good(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        await client.login_citizen(ERIK)
        stolen = client.http.cookies["direkt_session"]
        assert await client.call("POST", "/auth/logout") == {"logged_out": True}
        assert await not_logged_in(client.http)
    async with httpx.AsyncClient(base_url=server.base, cookies={"direkt_session": stolen}) as replay:
        assert await not_logged_in(replay)


async def test_logout_closes_the_sessions_open_socket_promptly(server: ServerProcess) -> None:
    async with Client(server.base) as client, Client(server.base) as other_session:
        await client.login_citizen(ERIK)
        await other_session.login_citizen(ERIK)
        sock = await client.socket()
        kept = await other_session.socket()
        await sock.expect("welcome")
        try:
            await client.call("POST", "/auth/logout")
            await asyncio.wait_for(sock.closed.wait(), timeout(3))
            assert sock.close_code == 4001
            assert not kept.closed.is_set()  # only the session that logged out
        finally:
            await sock.close()
            await kept.close()


async def test_logout_of_a_staff_member_closes_their_console(server: ServerProcess) -> None:
    nurse = await staff(server.base)
    try:
        sock = await nurse.socket()
        await sock.expect("welcome")  # registered (see the report: a logout before this is missed)
        await nurse.call("POST", "/auth/logout")
        await asyncio.wait_for(sock.closed.wait(), timeout(3))
        assert sock.close_code == 4001
        await sock.close()
    finally:
        await nurse.aclose()


# -- tickets -------------------------------------------------------------------------------------


async def test_a_ticket_opens_the_socket_once(server: ServerProcess) -> None:
    async with Client(server.base) as client:
        await client.login_citizen(ERIK)
        issued = await client.call("POST", "/api/tickets")
        assert issued["expires_in_s"] == 30
        assert issued["url"].startswith("/ws?ticket=")
        sock = await Socket.open(client.ws_url(issued["ticket"]), client.origin)
        try:
            assert not sock.closed.is_set()
            with pytest.raises(InvalidStatus) as caught:
                await Socket.open(client.ws_url(issued["ticket"]), client.origin)
            assert caught.value.response.status_code == 401
        finally:
            await sock.close()


async def test_tickets_need_a_session(anonymous: httpx.AsyncClient) -> None:
    error_of(await anonymous.post("/api/tickets"), 401, "unauthenticated")


async def test_a_refused_ticket_request_leaves_no_ticket(
    server: ServerProcess, anonymous: httpx.AsyncClient, redis: RedisClient
) -> None:
    """The ticket is written in the session read's round trip: a refusal after it deletes it."""
    anonymous.cookies.set("direkt_session", "made-up-session-id")
    error_of(await anonymous.post("/api/tickets"), 401, "unauthenticated")
    async with Client(server.base) as client:
        await client.login_citizen(ERIK)
        token, client.csrf = client.csrf, ""
        await refused(client.call("POST", "/api/tickets"), 403, "csrf_failed")
        assert await redis.keys("dk:ticket:*") == []
        client.csrf = token
        issued = await client.call("POST", "/api/tickets")
        assert await redis.keys("dk:ticket:*") == [f"dk:ticket:{issued['ticket']}".encode()]
