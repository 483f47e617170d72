"""Issue 23's relying-party features against the real third-party provider (panva's ``oidc-provider``,
tests/support_oidcprovider.py): a claim released only under its scope, a claim only in userinfo, a low
``acr`` refused, staff matched by HSA-id and by UPN, and RP-initiated logout ending the provider's session.

PENDING: pytest does not collect this file (its name does not start with ``test_``). It needs the
relying party of branch i23-oidc (DIREKT_OIDC_SCOPES, _USERINFO, _ACR_VALUES, _REQUIRED_ACR, staff
``hsa_id``/``upn`` in the region file, ``end_session_url`` from ``POST /auth/logout``). Once that is
merged, rename it to test_oidc_provider_features.py.

Each test starts its own ``direkt serve`` with the settings it needs (about a second), registered at
the module's provider under that server's callbacks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from support import ServerProcess, free_port, timeout
from support_hub import error_of, not_logged_in
from support_oidcprovider import (
    ERIK,
    LOA2,
    LOA3,
    PNR_CLAIM,
    PNR_SCOPE,
    OidcProvider,
    installed,
    provider_config,
    shows_login_form,
    through_provider,
)

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(installed()), reason=installed() or "-")]
Server = Callable[..., Any]


@pytest.fixture(scope="module")
def running_provider() -> Iterator[OidcProvider]:
    with OidcProvider(provider_config("http://127.0.0.1:9")) as provider:
        yield provider


@pytest.fixture
def provider(running_provider: OidcProvider) -> OidcProvider:
    running_provider.reset()
    return running_provider


@pytest.fixture
def direkt(standalone_redis: EmbeddedRedis, provider: OidcProvider) -> Iterator[Server]:
    """direkt(**settings) -> a ``direkt serve`` using the provider with these DIREKT_* settings on top."""
    started: list[ServerProcess] = []

    def start(**settings: str) -> ServerProcess:
        port = free_port()
        provider.configure(clients=provider_config(f"http://127.0.0.1:{port}")["clients"])
        started.append(ServerProcess(standalone_redis.url, port=port, **(provider.direkt_env() | settings)))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@asynccontextmanager
async def browser(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Origin": server.base, "Accept": "application/json"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=timeout(10)) as http:
        yield http


async def log_in(http: httpx.AsyncClient, provider: OidcProvider, login_path: str, account: str) -> httpx.Response:
    start = await http.get(login_path)
    assert start.status_code == 302, start.text
    return await http.get(await through_provider(http, start.headers["location"], provider.issuer, account))


async def me(http: httpx.AsyncClient) -> dict[str, Any]:
    session: dict[str, Any] = (await http.get("/api/session")).json()
    return session


# -- claims released under a scope, or only from userinfo ----------------------------------------


async def test_a_claim_released_only_under_its_scope(provider: OidcProvider, direkt: Server) -> None:
    provider.configure(claims=provider_config("")["claims"] | {"openid": ["sub"]})  # no personal_number
    server = direkt(DIREKT_OIDC_SCOPES=f"openid {PNR_SCOPE}", DIREKT_OIDC_SUBJECT_CLAIM=PNR_CLAIM)
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/oidc/login", ERIK)
        assert back.status_code == 303, back.text
        assert (await me(http))["pnr_masked"] == "19910831-****"
    [authorize] = provider.seen("/auth")
    assert authorize["query"]["scope"].split() == ["openid", PNR_SCOPE]


async def test_without_the_scope_the_claim_is_missing_and_the_login_refused(
    provider: OidcProvider, direkt: Server
) -> None:
    provider.configure(claims=provider_config("")["claims"] | {"openid": ["sub"]})
    server = direkt(DIREKT_OIDC_SUBJECT_CLAIM=PNR_CLAIM)  # scope "openid" only
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/oidc/login", ERIK)
        assert "personalIdentityNumber" in error_of(back, 401, "unauthenticated")
        assert await not_logged_in(http)


def userinfo_only(provider: OidcProvider) -> None:
    """personal_number comes with the scope ``profile``, and the ID token carries only the ``openid`` scope's
    claims (sub, acr): so it is in userinfo alone (oidc-provider's conformIdTokenClaims)."""
    claims = provider_config("")["claims"]
    provider.configure(
        id_token_claims=False, claims=claims | {"openid": ["sub"], "profile": [*claims["profile"], "personal_number"]}
    )


async def test_a_claim_only_in_userinfo(provider: OidcProvider, direkt: Server) -> None:
    userinfo_only(provider)
    server = direkt(DIREKT_OIDC_SCOPES="openid profile")  # DIREKT_OIDC_USERINFO=auto: asked when the ID token lacks it
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/oidc/login", ERIK)
        assert back.status_code == 303, back.text
        assert (await me(http))["pnr_masked"] == "19910831-****"
    assert [entry["auth"] for entry in provider.seen("/me")] == ["Bearer"]


async def test_a_claim_only_in_userinfo_is_missing_when_userinfo_is_never_asked(
    provider: OidcProvider, direkt: Server
) -> None:
    userinfo_only(provider)
    server = direkt(DIREKT_OIDC_SCOPES="openid profile", DIREKT_OIDC_USERINFO="never")
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/oidc/login", ERIK)
        error_of(back, 401, "unauthenticated")
    assert provider.seen("/me") == []


# -- assurance level -----------------------------------------------------------------------------


async def test_a_low_acr_is_refused(provider: OidcProvider, direkt: Server) -> None:
    provider.configure(acr=LOA2)
    server = direkt(DIREKT_OIDC_REQUIRED_ACR=LOA3)
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/oidc/login", ERIK)
        error_of(back, 401, "assurance_too_low")
        assert await not_logged_in(http)
    [authorize] = provider.seen("/auth")
    assert authorize["query"]["acr_values"] == LOA3  # asked for, and the provider answered LoA 2 anyway


async def test_the_required_acr_is_accepted_and_acr_values_are_sent(provider: OidcProvider, direkt: Server) -> None:
    server = direkt(DIREKT_OIDC_REQUIRED_ACR=LOA3, DIREKT_OIDC_ACR_VALUES=f"{LOA3} {LOA2}")
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/oidc/login", ERIK)
        assert back.status_code == 303, back.text
    [authorize] = provider.seen("/auth")
    assert authorize["query"]["acr_values"] == f"{LOA3} {LOA2}"


# -- staff matched by HSA-id and by UPN ----------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "scope", "account", "staff_id"),
    [
        ("hsa_id", "hsa", "nurse-1", "nurse-1"),  # SE2321000131-P000000001, as in the region file
        ("upn", "upn", "nurse-2", "nurse-2"),  # Olle.Ek@region.example; the region file has it in lower case
    ],
)
async def test_staff_are_matched_by_hsa_id_and_upn(
    provider: OidcProvider, direkt: Server, claim: str, scope: str, account: str, staff_id: str
) -> None:
    server = direkt(DIREKT_STAFF_OIDC_SUBJECT_CLAIM=claim, DIREKT_STAFF_OIDC_SCOPES=f"openid {scope}")
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/staff/oidc/login", account)
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/console/"
        session = await me(http)
    assert (session["role"], session["provider"], session["staff"]["id"]) == ("staff", "staff-oidc", staff_id)


