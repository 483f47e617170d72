"""Citizens and staff log in in Chromium through a real third-party OpenID provider: panva's
``oidc-provider`` from npm (tests/support_oidcprovider.py), configured as direkt's e-ID broker and
as the region's staff identity provider. The person types their account on the provider's own
login page, as at a broker, and comes back logged in as that person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from support import ServerProcess, free_port
from support_browser import CONSOLE, screenshot
from support_oidcprovider import ERIK, OidcProvider, installed, provider_config

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.skipif(bool(installed()), reason=installed() or "-")


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    port = free_port()  # the server's: its callbacks are the clients' redirect URIs
    with OidcProvider(provider_config(f"http://127.0.0.1:{port}")) as running:
        yield running


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, provider: OidcProvider) -> Iterator[ServerProcess]:
    """This module's direkt: citizens and staff log in at the provider (replaces the conftest's)."""
    process = ServerProcess(standalone_redis.url, port=provider.relying_party_port, **provider.direkt_env())
    yield process
    process.stop()


def at_the_provider(page: Any, provider: OidcProvider, account: str) -> None:
    """The provider's login page: type the account, sign in."""
    expect(page).to_have_url(re.compile(f"^{re.escape(provider.issuer)}/interaction/"))
    expect(page.get_by_role("heading", name="Testleverantör – logga in")).to_be_visible()
    page.get_by_label("Konto / Account").fill(account)
    page.get_by_role("button", name="Logga in / Sign in").click()


def test_a_citizen_logs_in_at_the_provider_and_reaches_the_chat(
    open_page: Callable[..., Any], provider: OidcProvider, server: ServerProcess
) -> None:
    page = open_page("/chat/", name="citizen")
    page.get_by_role("button", name="Logga in med e-legitimation").click()
    expect(page.get_by_label("Konto / Account")).to_be_visible()
    screenshot(page, "oidc-provider-login")
    at_the_provider(page, provider, ERIK)
    expect(page).to_have_url(re.compile(f"^{re.escape(server.url('/chat/'))}"))
    expect(page.get_by_text("Inloggad som Erik Nilsson")).to_be_visible()
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_visible()
    session = page.request.get("/api/session").json()
    assert (session["role"], session["provider"], session["pnr_masked"]) == ("citizen", "oidc", "19910831-****")


def test_a_nurse_logs_in_at_the_provider_and_reaches_the_console(
    open_page: Callable[..., Any], provider: OidcProvider, server: ServerProcess
) -> None:
    page = open_page(CONSOLE, name="nurse")
    page.get_by_role("link", name="Logga in med SITHS-kort / organisationens inloggning").click()
    at_the_provider(page, provider, "nurse-2")
    expect(page).to_have_url(re.compile(f"^{re.escape(server.base)}/"))
    if not page.url.startswith(server.url(CONSOLE)):  # today staff land on the start page (issue 23)
        page.goto(CONSOLE)
    expect(page.locator("#conn")).to_have_text("Ansluten")
    header = page.get_by_role("banner")
    expect(header).to_contain_text("Olle Ek")
    expect(header).to_contain_text("Testby vårdcentral")
    session = page.request.get("/api/session").json()
    assert (session["role"], session["provider"], session["staff"]["id"]) == ("staff", "staff-oidc", "nurse-2")
