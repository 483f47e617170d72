"""The relying party against a broker that behaves like a real Swedish e-ID broker
(tests/oidc_issuer.py): scopes that release the identity claim, userinfo, ``acr``,
PS256 and EdDSA, cached discovery and keys, RFC 9207 ``iss``, ``private_key_jwt``
and RP-initiated logout. Refusals are checked as a user would meet them: 401 for
the login, 503 when the provider or our registration is at fault.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SUBJECT, Issuer
from support import timeout

from direkt.server.errors import AssuranceTooLow, Unauthenticated, Unavailable
from direkt.server.identity.oidc import OidcClient, OidcConfig, Verified
from direkt.server.identity.oidcjose import load_signing_key

PNR_SCOPE = "https://id.oidc.se/scope/naturalPersonNumber"
PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"


class Clock:
    """Monotonic seconds the test moves on by hand (the cache's clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def running_issuer() -> Iterator[Issuer]:
    with Issuer(subject_claim=PNR_CLAIM) as issuer:
        yield issuer


@pytest.fixture
def issuer(running_issuer: Issuer) -> Issuer:
    running_issuer.reset()
    return running_issuer


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client_for(idp: Issuer, http: httpx.AsyncClient, clock: Clock | None = None, **changes: object) -> OidcClient:
    config = OidcConfig(
        issuer=idp.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        subject_claim=PNR_CLAIM,
        scope=f"openid {PNR_SCOPE}",
        timeout_seconds=timeout(5),
    )
    return OidcClient(replace(config, **changes), http, clock=clock or Clock())  # type: ignore[arg-type]


async def login(client: OidcClient, http: httpx.AsyncClient, *, iss: str | None = "from-response") -> Verified:
    """Begin, let the browser pass the provider, finish with what the callback carried."""
    start = await client.begin()
    response = await http.get(start.url, follow_redirects=False)
    assert response.status_code == 302, response.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
    response_issuer = query.get("iss") if iss == "from-response" else iss
    return await client.finish(
        query["code"], code_verifier=start.code_verifier, nonce=start.nonce, response_issuer=response_issuer
    )


# --- scopes and userinfo ----------------------------------------------------------------------------


async def test_the_identity_claim_released_under_its_scope(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.subject_scope = PNR_SCOPE
    verified = await login(client_for(issuer, http), http)
    assert verified.claims[PNR_CLAIM] == SUBJECT
    assert issuer.requests[-1]["scope"] == f"openid {PNR_SCOPE}"
    assert issuer.userinfo_calls == 0  # the ID token had it


async def test_without_the_scope_the_claim_is_missing_and_the_login_refused(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.subject_scope = PNR_SCOPE
    with pytest.raises(Unauthenticated, match="did not release") as caught:
        await login(client_for(issuer, http, scope="openid"), http)
    assert caught.value.status == 401


async def test_a_claim_only_in_userinfo_is_fetched_with_the_access_token(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.subject_in = "userinfo"
    verified = await login(client_for(issuer, http), http)
    assert verified.claims[PNR_CLAIM] == SUBJECT
    assert verified.claims["iss"] == issuer.url  # the ID token's claims are kept beside userinfo's
    assert issuer.userinfo_calls == 1


async def test_userinfo_never_means_never(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.subject_in = "userinfo"
    with pytest.raises(Unauthenticated, match="did not release"):
        await login(client_for(issuer, http, userinfo="never"), http)
    assert issuer.userinfo_calls == 0


async def test_userinfo_always_asks_but_the_id_token_wins(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.userinfo_claims = {"given_name": "Tolvan", PNR_CLAIM: "195301010350"}
    verified = await login(client_for(issuer, http, userinfo="always"), http)
    assert issuer.userinfo_calls == 1
    assert verified.claims["given_name"] == "Tolvan"
    assert verified.claims[PNR_CLAIM] == SUBJECT  # the signed value, not userinfo's


async def test_userinfo_about_another_user_is_refused(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.subject_in = "userinfo"
    issuer.userinfo_claims = {"sub": "sub-of-someone-else"}
    with pytest.raises(Unauthenticated, match="sub mismatch") as caught:
        await login(client_for(issuer, http), http)
    assert SUBJECT not in str(caught.value)


async def test_userinfo_without_sub_is_refused(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.subject_in = "userinfo"
    issuer.userinfo_claims = {"sub": None}
    with pytest.raises(Unauthenticated, match="sub mismatch"):
        await login(client_for(issuer, http), http)


# --- assurance level --------------------------------------------------------------------------------


async def test_acr_values_are_sent_and_the_required_level_accepted(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.acr = LOA3
    client = client_for(issuer, http, acr_values=LOA3, required_acr=(LOA3,))
    assert (await login(client, http)).claims["acr"] == LOA3
    assert issuer.requests[-1]["acr_values"] == LOA3


@pytest.mark.parametrize("acr", [LOA2, None, ""])
async def test_a_lower_or_missing_level_is_refused(http: httpx.AsyncClient, issuer: Issuer, acr: str | None) -> None:
    issuer.acr = acr
    with pytest.raises(AssuranceTooLow, match="assurance level is too low") as caught:
        await login(client_for(issuer, http, acr_values=LOA3, required_acr=(LOA3,)), http)
    assert (caught.value.status, caught.value.code) == (401, "assurance_too_low")


async def test_no_required_level_sends_no_acr_values(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.acr = LOA2
    await login(client_for(issuer, http), http)
    assert "acr_values" not in issuer.requests[-1]


# --- algorithms -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signing", ["rs256", "es256", "ps256", "eddsa"])
async def test_asymmetric_algorithms_are_accepted(http: httpx.AsyncClient, issuer: Issuer, signing: str) -> None:
    issuer.signing = signing
    assert (await login(client_for(issuer, http), http)).claims[PNR_CLAIM] == SUBJECT


# --- caching ----------------------------------------------------------------------------------------


async def test_discovery_and_keys_are_fetched_once_per_hour(
    http: httpx.AsyncClient, issuer: Issuer, clock: Clock
) -> None:
    client = client_for(issuer, http, clock)
    for _ in range(3):
        await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (1, 1)
    clock.now += 3599
    await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (1, 1)
    clock.now += 2
    await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (2, 2)


async def test_cache_control_max_age_sets_the_period(http: httpx.AsyncClient, issuer: Issuer, clock: Clock) -> None:
    issuer.cache_control = "public, max-age=120"
    client = client_for(issuer, http, clock)
    await login(client, http)
    clock.now += 119
    await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (1, 1)
    clock.now += 2
    await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (2, 2)


async def test_no_store_still_caches_for_a_minute(http: httpx.AsyncClient, issuer: Issuer, clock: Clock) -> None:
    issuer.cache_control = "no-store"
    client = client_for(issuer, http, clock)
    await login(client, http)
    await login(client, http)
    assert issuer.discovery_fetches == 1
    clock.now += 61
    await login(client, http)
    assert issuer.discovery_fetches == 2


async def test_a_rotated_key_refreshes_the_keys_once(http: httpx.AsyncClient, issuer: Issuer, clock: Clock) -> None:
    client = client_for(issuer, http, clock)
    await login(client, http)
    issuer.rotate_key()
    await login(client, http)
    await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (1, 2)


async def test_an_unknown_kid_refreshes_at_most_once_a_minute(
    http: httpx.AsyncClient, issuer: Issuer, clock: Clock
) -> None:
    client = client_for(issuer, http, clock)
    issuer.signing = "foreign-kid"
    for _ in range(3):
        with pytest.raises(Unauthenticated, match="does not publish"):
            await login(client, http)
    assert issuer.jwks_fetches == 2  # the first fetch, and one refresh for all three tokens
    clock.now += 61
    with pytest.raises(Unauthenticated, match="does not publish"):
        await login(client, http)
    assert issuer.jwks_fetches == 3


# --- RFC 9207 ---------------------------------------------------------------------------------------


async def test_the_response_issuer_is_accepted_when_it_is_the_issuer(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.iss_in_response = True
    assert (await login(client_for(issuer, http), http)).claims[PNR_CLAIM] == SUBJECT


async def test_another_issuer_in_the_response_is_refused_before_the_code_is_used(
    http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.response_iss = "https://evil.example"
    with pytest.raises(Unauthenticated, match=r"another issuer \(iss\)"):
        await login(client_for(issuer, http), http)
    assert len(issuer.codes) == 1  # never redeemed
    assert issuer.token_auth_used == []


async def test_a_missing_iss_is_refused_when_the_provider_promises_it(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.iss_in_response = True
    with pytest.raises(Unauthenticated, match="lacks the issuer"):
        await login(client_for(issuer, http), http, iss=None)


# --- client authentication --------------------------------------------------------------------------


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


@pytest.mark.parametrize(
    "key",
    [
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec.generate_private_key(ec.SECP256R1()),
        ed25519.Ed25519PrivateKey.generate(),
    ],
    ids=["rs256", "es256", "eddsa"],
)
async def test_private_key_jwt(
    http: httpx.AsyncClient,
    issuer: Issuer,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
) -> None:
    issuer.auth_methods = ["private_key_jwt"]
    issuer.client_public_key = key.public_key()
    signing_key = load_signing_key(pem_of(key), kid="direkt-1")
    client = client_for(issuer, http, client_auth="private_key_jwt", client_secret="", signing_key=signing_key)
    await login(client, http)
    await login(client, http)
    assert issuer.token_auth_used == ["private_key_jwt", "private_key_jwt"]
    assert len(issuer.assertion_ids) == 2  # a fresh jti each time


async def test_a_client_assertion_signed_with_another_key_is_refused(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.auth_methods = ["private_key_jwt"]
    issuer.client_public_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    signing_key = load_signing_key(pem_of(ec.generate_private_key(ec.SECP256R1())))
    client = client_for(issuer, http, client_auth="private_key_jwt", signing_key=signing_key)
    with pytest.raises(Unavailable, match="client credentials") as caught:
        await login(client, http)
    assert caught.value.status == 503


async def test_client_secret_post_by_configuration(http: httpx.AsyncClient, issuer: Issuer) -> None:
    await login(client_for(issuer, http, client_auth="client_secret_post"), http)
    assert issuer.token_auth_used == ["client_secret_post"]


async def test_a_method_the_provider_does_not_offer(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.auth_methods = ["client_secret_basic"]
    client = client_for(issuer, http, client_auth="private_key_jwt", signing_key=None)
    with pytest.raises(Unavailable, match="does not offer private_key_jwt"):
        await login(client, http)


async def test_private_key_jwt_without_a_key_is_the_servers_fault(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.auth_methods = ["private_key_jwt"]
    with pytest.raises(Unavailable, match="not configured completely"):
        await login(client_for(issuer, http, client_auth="private_key_jwt"), http)


# --- RP-initiated logout ----------------------------------------------------------------------------


async def test_logout_url_carries_the_id_token_hint(http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.end_session = True
    client = client_for(issuer, http, post_logout_redirect_uri="http://127.0.0.1:9/")
    verified = await login(client, http)
    url = await client.logout_url(verified.id_token)
    assert url is not None and url.startswith(f"{issuer.url}/logout?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "id_token_hint": verified.id_token,
        "client_id": CLIENT_ID,
        "post_logout_redirect_uri": "http://127.0.0.1:9/",
    }
    assert verified.id_token not in repr(verified)


async def test_no_end_session_endpoint_means_a_local_logout(http: httpx.AsyncClient, issuer: Issuer) -> None:
    client = client_for(issuer, http)
    verified = await login(client, http)
    assert await client.logout_url(verified.id_token) is None