async def test_an_hsa_id_of_nobody_here_is_refused(provider: OidcProvider, direkt: Server) -> None:
    server = direkt(DIREKT_STAFF_OIDC_SUBJECT_CLAIM="hsa_id", DIREKT_STAFF_OIDC_SCOPES="openid hsa")
    async with browser(server) as http:
        back = await log_in(http, provider, "/auth/staff/oidc/login", "nurse-elsewhere")
        error_of(back, 403, "forbidden")


# -- RP-initiated logout -------------------------------------------------------------------------


async def test_logout_ends_the_provider_session(provider: OidcProvider, direkt: Server) -> None:
    server = direkt()
    async with browser(server) as http:
        assert (await log_in(http, provider, "/auth/oidc/login", ERIK)).status_code == 303
        # The provider remembers the person: without RP logout, "Logga in" logs them in again silently.
        again = (await http.get("/auth/oidc/login")).headers["location"]
        assert not await shows_login_form(http, again, provider.issuer)

        out = await http.post("/auth/logout", headers={"X-CSRF-Token": (await me(http))["csrf"]})
        assert out.status_code == 200, out.text
        end_session = out.json()["end_session_url"]
        assert end_session.startswith(f"{provider.issuer}/session/end?")
        landed = await through_provider(http, end_session, provider.issuer)
        assert landed == server.url("/")
        assert await not_logged_in(http)

        start = await http.get("/auth/oidc/login")
        assert await shows_login_form(http, start.headers["location"], provider.issuer)
    [ended] = provider.seen("/session/end")
    assert ended["query"]["id_token_hint"].count(".") == 2
    assert ended["query"]["post_logout_redirect_uri"] == server.url("/")
    assert any(entry.get("event") == "end_session.success" for entry in provider.seen())
