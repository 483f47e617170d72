"""Logging in through brokers configured like a region's real ones, against a real
``direkt serve`` process and the test issuer (tests/oidc_issuer.py):

* citizens: the Swedish OIDC profile (the personal identity number released under
  its scope, in its own claim), LoA 3 required, RP-initiated logout;
* staff: matched by UPN or HSA-id in any case, ``private_key_jwt`` client
  authentication, landing on the console.

Discovery and the key set are fetched once for many logins. Every refusal is a
typed JSON error for an API client (``Accept: application/json``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from support import ServerProcess, timeout
from support_hub import Login, error_of, not_logged_in

from direkt.loadtests.client import Client
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

PNR_SCOPE = "https://id.oidc.se/scope/naturalPersonNumber"
PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"
JSON = {"Accept": "application/json"}


class Brokers:
    def __init__(self, server: ServerProcess, citizens: Issuer, staff: Issuer, client_key: Any) -> None:
        self.server, self.citizens, self.staff = server, citizens, staff
        self.client_key = client_key  # the public half of the server's private_key_jwt key

    def reset(self) -> None:
        for issuer in (self.citizens, self.staff):
            issuer.reset()
        self.citizens.subject_scope, self.citizens.acr, self.citizens.end_session = PNR_SCOPE, LOA3, True
        self.citizens.iss_in_response = True
        self.staff.auth_methods = ["private_key_jwt"]
        self.staff.client_public_key = self.client_key


@pytest.fixture(scope="module")
def brokers(standalone_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Brokers]:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path_factory.mktemp("oidc") / "client.pem"
    pkcs8 = serialization.PrivateFormat.PKCS8
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption()))
    with Issuer(subject_claim=PNR_CLAIM) as citizens, Issuer(subject_claim="upn") as staff_idp:
        process = ServerProcess(
            standalone_redis.url,
            DIREKT_OIDC_ISSUER=citizens.url,
            DIREKT_OIDC_CLIENT_ID=CLIENT_ID,
            DIREKT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            DIREKT_OIDC_SCOPES=f"openid {PNR_SCOPE}",
            DIREKT_OIDC_SUBJECT_CLAIM=PNR_CLAIM,
            DIREKT_OIDC_REQUIRED_ACR=LOA3,
            DIREKT_STAFF_OIDC_ISSUER=staff_idp.url,
            DIREKT_STAFF_OIDC_CLIENT_ID=CLIENT_ID,
            DIREKT_STAFF_OIDC_SUBJECT_CLAIM="upn",
            DIREKT_STAFF_OIDC_CLIENT_AUTH="private_key_jwt",
            DIREKT_STAFF_OIDC_PRIVATE_KEY_FILE=str(key_file),
            DIREKT_STAFF_OIDC_PRIVATE_KEY_ID="direkt-staff-1",
        )
        try:
            citizens.redirect_uris.add(process.url("/auth/oidc/callback"))
            staff_idp.redirect_uris.add(process.url("/auth/staff/oidc/callback"))
            yield Brokers(process, citizens, staff_idp, key.public_key())
        finally:
            process.stop()


@pytest.fixture
def idp(brokers: Brokers) -> Brokers:
    brokers.reset()
    return brokers


@pytest.fixture
async def browser(idp: Brokers) -> AsyncIterator[httpx.AsyncClient]:
    base = idp.server.base
    async with httpx.AsyncClient(base_url=base, headers={"Origin": base, **JSON}, timeout=timeout(10)) as http:
        yield http


async def round_trip(http: httpx.AsyncClient, login_path: str, issuer: Issuer) -> httpx.Response:
    """Start at the server, approve at the issuer, come back; the server's answer to the callback."""
    start = await http.get(login_path)
    assert start.status_code == 302, start.text
    approved = await http.get(start.headers["location"])
    assert approved.status_code == 302, approved.text
    return await http.get(approved.headers["location"])


async def me(http: httpx.AsyncClient) -> dict[str, Any]:
    session: dict[str, Any] = (await http.get("/api/session")).json()
    return session


# -- citizens: the Swedish OIDC profile -----------------------------------------------------------


async def test_a_citizen_logs_in_with_the_profiles_scope_claim_and_loa3(
    idp: Brokers, browser: httpx.AsyncClient
) -> None:
    back = await round_trip(browser, "/auth/oidc/login?next=/cases", idp.citizens)
    assert (back.status_code, back.headers["location"]) == (303, "/cases")
    session = await me(browser)
    assert (session["role"], session["provider"]) == ("citizen", "oidc")
    assert session["pnr_masked"] == f"{idp.citizens.subject[:8]}-****"
    asked = idp.citizens.requests[-1]
    assert asked["scope"] == f"openid {PNR_SCOPE}" and asked["acr_values"] == LOA3


