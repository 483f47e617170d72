"""OpenID Connect relying party: authorization code flow with PKCE (S256).

Used twice: citizens log in through an e-ID broker (BankID, Freja eID) whose ID
token carries the personal identity number in ``personal_number``; staff log in
through the region's identity provider (``preferred_username``).

    begin()   discovery (cached) -> LoginStart: the authorize URL plus the
              state, nonce and PKCE verifier the caller keeps server-side
    finish()  code -> token endpoint -> ID token verified against the JWKS -> claims

Checking ``state`` against the stored login is the caller's job (it owns the
session store); everything about the token is checked here (OIDC Core 3.1.3.7):
signature (RS256 or ES256 only: never ``none``, never HMAC, where the public key
could be abused as a shared secret), ``iss``, ``aud`` (and ``azp`` when there
are several audiences), ``exp`` and ``iat`` with a small leeway, ``nonce``, and
the presence of the identity claim.

Errors: the provider unreachable, slow, answering 5xx or describing itself
wrongly is ``Unavailable`` (503: try again later); anything wrong with the code
or the token is ``Unauthenticated`` (401: log in again). Messages name the
check that failed and never carry token contents or personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import jwt

from direkt.server.errors import Unauthenticated, Unavailable

# Asymmetric algorithms only, with the JWK key type each needs.
ALLOWED_ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat")
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
_JWT_ERRORS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "the ID token has expired"),
    (jwt.ImmatureSignatureError, "the ID token is not valid yet"),
    (jwt.InvalidAudienceError, "the ID token was issued to another client"),
    (jwt.InvalidIssuerError, "the ID token was issued by another issuer"),
    (jwt.MissingRequiredClaimError, "the ID token lacks a required claim (iss, aud, exp or iat)"),
    (jwt.InvalidSignatureError, "the ID token signature does not verify"),
)


@dataclass(frozen=True)
class OidcConfig:
    """One relying-party registration at one provider.

    ``subject_claim`` names the claim that identifies the user: the personal
    identity number for e-ID brokers, a user name for staff identity providers.
    """

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scope: str = "openid"
    subject_claim: str = "personal_number"
    timeout_seconds: float = 10.0
    leeway_seconds: float = 30.0


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and the secrets to keep until the callback."""

    url: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class Provider:
    """The parts of the discovery document this client uses."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


class OidcClient:
    """Relying party for one provider; discovery and the JWKS are fetched once and cached."""

    def __init__(self, config: OidcConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self._http = http
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._provider: Provider | None = None
        self._keys: list[dict[str, Any]] = []

    async def discover(self) -> Provider:
        """Fetch and check the discovery document and the JWKS, once.

        Returns:
            The provider's endpoints.

        Raises:
            Unavailable: the provider cannot be reached in time, answers with an
                error, or its discovery document is incomplete, names another
                issuer, or uses plain HTTP off loopback.
        """
        if self._provider is None:
            document = await self._get_json(f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration")
            provider = _provider_from(document, self.config.issuer)
            self._keys = await self._fetch_keys(provider.jwks_uri)
            self._provider = provider
        return self._provider

    async def begin(self, *, login_hint: str | None = None) -> LoginStart:
        """Start a login: fresh state, nonce and PKCE verifier, and the authorize URL.

        Args:
            login_hint: optional hint for the provider (which account to use).

        Returns:
            The URL to redirect the browser to, and the values the caller must
            store server-side under ``state`` until the callback.

        Raises:
            Unavailable: discovery failed (see ``discover``).
        """
        provider = await self.discover()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)  # 86 characters; RFC 7636 allows 43-128
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if login_hint:
            params["login_hint"] = login_hint
        endpoint = provider.authorization_endpoint
        url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
        return LoginStart(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def finish(self, code: str, *, code_verifier: str, nonce: str) -> dict[str, Any]:
        """Redeem the authorization code and verify the ID token.

        Args:
            code: the ``code`` query parameter of the callback.
            code_verifier: the PKCE verifier stored by ``begin``.
            nonce: the nonce stored by ``begin``.

        Returns:
            The verified ID token claims; the configured subject claim is present.

        Raises:
            Unauthenticated: the provider refused the code, or the ID token fails
                a check (signature, algorithm, issuer, audience, expiry, nonce,
                identity claim).
            Unavailable: the provider cannot be reached in time, answers 5xx, or
                refuses this server's client credentials.
        """
        provider = await self.discover()
        tokens = await self._redeem(provider, code, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise Unauthenticated("the identity provider's token response has no ID token")
        claims = await self._verify(id_token)
        self._check_claims(claims, nonce)
        return claims

    async def _redeem(self, provider: Provider, code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        if _use_basic_auth(provider.token_auth_methods):
            headers["Authorization"] = basic_authorization(self.config.client_id, self.config.client_secret)
        else:
            form |= {"client_id": self.config.client_id, "client_secret": self.config.client_secret}
        response = await self._send("POST", provider.token_endpoint, data=form, headers=headers)
        return _token_response(response)

    async def _verify(self, id_token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the ID token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise Unauthenticated("the ID token is not signed with an allowed algorithm (RS256 or ES256)")
        key = await self._signing_key(header.get("kid"), algorithm)
        return _decode(id_token, key, algorithm, self.config)

    async def _signing_key(self, kid: object, algorithm: str) -> jwt.PyJWK:
        found = _find_key(self._keys, kid, algorithm)
        if found is None:
            # The provider may have rotated its keys since we cached them. Refetch
            # once per token; the token came from the token endpoint over our own
            # connection, so a client cannot make us refetch at will.
            self._keys = await self._fetch_keys((await self.discover()).jwks_uri)
            found = _find_key(self._keys, kid, algorithm)
        if found is None:
            raise Unauthenticated("the ID token is signed by a key the identity provider does not publish")
        try:
            return jwt.PyJWK(found, algorithm=algorithm)
        except jwt.PyJWTError:
            raise Unavailable("the identity provider publishes a signing key that cannot be used") from None

    def _check_claims(self, claims: Mapping[str, Any], nonce: str) -> None:
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.config.client_id:
            raise Unauthenticated("the ID token has several audiences and was not issued to this client")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
            raise Unauthenticated("the ID token does not belong to this login (nonce mismatch)")
        subject = claims.get(self.config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated(f"the ID token does not carry the {self.config.subject_claim!r} claim")

    async def _fetch_keys(self, jwks_uri: str) -> list[dict[str, Any]]:
        document = await self._get_json(jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
            raise Unavailable("the identity provider's key set (JWKS) is malformed")
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._send("GET", url, headers={"Accept": "application/json"})
        if response.status_code != httpx.codes.OK:
            raise Unavailable(f"the identity provider answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise Unavailable("the identity provider answered with something other than JSON") from None
        if not isinstance(document, dict):
            raise Unavailable("the identity provider answered with something other than a JSON object")
        return document

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, timeout=self._timeout, follow_redirects=False, **kwargs)
        except httpx.TimeoutException:
            raise Unavailable("the identity provider did not answer in time") from None
        except httpx.HTTPError:
            raise Unavailable("the identity provider cannot be reached") from None


def code_challenge(verifier: str) -> str:
    """The PKCE S256 challenge: unpadded base64url of SHA-256 of the verifier (RFC 7636 4.2).

    Args:
        verifier: the code verifier.

    Returns:
        The code challenge.
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``client_secret_basic`` header value.

    RFC 6749 2.3.1: id and secret are form-urlencoded before base64, so a secret
    containing ``:`` or non-ASCII characters survives.

    Args:
        client_id: the registered client id.
        client_secret: the client secret.

    Returns:
        ``Basic <base64>``.
    """
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def _provider_from(document: Mapping[str, Any], issuer: str) -> Provider:
    missing = [name for name in REQUIRED_METADATA if not isinstance(document.get(name), str)]
    if missing:
        raise Unavailable(f"the identity provider's discovery document lacks {', '.join(missing)}")
    # OIDC Discovery 4.3: the issuer in the document must be exactly the configured one.
    if document["issuer"] != issuer:
        raise Unavailable("the identity provider's discovery document names a different issuer")
    endpoints = [document[name] for name in REQUIRED_METADATA]
    if not all(_secure_url(url) for url in endpoints):
        raise Unavailable("the identity provider's endpoints must use HTTPS")
    methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    return Provider(
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        token_auth_methods=tuple(m for m in methods if isinstance(m, str)) if isinstance(methods, list) else (),
    )


def _secure_url(url: str) -> bool:
    """HTTPS, or plain HTTP to a loopback address (a provider on the same machine, or a test)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _use_basic_auth(methods: tuple[str, ...]) -> bool:
    if "client_secret_basic" in methods:
        return True
    if "client_secret_post" in methods:
        return False
    raise Unavailable("the identity provider supports neither client_secret_basic nor client_secret_post")


