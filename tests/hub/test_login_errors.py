"""Login failures against a real ``direkt serve`` and the project's own issuer (issue 23, point 4):
a browser's navigation gets a page in plain words with a way back (the status kept), an API client
the typed JSON error as before; the page never shows token contents or the personal identity number.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support import ServerProcess
from support_brokers import Brokers, brokers_on
from support_hub import error_of, not_logged_in

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

NAVIGATE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Sec-Fetch-Mode": "navigate"}
FETCH = {"Accept": "*/*", "Sec-Fetch-Mode": "cors"}


@pytest.fixture(scope="module")
def brokers(standalone_redis: EmbeddedRedis) -> Iterator[Brokers]:
    with brokers_on(standalone_redis.url) as running:
        yield running


@pytest.fixture
def idp(brokers: Brokers) -> Brokers:
    return brokers.reset()


@pytest.fixture
async def browser(idp: Brokers) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=idp.server.base, headers=NAVIGATE, timeout=10) as http:
        yield http


async def round_trip(http: httpx.AsyncClient, login: str = "/auth/oidc/login") -> tuple[str, httpx.Response]:
    start = await http.get(login)
    assert start.status_code == 302, start.text
    approved = await http.get(start.headers["location"])
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"]
    return callback, await http.get(callback)


def page_of(response: httpx.Response, status: int, kind: str, start: str = "/auth/oidc/login") -> str:
    """The error page's text; asserts it is HTML with the status kept, the kind, and both ways back."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert f'data-login-error="{kind}"' in text, text[:600]
    assert f'href="{start}">Logga in igen</a>' in text and f'href="{start}">Try again</a>' in text
    assert "112" in text
    assert "eyJ" not in text  # no token (a JWT's header starts so)
    return text


async def test_a_cancelled_login_shows_a_page_and_json_for_api_clients(
    idp: Brokers, browser: httpx.AsyncClient
) -> None:
    start = await browser.get("/auth/oidc/login")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    back = await browser.get("/auth/oidc/callback", params={"error": "access_denied", "state": state})
    assert "Inloggningen avbröts" in page_of(back, 401, "cancelled")
    assert await not_logged_in(browser)
    async with httpx.AsyncClient(base_url=idp.server.base, headers=FETCH, timeout=10) as api:
        error_of(await api.get("/auth/oidc/callback", params={"error": "access_denied"}), 401, "unauthenticated")


async def test_a_provider_that_is_down_shows_a_page_with_503(idp: Brokers, browser: httpx.AsyncClient) -> None:
    # Down between the login's start and its return (discovery may be cached from an earlier login,
    # so the start alone need not reach the provider): the code cannot be redeemed.
    start = await browser.get("/auth/oidc/login")
    approved = await browser.get(start.headers["location"])
    idp.citizens.status = 503
    down = await browser.get(approved.headers["location"])
    assert "svarar inte" in page_of(down, 503, "unavailable")
    idp.citizens.status = None
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as api:  # httpx's Accept is */*
        start = await api.get("/auth/oidc/login")
        approved = await api.get(start.headers["location"])
        idp.citizens.status = 503
        error_of(await api.get(approved.headers["location"]), 503, "unavailable")
    unreachable = await browser.get("/auth/oidc/callback", params={"error": "temporarily_unavailable"})
    page_of(unreachable, 401, "unavailable")


async def test_a_tampered_or_replayed_callback_shows_the_expired_page(browser: httpx.AsyncClient) -> None:
    callback, back = await round_trip(browser)
    assert back.status_code == 303
    page_of(await browser.get(callback), 401, "expired")  # replayed
    page_of(await browser.get("/auth/oidc/callback", params={"state": "x" * 43, "code": "c"}), 401, "expired")
    page_of(await browser.get("/auth/oidc/callback", params={"code": "c"}), 401, "expired")


async def test_a_callback_planted_in_another_browser_shows_the_expired_page(idp: Brokers) -> None:
    async with httpx.AsyncClient(base_url=idp.server.base, timeout=10) as attacker:
        start = await attacker.get("/auth/oidc/login")
        callback = (await attacker.get(start.headers["location"])).headers["location"]
    async with httpx.AsyncClient(base_url=idp.server.base, headers=NAVIGATE, timeout=10) as victim:
        page_of(await victim.get(callback), 401, "expired")
        assert await not_logged_in(victim)


async def test_a_missing_claim_shows_its_page(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.citizens.subject_scope = "https://id.oidc.se/scope/naturalPersonNumber"  # never asked for: released nowhere
    _, back = await round_trip(browser)
    page_of(back, 401, "missing_claim")


async def test_a_refused_personnummer_shows_its_page_without_the_number(
    idp: Brokers, browser: httpx.AsyncClient
) -> None:
    idp.citizens.subject = "199001012386"  # check digit wrong
    _, back = await round_trip(browser)
    text = page_of(back, 400, "bad_pnr")
    assert "199001012386" not in text and "19900101" not in text


async def test_a_token_for_another_audience_shows_the_not_verified_page(
    idp: Brokers, browser: httpx.AsyncClient
) -> None:
    idp.citizens.claims = {"aud": "someone-else"}
    _, back = await round_trip(browser)
    page_of(back, 401, "not_verified")
    assert await not_logged_in(browser)


async def test_someone_who_is_not_staff_gets_the_staff_page(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.staff.subject = "nurse-elsewhere"
    _, back = await round_trip(browser, "/auth/staff/oidc/login")
    assert "Du har inget konto här" in page_of(back, 403, "not_staff", start="/auth/staff/oidc/login")
    assert "nurse-elsewhere" not in back.text


async def test_a_fetch_with_json_accept_keeps_the_json(idp: Brokers) -> None:
    headers = {"Accept": "application/json, text/html"}
    async with httpx.AsyncClient(base_url=idp.server.base, headers=headers, timeout=10) as api:
        error_of(await api.get("/auth/oidc/callback", params={"state": "x" * 43, "code": "c"}), 401, "unauthenticated")


async def test_the_test_eid_form_shows_a_page_for_a_number_outside_the_test_list(idp: Brokers) -> None:
    async with httpx.AsyncClient(base_url=idp.server.base, headers=NAVIGATE, timeout=10) as http:
        await http.get("/auth/test-eid")
        token = http.cookies["direkt_login"]
        headers = {"Origin": idp.server.base, "content-type": "application/x-www-form-urlencoded"}
        posted = await http.post("/auth/test-eid", content=f"token={token}&pnr=199001011239&next=/", headers=headers)
        text = page_of(posted, 403, "bad_pnr", start="/auth/test-eid")
        assert "199001011239" not in text


async def test_a_login_that_is_not_configured_points_to_the_start_page(server: ServerProcess) -> None:
    """The module's plain server (tests/hub/conftest.py) has no OIDC provider."""
    async with httpx.AsyncClient(base_url=server.base, headers=NAVIGATE, timeout=10) as http:
        missing = await http.get("/auth/staff/oidc/login")
    assert missing.status_code == 404 and 'data-login-error="no_provider"' in missing.text
    assert 'href="/">Logga in igen</a>' in missing.text
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as api:
        error_of(await api.get("/auth/staff/oidc/login"), 404, "not_found")