async def test_a_claim_only_from_userinfo(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.citizens.subject_in = "userinfo"
    back = await round_trip(browser, "/auth/oidc/login", idp.citizens)
    assert back.status_code == 303, back.text
    assert idp.citizens.userinfo_calls == 1 and (await me(browser))["role"] == "citizen"


async def test_a_low_assurance_login_is_refused(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.citizens.acr = LOA2
    back = await round_trip(browser, "/auth/oidc/login", idp.citizens)
    assert "assurance level is too low" in error_of(back, 401, "assurance_too_low")
    assert "direkt_session" not in back.cookies
    assert await not_logged_in(browser)


async def test_userinfo_about_someone_else_is_refused(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.citizens.subject_in = "userinfo"
    idp.citizens.userinfo_claims = {"sub": "someone-else"}
    error_of(await round_trip(browser, "/auth/oidc/login", idp.citizens), 401, "unauthenticated")
    assert await not_logged_in(browser)


async def test_another_issuer_in_the_response_is_refused(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.citizens.response_iss = "https://evil.example"
    back = await round_trip(browser, "/auth/oidc/login", idp.citizens)
    assert "iss" in error_of(back, 401, "unauthenticated")
    assert idp.citizens.token_auth_used == []  # the code was never sent anywhere


async def test_discovery_and_keys_are_fetched_once_for_many_logins(idp: Brokers) -> None:
    fetched: list[tuple[int, int]] = []
    for _ in range(4):
        async with httpx.AsyncClient(base_url=idp.server.base, headers=JSON, timeout=timeout(10)) as http:
            assert (await round_trip(http, "/auth/oidc/login", idp.citizens)).status_code == 303
        fetched.append((idp.citizens.discovery_fetches, idp.citizens.jwks_fetches))
    # reset() zeroed the counters: the server fetched both in an earlier test, or once in the first login here
    assert fetched[0] in {(0, 0), (1, 1)}
    assert fetched == [fetched[0]] * 4


async def test_logout_ends_the_brokers_session_too(idp: Brokers, browser: httpx.AsyncClient) -> None:
    assert (await round_trip(browser, "/auth/oidc/login", idp.citizens)).status_code == 303
    csrf = (await me(browser))["csrf"]
    out = await browser.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200, out.text
    end_session = out.json()["end_session_url"]
    assert end_session.startswith(f"{idp.citizens.url}/logout?")
    assert await not_logged_in(browser)
    back = await browser.get(end_session)  # the browser goes there; the broker sends it home
    assert (back.status_code, back.headers["location"]) == (302, idp.server.url("/"))
    hint = idp.citizens.logouts[-1]
    assert hint["client_id"] == CLIENT_ID and hint["post_logout_redirect_uri"] == idp.server.url("/")
    assert hint["id_token_hint"].count(".") == 2  # the ID token of this login


async def test_a_logout_without_an_oidc_login_is_local(idp: Brokers, server_login: Client) -> None:
    out = await server_login.call("POST", "/auth/logout")
    assert out == {"logged_out": True}


@pytest.fixture
async def server_login(idp: Brokers) -> AsyncIterator[Client]:
    async with Client(idp.server.base) as client:
        await client.login_staff("nurse-1")
        yield client


# -- staff: UPN, HSA-id, private_key_jwt ----------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "staff_id"),
    [("Olle.Ek@Region.Example", "nurse-2"), ("se2321000131-p000000001", "nurse-1"), (" NURSE-1 ", "nurse-1")],
)
async def test_staff_are_matched_by_upn_or_hsa_id_and_land_on_the_console(
    idp: Brokers, browser: httpx.AsyncClient, claim: str, staff_id: str
) -> None:
    idp.staff.subject = claim
    back = await round_trip(browser, "/auth/staff/oidc/login", idp.staff)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/console/"
    session = await me(browser)
    assert (session["role"], session["provider"], session["staff"]["id"]) == ("staff", "staff-oidc", staff_id)
    assert idp.staff.token_auth_used == ["private_key_jwt"]


async def test_someone_who_is_not_staff_here_is_refused(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.staff.subject = "someone@elsewhere.example"
    error_of(await round_trip(browser, "/auth/staff/oidc/login", idp.staff), 403, "forbidden")
    assert await not_logged_in(browser)


async def test_a_bad_client_assertion_is_the_servers_fault(idp: Brokers, browser: httpx.AsyncClient) -> None:
    idp.staff.client_public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    back = await round_trip(browser, "/auth/staff/oidc/login", idp.staff)
    assert "client credentials" in error_of(back, 503, "unavailable")


async def test_an_admin_edit_keeps_the_staff_identities(login: Login, idp: Brokers) -> None:
    admin = await login(staff_id="admin-1")
    headers = {"X-CSRF-Token": admin.csrf}
    config = await admin.call("GET", "/api/admin/config")
    nora = next(s for s in config["staff"] if s["id"] == "nurse-1")
    assert nora["hsa_id"] == "SE2321000131-P000000001"
    body = {"name": "Nora Nilsson", "profession": "nurse", "units": ["vc-t"], "max_chats": 4}
    edited = await admin.http.put("/api/admin/staff/nurse-1", json=body, headers=headers | {"If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["staff"]["hsa_id"] == "SE2321000131-P000000001"  # absent: kept
    cleared = await admin.http.put(
        "/api/admin/staff/nurse-1", json=body | {"hsa_id": None, "upn": "Nora.N@region.example"},
        headers=headers | {"If-Match": '"2"'},
    )  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["staff"]["hsa_id"], cleared.json()["staff"]["upn"]) == (None, "Nora.N@region.example")
    taken = await admin.http.put(
        "/api/admin/staff/nurse-1", json=body | {"upn": "OLLE.EK@region.example"}, headers=headers | {"If-Match": '"3"'}
    )
    assert taken.status_code == 422 and "already names staff member" in taken.json()["error"]["message"]
    idp.staff.subject = "nora.n@REGION.example"
    async with httpx.AsyncClient(base_url=idp.server.base, headers=JSON, timeout=timeout(10)) as http:
        assert (await round_trip(http, "/auth/staff/oidc/login", idp.staff)).status_code == 303
        assert (await me(http))["staff"]["id"] == "nurse-1"
