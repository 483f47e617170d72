"""Login failures in Chromium (issue 23, point 4): the project's own issuer is driven into a missing
claim, an outage and a cancelled login; each ends on a page in plain Swedish and English with a way
back, not raw JSON, and "Logga in igen" starts a login that works once the issuer is well again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from playwright.sync_api import expect
from support import ServerProcess
from support_browser import axe_check, screenshot

from direkt.server.redis.embedded import EmbeddedRedis


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, issuer: Issuer) -> Iterator[ServerProcess]:
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_OIDC_ISSUER=issuer.url,
        DIREKT_OIDC_CLIENT_ID=CLIENT_ID,
        DIREKT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
    )
    issuer.redirect_uris.add(process.url("/auth/oidc/callback"))
    yield process
    process.stop()


@pytest.fixture
def page(browser: Any, server: ServerProcess, issuer: Issuer) -> Iterator[Any]:
    """A fresh context of its own: the error pages answer 401/503, which Chromium logs as console errors."""
    issuer.reset()
    context = browser.new_context(base_url=server.base, locale="sv-SE", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_a_missing_claim_shows_the_page_and_logga_in_igen_works(page: Any, issuer: Issuer) -> None:
    issuer.subject_scope = "https://id.oidc.se/scope/naturalPersonNumber"  # never asked for: released nowhere
    page.goto("/chat/")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    expect(page.get_by_role("heading", name="Vi fick inte veta vem du är")).to_be_visible()
    expect(page.get_by_role("heading", name="We could not tell who you are")).to_be_visible()
    expect(page.get_by_text("Vid livsfara: ring 112.")).to_be_visible()
    assert "{" not in page.inner_text("body")  # not JSON
    assert axe_check(page, "login-error") == []  # not even minor or moderate violations
    screenshot(page, "login-error")
    issuer.reset()
    issuer.claims = {"given_name": "Saga", "family_name": "Lindqvist"}  # the broker releases names
    page.get_by_role("link", name="Logga in igen").click()
    session = page.request.get("/api/session").json()
    assert session["logged_in"] is True and session["provider"] == "oidc"
    page.goto("/chat/")
    expect(page.get_by_text("Inloggad som Saga Lindqvist")).to_be_visible()  # the widget's header


def test_an_issuer_that_is_down_shows_the_outage_page(page: Any, issuer: Issuer) -> None:
    # Discovery is cached once a login has started; then the provider goes down, and the code
    # the browser brings back cannot be redeemed.
    assert page.request.get("/auth/oidc/login", max_redirects=0).status == 302
    issuer.status = 503
    page.goto("/chat/")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    expect(page.get_by_role("heading", name="Inloggningen fungerar inte just nu")).to_be_visible()
    expect(page.get_by_role("link", name="Try again")).to_have_attribute("href", re.compile(r"^/auth/oidc/login"))
    assert axe_check(page, "login-down") == []


def test_a_cancelled_login_says_so(page: Any) -> None:
    response = page.goto("/auth/oidc/callback?error=access_denied&state=abc")
    assert response.status == 401
    expect(page.get_by_role("heading", name="Inloggningen avbröts")).to_be_visible()
    expect(page.get_by_role("link", name="Logga in igen")).to_have_attribute("href", "/auth/oidc/login")
    assert axe_check(page, "login-cancelled") == []
