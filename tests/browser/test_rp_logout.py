"""RP-initiated logout in Chromium: a nurse logs in to the console through the region's
identity provider (the test issuer, matched by UPN in another case), lands on the console,
and "Logga ut" takes the browser to the provider's end_session_endpoint with the login's
ID token as a hint and back to the console's login page."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import axe_check, until

from direkt.server.redis.embedded import EmbeddedRedis


@pytest.fixture(scope="module")
def staff_idp() -> Iterator[Issuer]:
    with Issuer(subject_claim="upn") as issuer:
        yield issuer


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, staff_idp: Issuer) -> Iterator[ServerProcess]:
    """This module's server: staff log in through the test issuer."""
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_STAFF_OIDC_ISSUER=staff_idp.url,
        DIREKT_STAFF_OIDC_CLIENT_ID=CLIENT_ID,
        DIREKT_STAFF_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        DIREKT_STAFF_OIDC_SUBJECT_CLAIM="upn",
    )
    staff_idp.redirect_uris.add(process.url("/auth/staff/oidc/callback"))
    yield process
    process.stop()


def test_logout_ends_the_providers_session_and_comes_back(
    open_page: Callable[..., Page], staff_idp: Issuer, server: ServerProcess
) -> None:
    staff_idp.reset()
    staff_idp.end_session = True
    staff_idp.subject = "OLLE.EK@region.example"
    page = open_page("/console/", name="rp-logout")
    page.get_by_role("link", name="Logga in med SITHS-kort / organisationens inloggning").click()
    expect(page.locator("#conn")).to_have_text("Ansluten")
    assert page.url == server.url("/console/")
    expect(page.get_by_role("banner")).to_contain_text("Olle Ek")
    page.get_by_role("button", name="Logga ut").click()
    expect(page.get_by_role("heading", name="Logga in i konsolen")).to_be_visible()
    until(page, lambda: len(staff_idp.logouts) == 1, "the provider was asked to end its session", 5)
    ended = staff_idp.logouts[0]
    assert ended["post_logout_redirect_uri"] == server.url("/console/") and ended["client_id"] == CLIENT_ID
    assert ended["id_token_hint"].count(".") == 2
    assert page.url == server.url("/console/")
    assert axe_check(page, "console-login-after-rp-logout") == []
