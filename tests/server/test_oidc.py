"""OpenID Connect login against a real issuer on loopback (tests/oidc_issuer.py).

A full login goes begin -> the browser follows the authorize URL -> the
callback's code -> finish -> verified claims. Each negative test bends one
thing (the PKCE verifier, a replayed code, the nonce, the audience, the clock,
the signing key or algorithm, the discovery document, the issuer being down)
and expects the error a user would see: 401 "log in again" for anything wrong
with the code or token, 503 "try again later" when the provider is at fault.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, SUBJECT, Issuer
from support import free_port, timeout

from direkt.server.errors import Unauthenticated, Unavailable
from direkt.server.identity.oidc import LoginStart, OidcClient, OidcConfig, basic_authorization, code_challenge


@pytest.fixture(scope="module")
def running_issuer() -> Iterator[Issuer]:
    with Issuer() as issuer:
        yield issuer


@pytest.fixture
def issuer(running_issuer: Issuer) -> Issuer:
    running_issuer.reset()
    return running_issuer


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def config_for(idp: Issuer, /, **changes: object) -> OidcConfig:
    config = OidcConfig(
        issuer=idp.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        timeout_seconds=timeout(5),
    )
    return replace(config, **changes)  # type: ignore[arg-type]


@pytest.fixture
def client(issuer: Issuer, http: httpx.AsyncClient) -> OidcClient:
    return OidcClient(config_for(issuer), http)


async def authorize(http: httpx.AsyncClient, start: LoginStart) -> str:
    """What the browser does: follow the authorize URL; return the code from the callback."""
    response = await http.get(start.url, follow_redirects=False)
    assert response.status_code == 302, response.text
    callback = urlsplit(response.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT_URI
    query = parse_qs(callback.query)
    assert query["state"] == [start.state]
    return query["code"][0]


async def login(client: OidcClient, http: httpx.AsyncClient, **begin: str) -> dict[str, object]:
    start = await client.begin(**begin)
    code = await authorize(http, start)
    return (await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)).claims


def assert_no_token_contents(error: Exception, *secrets: str) -> None:
    shown = f"{error} {error.args!r}"
    assert "eyJ" not in shown  # no JWT (base64url of '{"')
    for secret in secrets:
        assert secret not in shown


# --- the happy path -------------------------------------------------------------------------------


async def test_full_login_returns_the_verified_claims(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    claims = await login(client, http)
    assert claims["personal_number"] == SUBJECT
    assert claims["iss"] == issuer.url
    assert claims["aud"] == CLIENT_ID
    assert isinstance(claims["sub"], str)
    assert issuer.token_auth_used == ["client_secret_basic"]  # the secret has ':' and non-ASCII characters


async def test_login_hint_selects_the_account(client: OidcClient, http: httpx.AsyncClient) -> None:
    claims = await login(client, http, login_hint="202301012395")
    assert claims["personal_number"] == "202301012395"


async def test_the_default_subject_is_settable(client: OidcClient, http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.subject = "195301010350"
    assert (await login(client, http))["personal_number"] == "195301010350"


async def test_staff_provider_with_another_subject_claim(http: httpx.AsyncClient) -> None:
    with Issuer(subject_claim="preferred_username") as staff_idp:
        staff_idp.subject = "nurse-a1"
        client = OidcClient(config_for(staff_idp, subject_claim="preferred_username", scope="openid profile"), http)
        claims = await login(client, http)
    assert claims["preferred_username"] == "nurse-a1"


async def test_es256_tokens_are_accepted(client: OidcClient, http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.signing = "es256"
    assert (await login(client, http))["personal_number"] == SUBJECT


async def test_client_secret_post_when_basic_is_not_offered(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.auth_methods = ["client_secret_post"]
    await login(client, http)
    assert issuer.token_auth_used == ["client_secret_post"]


async def test_the_authorize_url_carries_pkce_and_fresh_secrets(client: OidcClient, issuer: Issuer) -> None:
    first, second = await client.begin(), await client.begin()
    url = urlsplit(first.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{issuer.url}/authorize"
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": first.state,
        "nonce": first.nonce,
        "code_challenge": code_challenge(first.code_verifier),
        "code_challenge_method": "S256",
    }
    assert 43 <= len(first.code_verifier) <= 128
    assert len({first.state, first.nonce, first.code_verifier, second.state, second.nonce, second.code_verifier}) == 6
    assert first.code_verifier not in repr(first)  # the one value that never leaves the server


def test_code_challenge_matches_rfc_7636_appendix_b() -> None:
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_basic_authorization_form_encodes_before_base64() -> None:
    header = basic_authorization("a b", "p:w/å")
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "a%20b:p%3Aw%2F%C3%A5"


def test_the_client_secret_is_not_in_the_config_repr(issuer: Issuer) -> None:
    assert CLIENT_SECRET not in repr(config_for(issuer))


async def test_discovery_and_keys_are_fetched_once(client: OidcClient, http: httpx.AsyncClient, issuer: Issuer) -> None:
    await login(client, http)
    await login(client, http)
    assert (issuer.discovery_fetches, issuer.jwks_fetches) == (1, 1)


async def test_a_rotated_key_is_fetched_once_and_accepted(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    await client.discover()
    issuer.rotate_key()
    assert (await login(client, http))["personal_number"] == SUBJECT
    assert issuer.jwks_fetches == 2


# --- the code is refused ----------------------------------------------------------------------------


async def test_wrong_pkce_verifier(client: OidcClient, http: httpx.AsyncClient) -> None:
    start = await client.begin()
    code = await authorize(http, start)
    other = await client.begin()
    with pytest.raises(Unauthenticated, match="refused the authorization code"):
        await client.finish(code, code_verifier=other.code_verifier, nonce=start.nonce)


async def test_replayed_code(client: OidcClient, http: httpx.AsyncClient) -> None:
    start = await client.begin()
    code = await authorize(http, start)
    await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)
    with pytest.raises(Unauthenticated, match="refused the authorization code") as caught:
        await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)
    assert_no_token_contents(caught.value, code)


async def test_made_up_code(client: OidcClient) -> None:
    start = await client.begin()
    with pytest.raises(Unauthenticated, match="refused the authorization code"):
        await client.finish("made-up", code_verifier=start.code_verifier, nonce=start.nonce)


async def test_wrong_client_secret_is_the_servers_fault(issuer: Issuer, http: httpx.AsyncClient) -> None:
    client = OidcClient(config_for(issuer, client_secret="wrong"), http)
    start = await client.begin()
    code = await authorize(http, start)
    with pytest.raises(Unavailable, match="client credentials") as caught:
        await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)
    assert caught.value.status == 503


# --- the ID token is refused ------------------------------------------------------------------------


async def finish_expecting(client: OidcClient, http: httpx.AsyncClient, match: str) -> Unauthenticated:
    start = await client.begin()
    code = await authorize(http, start)
    with pytest.raises(Unauthenticated, match=match) as caught:
        await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)
    assert caught.value.status == 401
    assert_no_token_contents(caught.value, SUBJECT, start.nonce)
    return caught.value


async def test_wrong_nonce_from_the_caller(client: OidcClient, http: httpx.AsyncClient) -> None:
    start = await client.begin()
    code = await authorize(http, start)
    with pytest.raises(Unauthenticated, match="nonce"):
        await client.finish(code, code_verifier=start.code_verifier, nonce=(await client.begin()).nonce)


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"nonce": "another-login"}, "nonce"),
        ({"aud": "another-client"}, "another client"),
        ({"aud": ["another-client", "a-third"]}, "another client"),
        ({"aud": [CLIENT_ID, "another-client"]}, "several audiences"),  # no azp
        ({"iss": "https://evil.example"}, "another issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3900}, "expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 3900}, "not valid yet"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ],
)
async def test_bad_claims(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer, claims: dict[str, object], match: str
) -> None:
    issuer.claims = claims
    await finish_expecting(client, http, match)


async def test_several_audiences_with_azp_are_accepted(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.claims = {"aud": [CLIENT_ID, "another-client"], "azp": CLIENT_ID}
    assert (await login(client, http))["personal_number"] == SUBJECT


async def test_expiry_within_the_leeway_is_accepted(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.claims = {"exp": int(time.time()) - 5}
    assert (await login(client, http))["personal_number"] == SUBJECT


@pytest.mark.parametrize(("claim", "match"), [("exp", "required claim"), ("iat", "required claim"), ("nonce", "nonce")])
async def test_missing_claims(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer, claim: str, match: str
) -> None:
    issuer.drop_claims = {claim}
    await finish_expecting(client, http, match)


async def test_missing_identity_claim(client: OidcClient, http: httpx.AsyncClient, issuer: Issuer) -> None:
    issuer.subject_scope = "https://id.oidc.se/scope/naturalPersonNumber"  # never asked for: released nowhere
    await finish_expecting(client, http, "'personal_number' claim")
    assert issuer.userinfo_calls == 1  # asked there too ("auto"), where it is missing as well


@pytest.mark.parametrize(
    ("signing", "match"),
    [
        ("foreign", "signature does not verify"),  # another key under the published kid
        ("foreign-kid", "key the identity provider does not publish"),
        ("none", "allowed algorithm"),
        ("hs256", "allowed algorithm"),  # the public key abused as an HMAC secret
    ],
)
async def test_bad_signatures(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer, signing: str, match: str
) -> None:
    issuer.signing = signing
    await finish_expecting(client, http, match)


async def test_an_unknown_kid_refetches_the_keys_once(
    client: OidcClient, http: httpx.AsyncClient, issuer: Issuer
) -> None:
    issuer.signing = "foreign-kid"
    await finish_expecting(client, http, "does not publish")
    assert issuer.jwks_fetches == 2


def test_alg_none_token_really_has_no_signature(issuer: Issuer) -> None:
    issuer.signing = "none"
    header = issuer.sign({"sub": "x"}).split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none", "typ": "JWT", "kid": issuer.kid}


# --- the provider is at fault ----------------------------------------------------------------------


async def test_issuer_mismatch_in_discovery(client: OidcClient, issuer: Issuer) -> None:
    issuer.discovery_issuer = "https://accounts.example"
    with pytest.raises(Unavailable, match="names a different issuer"):
        await client.begin()


async def test_configured_issuer_with_a_trailing_slash_does_not_match(issuer: Issuer, http: httpx.AsyncClient) -> None:
    client = OidcClient(config_for(issuer, issuer=f"{issuer.url}/"), http)
    with pytest.raises(Unavailable, match="different issuer"):
        await client.discover()


async def test_issuer_down(http: httpx.AsyncClient) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    config = OidcConfig(issuer=nobody, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI)
    with pytest.raises(Unavailable, match="cannot be reached") as caught:
        await OidcClient(config, http).begin()
    assert caught.value.status == 503


async def test_issuer_answers_503(client: OidcClient, issuer: Issuer) -> None:
    issuer.status = 503
    with pytest.raises(Unavailable, match="HTTP 503"):
        await client.begin()


async def test_token_endpoint_answers_503(client: OidcClient, http: httpx.AsyncClient, issuer: Issuer) -> None:
    start = await client.begin()
    code = await authorize(http, start)
    issuer.status = 503
    with pytest.raises(Unavailable, match="HTTP 503"):
        await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)


async def test_token_endpoint_too_slow(issuer: Issuer, http: httpx.AsyncClient) -> None:
    client = OidcClient(config_for(issuer, timeout_seconds=timeout(0.2)), http)
    start = await client.begin()
    code = await authorize(http, start)
    issuer.token_delay = timeout(1)
    with pytest.raises(Unavailable, match="did not answer in time"):
        await client.finish(code, code_verifier=start.code_verifier, nonce=start.nonce)


async def test_plain_http_off_loopback_is_refused() -> None:
    def discovery(request: httpx.Request) -> httpx.Response:
        base = "http://idp.example"
        return httpx.Response(
            200,
            json={
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
            },
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(discovery)) as fake:
        config = OidcConfig(issuer="http://idp.example", client_id="c", client_secret="s", redirect_uri=REDIRECT_URI)
        with pytest.raises(Unavailable, match="HTTPS"):
            await OidcClient(config, fake).discover()


def test_issuer_fixture_is_loopback_only(issuer: Issuer) -> None:
    assert urlsplit(issuer.url).hostname == "127.0.0.1"
