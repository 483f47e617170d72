"""In Chromium against the real third-party provider (tests/support_oidcprovider.py): a login cancelled
at the provider and a staff member who is not staff here end on the friendly error page, from which
"Logga in igen" works; "Logga ut" in the console ends the provider's session too, so the next login
asks who logs in instead of logging the same person in again.

PENDING: pytest does not collect this file. It needs the error pages of branch i23-profile and the
RP-initiated logout of branch i23-oidc; once both are merged, rename it to
test_oidc_provider_errors.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from support import ServerProcess, free_port
from support_browser import CONSOLE, axe_check
from support_oidcprovider import ERIK, OidcProvider, installed, provider_config

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.skipif(bool(installed()), reason=installed() or "-")
STAFF_LOGIN = "Logga in med SITHS-kort / organisationens inloggning"


@pytest.fixture(scope="module")
def running_provider() -> Iterator[OidcProvider]:
    with OidcProvider(provider_config(f"http://127.0.0.1:{free_port()}")) as running:
        yield running


@pytest.fixture
def provider(running_provider: OidcProvider) -> OidcProvider:
    running_provider.reset()
    return running_provider


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, running_provider: OidcProvider) -> Iterator[ServerProcess]:
    port = running_provider.relying_party_port
    process = ServerProcess(standalone_redis.url, port=port, **running_provider.direkt_env())
    yield process
    process.stop()


@pytest.fixture
def page(browser: Any, server: ServerProcess) -> Iterator[Any]:
    """A context of its own: the error pages answer 401/403, which Chromium logs as console errors."""
    context = browser.new_context(base_url=server.base, locale="sv-SE", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def at_the_provider(page: Any, provider: OidcProvider) -> None:
    expect(page).to_have_url(re.compile(f"^{re.escape(provider.issuer)}/interaction/"))
    expect(page.get_by_label("Konto / Account")).to_be_visible()


def log_in_at_the_provider(page: Any, provider: OidcProvider, account: str) -> None:
    at_the_provider(page, provider)
    page.get_by_label("Konto / Account").fill(account)
    page.get_by_role("button", name="Logga in / Sign in").click()


def test_a_login_cancelled_at_the_provider_shows_the_page_and_logga_in_igen_works(
    page: Any, provider: OidcProvider
) -> None:
    page.goto("/chat/")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    at_the_provider(page, provider)
    page.get_by_role("button", name="Avbryt / Cancel").click()
    expect(page.get_by_role("heading", name="Inloggningen avbröts")).to_be_visible()
    assert axe_check(page, "login-cancelled-at-provider") == []
    page.get_by_role("link", name="Logga in igen").click()
    log_in_at_the_provider(page, provider, ERIK)
    session = page.request.get("/api/session").json()
    assert (session["logged_in"], session["provider"], session["name"]) == (True, "oidc", "Erik Nilsson")


def test_someone_who_is_not_staff_here_is_told_so(page: Any, provider: OidcProvider) -> None:
    page.goto(CONSOLE)
    page.get_by_role("link", name=STAFF_LOGIN).click()
    log_in_at_the_provider(page, provider, "nurse-elsewhere")
    expect(page.get_by_role("heading", name="Du har inget konto här")).to_be_visible()
    assert page.request.get("/api/session").json() == {"logged_in": False}


def test_logga_ut_ends_the_provider_session_too(page: Any, provider: OidcProvider, server: ServerProcess) -> None:
    page.goto(CONSOLE)
    page.get_by_role("link", name=STAFF_LOGIN).click()
    log_in_at_the_provider(page, provider, "nurse-2")
    expect(page.locator("#conn")).to_have_text("Ansluten")
    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("link", name=STAFF_LOGIN)).to_be_visible()  # back on the console's login
    assert page.url.startswith(server.url(CONSOLE))
    assert any(entry.get("event") == "end_session.success" for entry in provider.seen())
    page.get_by_role("link", name=STAFF_LOGIN).click()
    at_the_provider(page, provider)  # asked again: the provider's session is gone
