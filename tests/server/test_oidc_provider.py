"""Logging in through a real third-party OpenID provider: panva's ``oidc-provider`` from npm
(tests/support_oidcprovider.py), beside the project's own test issuer (tests/oidc_issuer.py).

A real ``direkt serve`` is configured with the provider as citizens' e-ID broker and as staff
identity provider. Over HTTP, as a browser would: the code flow end to end for a citizen and for
staff, a wrong client secret refused, the provider switching its signing keys, and a code or a
callback used twice refused. direkt's relying party (``OidcClient``) is also driven directly
against the provider for every signing algorithm it offers.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support import ServerProcess, free_port, timeout
from support_hub import error_of, not_logged_in
from support_oidcprovider import (
    CITIZEN_CLIENT,
    CLIENT_SECRET,
    ERIK,
    LOA3,
    OidcProvider,
    installed,
    provider_config,
    through_provider,
)

from direkt.server.errors import Unauthenticated
from direkt.server.identity.oidc import ALLOWED_ALGORITHMS, OidcClient, OidcConfig
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(installed()), reason=installed() or "-")]


@dataclass
class Site:
    """A direkt server whose citizens and staff log in at the provider."""

    provider: OidcProvider
    server: ServerProcess


@pytest.fixture(scope="module")
def running_site(standalone_redis: EmbeddedRedis) -> Iterator[Site]:
    port = free_port()
    with OidcProvider(provider_config(f"http://127.0.0.1:{port}")) as provider:
        server = ServerProcess(standalone_redis.url, port=port, **provider.direkt_env())
        try:
            yield Site(provider, server)
        finally:
            server.stop()


@pytest.fixture
def site(running_site: Site) -> Site:
    running_site.provider.reset()
    return running_site


@pytest.fixture
async def browser(running_site: Site) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's cookie jar (shared by the server and the provider, both on 127.0.0.1), asking for JSON."""
    base = running_site.server.base
    headers = {"Origin": base, "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout(10)) as http:
        yield http


async def log_in(site: Site, http: httpx.AsyncClient, login_path: str, account: str) -> tuple[str, httpx.Response]:
    """Start at direkt, log in at the provider as ``account``, come back. Returns the callback URL and
    direkt's answer to it."""
    start = await http.get(login_path)
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith(f"{site.provider.issuer}/auth?")
    callback = await through_provider(http, start.headers["location"], site.provider.issuer, account)
    callback_path = urlsplit(login_path).path.replace("/login", "/callback")
    assert callback.startswith(site.server.url(callback_path) + "?"), callback
    return callback, await http.get(callback)


async def test_a_citizen_logs_in_through_the_provider(site: Site, browser: httpx.AsyncClient) -> None:
    _, back = await log_in(site, browser, "/auth/oidc/login?next=/chat/", ERIK)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/chat/"
    me = (await browser.get("/api/session")).json()
    assert (me["role"], me["provider"], me["name"]) == ("citizen", "oidc", "Erik Nilsson")
    assert me["pnr_masked"] == "19910831-****"
    token = site.provider.seen("/token")
    assert [entry["auth"] for entry in token] == ["Basic"]  # client_secret_basic, form-encoded secret
    events = [entry["event"] for entry in site.provider.seen() if "event" in entry]
    assert "grant.success" in events and "grant.error" not in events


async def test_a_login_cancelled_at_the_provider_logs_nobody_in(site: Site, browser: httpx.AsyncClient) -> None:
    start = await browser.get("/auth/oidc/login")
    callback = await through_provider(browser, start.headers["location"], site.provider.issuer, cancel=True)
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    error_of(await browser.get(callback), 401, "unauthenticated")
    assert await not_logged_in(browser)


async def test_a_provider_that_logs_people_in_at_once(site: Site, browser: httpx.AsyncClient) -> None:
    site.provider.configure(auto_login=ERIK)  # no login page: how a single sign-on session looks
    _, back = await log_in(site, browser, "/auth/oidc/login", "nobody-types-this")
    assert back.status_code == 303, back.text
    assert (await browser.get("/api/session")).json()["name"] == "Erik Nilsson"


async def test_staff_log_in_through_the_provider(site: Site, browser: httpx.AsyncClient) -> None:
    _, back = await log_in(site, browser, "/auth/staff/oidc/login", "nurse-2")
    assert back.status_code == 303, back.text
    me = (await browser.get("/api/session")).json()
    assert (me["role"], me["provider"], me["name"]) == ("staff", "staff-oidc", "Olle Ek")
    assert me["staff"]["id"] == "nurse-2"


async def test_someone_the_provider_knows_but_who_is_not_staff_here_is_refused(
    site: Site, browser: httpx.AsyncClient
) -> None:
    _, back = await log_in(site, browser, "/auth/staff/oidc/login", "nurse-elsewhere")
    error_of(back, 403, "forbidden")
    assert await not_logged_in(browser)


async def test_a_wrong_client_secret_is_refused_by_the_provider(
    site: Site, standalone_redis: EmbeddedRedis, browser: httpx.AsyncClient
) -> None:
    port = free_port()
    site.provider.configure(clients=provider_config(f"http://127.0.0.1:{port}")["clients"])
    env = site.provider.direkt_env() | {"DIREKT_OIDC_CLIENT_SECRET": "not-the-secret"}
    wrong = ServerProcess(standalone_redis.url, port=port, **env)
    try:
        headers = {"Origin": wrong.base, "Accept": "application/json"}
        async with httpx.AsyncClient(base_url=wrong.base, headers=headers, timeout=timeout(10)) as http:
            start = await http.get("/auth/oidc/login")
            callback = await through_provider(http, start.headers["location"], site.provider.issuer, ERIK)
            back = await http.get(callback)
            assert "credentials" in error_of(back, 503, "unavailable")
            assert await not_logged_in(http)
    finally:
        wrong.stop()
    errors = [entry["error"] for entry in site.provider.seen() if entry.get("event") == "grant.error"]
    assert errors and "client authentication failed" in errors[0]


async def test_after_the_provider_switches_keys_a_new_login_works(site: Site, browser: httpx.AsyncClient) -> None:
    _, first = await log_in(site, browser, "/auth/oidc/login", ERIK)
    assert first.status_code == 303, first.text
    old = {key["kid"] for key in site.provider.public_keys()}
    new = site.provider.rotate()
    assert set(new) == {key["kid"] for key in site.provider.public_keys()} and not old & set(new)
    browser.cookies.clear()  # a fresh browser: no session here nor at the provider
    _, second = await log_in(site, browser, "/auth/oidc/login", ERIK)
    assert second.status_code == 303, second.text
    assert (await browser.get("/api/session")).json()["name"] == "Erik Nilsson"


async def test_a_callback_used_twice_logs_nobody_in_the_second_time(site: Site, browser: httpx.AsyncClient) -> None:
    callback, back = await log_in(site, browser, "/auth/oidc/login", ERIK)
    assert back.status_code == 303
    browser.cookies.clear()  # someone else's browser, or the same one logged out
    headers = {"Accept": "application/json"}
    async with httpx.AsyncClient(base_url=site.server.base, headers=headers, timeout=timeout(10)) as other:
        error_of(await other.get(callback), 401, "unauthenticated")
        assert await not_logged_in(other)


# -- direkt's relying party against the provider, directly ---------------------------------------


@pytest.fixture
async def backchannel() -> AsyncIterator[httpx.AsyncClient]:
    """The relying party's own connection to the provider (no browser Origin: the token endpoint refuses one)."""
    async with httpx.AsyncClient(timeout=timeout(10)) as http:
        yield http


def client_for(site: Site, http: httpx.AsyncClient) -> OidcClient:
    config = OidcConfig(
        issuer=site.provider.issuer,
        client_id=CITIZEN_CLIENT,
        client_secret=CLIENT_SECRET,
        redirect_uri=site.server.url("/auth/oidc/callback"),
        timeout_seconds=timeout(5),
    )
    return OidcClient(config, http)


async def code_for(site: Site, http: httpx.AsyncClient, client: OidcClient) -> tuple[str, str, str]:
    start = await client.begin()
    callback = await through_provider(http, start.url, site.provider.issuer, ERIK)
    query = parse_qs(urlsplit(callback).query)
    assert query["state"] == [start.state]
    assert query["iss"] == [site.provider.issuer]  # RFC 9207: the provider names itself
    return query["code"][0], start.code_verifier, start.nonce


async def finish(client: OidcClient, code: str, verifier: str, nonce: str) -> dict[str, Any]:
    """The verified claims. Issue 23's relying party also takes the callback's ``iss`` (RFC 9207; the provider
    sends it, ``code_for`` checks it) and wraps the claims in ``.claims``; today's takes the code alone."""
    extra: dict[str, Any] = {}
    if "response_issuer" in inspect.signature(client.finish).parameters:
        extra["response_issuer"] = client.config.issuer
    result = await client.finish(code, code_verifier=verifier, nonce=nonce, **extra)
    return dict(getattr(result, "claims", result))


async def test_a_replayed_code_is_refused_by_the_provider(
    site: Site, browser: httpx.AsyncClient, backchannel: httpx.AsyncClient
) -> None:
    client = client_for(site, backchannel)
    code, verifier, nonce = await code_for(site, browser, client)
    claims = await finish(client, code, verifier, nonce)
    assert claims["personal_number"] == ERIK and claims["acr"] == LOA3
    with pytest.raises(Unauthenticated, match="expired, used or not ours"):
        await finish(client, code, verifier, nonce)
    errors = [entry["detail"] for entry in site.provider.seen() if entry.get("event") == "grant.error"]
    assert errors == ["authorization code already consumed"]


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "PS256", "EdDSA"])
async def test_each_signing_algorithm_of_the_provider_is_verified_or_refused(
    site: Site, browser: httpx.AsyncClient, backchannel: httpx.AsyncClient, algorithm: str
) -> None:
    clients = provider_config(site.server.base)["clients"]
    site.provider.configure(clients=[{**c, "id_token_signed_response_alg": algorithm} for c in clients])
    client = client_for(site, backchannel)
    code, verifier, nonce = await code_for(site, browser, client)
    if algorithm in ALLOWED_ALGORITHMS:
        assert (await finish(client, code, verifier, nonce))["personal_number"] == ERIK
    else:  # today's relying party: RS256 and ES256 only
        with pytest.raises(Unauthenticated, match="allowed algorithm"):
            await finish(client, code, verifier, nonce)