def _token_response(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status >= httpx.codes.INTERNAL_SERVER_ERROR:
        raise Unavailable(f"the identity provider's token endpoint answered HTTP {status}")
    document = _json_object(response)
    if status == httpx.codes.UNAUTHORIZED or document.get("error") == "invalid_client":
        raise Unavailable("the identity provider refused this server's client credentials")
    if status != httpx.codes.OK:
        raise Unauthenticated("the identity provider refused the authorization code (expired, used or not ours)")
    return document


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _find_key(keys: list[dict[str, Any]], kid: object, algorithm: str) -> dict[str, Any] | None:
    """The one published key that can have signed this token, or None."""
    candidates = [
        key
        for key in keys
        if key.get("kty") == ALLOWED_ALGORITHMS[algorithm]
        and key.get("use", "sig") == "sig"
        and key.get("alg", algorithm) == algorithm
        and (kid is None or key.get("kid") == kid)
    ]
    return candidates[0] if len(candidates) == 1 else None


def _decode(id_token: str, key: jwt.PyJWK, algorithm: str, config: OidcConfig) -> dict[str, Any]:
    try:
        return jwt.decode(
            id_token,
            key,
            algorithms=[algorithm],
            audience=config.client_id,
            issuer=config.issuer,
            leeway=config.leeway_seconds,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(_jwt_message(exc)) from None


def _jwt_message(exc: jwt.InvalidTokenError) -> str:
    for kind, message in _JWT_ERRORS:
        if isinstance(exc, kind):
            return message
    return "the ID token is invalid"
