"""OpenID Connect relying party: authorization code flow with PKCE (S256).

Used twice: citizens log in through an e-ID broker (BankID, Freja eID; Swedish
brokers follow the Swedish OIDC profile) whose claims carry the personal
identity number; staff log in through the region's identity provider.

    begin()       discovery (cached) -> LoginStart: the authorize URL (scopes,
                  ``acr_values``) plus the state, nonce and PKCE verifier the
                  caller keeps server-side
    finish()      the response's ``iss`` (RFC 9207) -> code -> token endpoint
                  (client_secret_basic, client_secret_post or private_key_jwt)
                  -> ID token verified against the JWKS -> ``acr`` -> userinfo
                  when configured or when the identity claim is missing -> claims
    logout_url()  the provider's end_session_endpoint with ``id_token_hint``

Checking ``state`` against the stored login is the caller's job (it owns the
session store); everything about the token is checked here (OIDC Core 3.1.3.7):
signature (RS256, PS256, ES256 or EdDSA only: never ``none``, never HMAC),
``iss``, ``aud`` (and ``azp`` when there are several audiences), ``exp`` and
``iat`` with a small leeway, ``nonce``, ``acr`` when one is required, the
userinfo ``sub`` against the ID token's, and the presence of the identity claim.

Caching: the discovery document and the key set are kept for their
``Cache-Control: max-age`` (else ``cache_seconds``, one hour by default), so a
login costs one call to the provider's token endpoint (two with userinfo). A
token signed by a key we do not know refetches the key set once, at most once a
minute (``key_refresh_seconds``), before it is refused: keys rotate, but a
stream of made-up key ids cannot make us hammer the provider.

Errors: the provider unreachable, slow, answering 5xx or describing itself
wrongly is ``Unavailable`` (503: try again later); anything wrong with the code
or the token is ``Unauthenticated`` (401: log in again), and an assurance level
below the required one ``AssuranceTooLow`` (401 ``assurance_too_low``). Messages
name the check that failed and never carry token contents or personal data.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt

from direkt.server.errors import AssuranceTooLow, Unauthenticated, Unavailable
from direkt.server.identity.oidcjose import (
    ALLOWED_ALGORITHMS,
    KeyProblem,
    SigningKey,
    basic_authorization,
    cache_seconds,
    find_key,
    offered_method,
    token_request_auth,
)

__all__ = ["ALLOWED_ALGORITHMS", "LoginStart", "OidcClient", "OidcConfig", "Verified", "basic_authorization"]

REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat")
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
OPTIONAL_ENDPOINTS = ("userinfo_endpoint", "end_session_endpoint")
USERINFO_MODES = ("auto", "always", "never")
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
    identity number for e-ID brokers, a user name, UPN or HSA-id for staff
    identity providers. ``userinfo``: ``auto`` asks the userinfo endpoint only
    when the ID token lacks the subject claim, ``always`` every time, ``never``
    not at all. ``required_acr`` empty accepts any assurance level.
    """

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    scope: str = "openid"
    subject_claim: str = "personal_number"
    timeout_seconds: float = 10.0
    leeway_seconds: float = 30.0
    userinfo: str = "auto"
    acr_values: str = ""
    required_acr: tuple[str, ...] = ()
    client_auth: str = "client_secret_basic"
    signing_key: SigningKey | None = field(default=None, repr=False)
    cache_seconds: float = 3600.0
    key_refresh_seconds: float = 60.0
    post_logout_redirect_uri: str = ""


@dataclass(frozen=True)
class LoginStart:
    """Where to send the browser, and the secrets to keep until the callback."""

    url: str
    state: str
    nonce: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True)
class Verified:
    """A finished login: the verified claims, and the ID token (for ``id_token_hint`` at logout)."""

    claims: dict[str, Any]
    id_token: str = field(repr=False)


@dataclass(frozen=True)
class Provider:
    """The parts of the discovery document this client uses."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]
    userinfo_endpoint: str = ""
    end_session_endpoint: str = ""
    iss_parameter_supported: bool = False


class OidcClient:
    """Relying party for one provider; keep one per provider and process, so the caches hold."""

    def __init__(
        self, config: OidcConfig, http: httpx.AsyncClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self._http = http
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._clock = clock
        self._lock = asyncio.Lock()
        self._provider: Provider | None = None
        self._provider_until = -math.inf
        self._keys: list[dict[str, Any]] = []
        self._keys_until = -math.inf
        self._forced_refresh_at = -math.inf

    async def discover(self) -> Provider:
        """The discovery document and the key set, fetched when not cached or expired.

        Returns:
            The provider's endpoints.

        Raises:
            Unavailable: the provider cannot be reached in time, answers with an
                error, or its discovery document is incomplete, names another
                issuer, or uses plain HTTP off loopback.
        """
        if self._provider is None or self._clock() >= min(self._provider_until, self._keys_until):
            async with self._lock:  # concurrent logins share one fetch
                await self._refresh()
        assert self._provider is not None
        return self._provider

    async def _refresh(self) -> None:
        if self._provider is None or self._clock() >= self._provider_until:
            url = f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration"
            document, ttl = await self._get_json(url)
            provider = _provider_from(document, self.config.issuer)
            self._provider, self._provider_until = provider, self._clock() + ttl
            self._keys_until = -math.inf  # the key set's address may have changed with it
        if self._clock() >= self._keys_until:
            self._keys, ttl = await self._fetch_keys(self._provider.jwks_uri)
            self._keys_until = self._clock() + ttl

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
        if self.config.acr_values:
            params["acr_values"] = self.config.acr_values
        if login_hint:
            params["login_hint"] = login_hint
        endpoint = provider.authorization_endpoint
        url = f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
        return LoginStart(url=url, state=state, nonce=nonce, code_verifier=verifier)

    async def finish(
        self, code: str, *, code_verifier: str, nonce: str, response_issuer: str | None = None
    ) -> Verified:
        """Check the authorization response's issuer, redeem the code and verify the ID token.

        Args:
            code: the ``code`` query parameter of the callback.
            code_verifier: the PKCE verifier stored by ``begin``.
            nonce: the nonce stored by ``begin``.
            response_issuer: the callback's ``iss`` parameter (RFC 9207), None when absent.

        Returns:
            The verified claims (the ID token's, with userinfo's beside them where
            asked) and the ID token; the configured subject claim is present.

        Raises:
            AssuranceTooLow: the login's ``acr`` is not one of the required levels.
            Unauthenticated: the response names another issuer, the provider
                refused the code, or the ID token or userinfo fails a check
                (signature, algorithm, issuer, audience, expiry, nonce, ``sub``,
                identity claim).
            Unavailable: the provider cannot be reached in time, answers 5xx, or
                refuses this server's client credentials.
        """
        provider = await self.discover()
        self._check_response_issuer(provider, response_issuer)
        tokens = await self._redeem(provider, code, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise Unauthenticated("the identity provider's token response has no ID token")
        claims = await self._verify(id_token)
        self._check_claims(claims, nonce)
        claims = await self._with_userinfo(provider, tokens, claims)
        subject = claims.get(self.config.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated(f"the identity provider did not release the {self.config.subject_claim!r} claim")
        return Verified(claims, id_token)

    async def logout_url(self, id_token: str) -> str | None:
        """Where to send the browser to end the provider's session too (RP-initiated logout 1.0).

        Returns:
            The provider's ``end_session_endpoint`` with ``id_token_hint``,
            ``client_id`` and ``post_logout_redirect_uri``; None when the provider
            has none or cannot be reached (then the logout is local only).
        """
        try:
            provider = await self.discover()
        except Unavailable:
            return None
        if not provider.end_session_endpoint:
            return None
        params = {"id_token_hint": id_token, "client_id": self.config.client_id}
        if self.config.post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = self.config.post_logout_redirect_uri
        endpoint = provider.end_session_endpoint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    def _check_response_issuer(self, provider: Provider, response_issuer: str | None) -> None:
        # RFC 9207 2.4: a response from another provider (a mix-up attack) never reaches our token endpoint.
        if response_issuer is None:
            if provider.iss_parameter_supported:
                raise Unauthenticated("the authorization response lacks the issuer (iss) its provider promises")
            return
        if response_issuer != self.config.issuer:
            raise Unauthenticated("the authorization response names another issuer (iss)")

    async def _redeem(self, provider: Provider, code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": verifier,
        }
        method = offered_method(self.config.client_auth, provider.token_auth_methods)
        if method is None:
            raise Unavailable(f"the identity provider does not offer {self.config.client_auth} client authentication")
        try:
            extra_headers, extra_form = token_request_auth(
                method,
                self.config.client_id,
                self.config.client_secret,
                signing_key=self.config.signing_key,
                token_endpoint=provider.token_endpoint,
                now_s=int(time.time()),
            )
        except KeyProblem:
            raise Unavailable("this server's client authentication is not configured completely") from None
        headers = {"Accept": "application/json", **extra_headers}
        response = await self._send("POST", provider.token_endpoint, data=form | extra_form, headers=headers)
        return _token_response(response)

    async def _verify(self, id_token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("the ID token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALLOWED_ALGORITHMS:
            raise Unauthenticated("the ID token is not signed with an allowed algorithm (RS256, PS256, ES256, EdDSA)")
        key = await self._signing_key(header.get("kid"), algorithm)
        return _decode(id_token, key, algorithm, self.config)

    async def _signing_key(self, kid: object, algorithm: str) -> jwt.PyJWK:
        found = find_key(self._keys, kid, algorithm)
        if found is None and self._clock() - self._forced_refresh_at >= self.config.key_refresh_seconds:
            # The provider may have rotated its keys since we cached them: refetch,
            # but at most once per key_refresh_seconds, whatever tokens arrive.
            self._forced_refresh_at = self._clock()
            provider = await self.discover()
            async with self._lock:
                self._keys, ttl = await self._fetch_keys(provider.jwks_uri)
                self._keys_until = self._clock() + ttl
            found = find_key(self._keys, kid, algorithm)
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
        if self.config.required_acr and claims.get("acr") not in self.config.required_acr:
            raise AssuranceTooLow("the login's assurance level is too low; log in with a stronger e-ID")

    async def _with_userinfo(
        self, provider: Provider, tokens: Mapping[str, Any], claims: dict[str, Any]
    ) -> dict[str, Any]:
        mode = self.config.userinfo
        if mode == "never" or (mode == "auto" and claims.get(self.config.subject_claim)):
            return claims
        if not provider.userinfo_endpoint:
            if mode == "always":
                raise Unavailable("the identity provider has no userinfo endpoint")
            return claims
        access_token = tokens.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise Unauthenticated("the identity provider's token response has no access token for userinfo")
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = await self._send("GET", provider.userinfo_endpoint, headers=headers)
        userinfo = _userinfo_response(response)
        # OIDC Core 5.3.2: the answer must be about the user the ID token names (token substitution).
        sub = userinfo.get("sub")
        if not isinstance(sub, str) or not hmac.compare_digest(sub.encode(), str(claims.get("sub", "")).encode()):
            raise Unauthenticated("the userinfo response is about another user (sub mismatch)")
        return userinfo | claims  # the signed ID token's claims win

    async def _fetch_keys(self, jwks_uri: str) -> tuple[list[dict[str, Any]], float]:
        document, ttl = await self._get_json(jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
            raise Unavailable("the identity provider's key set (JWKS) is malformed")
        return keys, ttl

    async def _get_json(self, url: str) -> tuple[dict[str, Any], float]:
        response = await self._send("GET", url, headers={"Accept": "application/json"})
        if response.status_code != httpx.codes.OK:
            raise Unavailable(f"the identity provider answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise Unavailable("the identity provider answered with something other than JSON") from None
        if not isinstance(document, dict):
            raise Unavailable("the identity provider answered with something other than a JSON object")
        return document, cache_seconds(response.headers.get("cache-control", ""), self.config.cache_seconds)

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


def _provider_from(document: Mapping[str, Any], issuer: str) -> Provider:
    missing = [name for name in REQUIRED_METADATA if not isinstance(document.get(name), str)]
    if missing:
        raise Unavailable(f"the identity provider's discovery document lacks {', '.join(missing)}")
    # OIDC Discovery 4.3: the issuer in the document must be exactly the configured one.
    if document["issuer"] != issuer:
        raise Unavailable("the identity provider's discovery document names a different issuer")
    optional: dict[str, str] = {
        name: url for name in OPTIONAL_ENDPOINTS if isinstance(url := document.get(name), str) and url
    }
    endpoints = [document[name] for name in REQUIRED_METADATA] + list(optional.values())
    if not all(_secure_url(url) for url in endpoints):
        raise Unavailable("the identity provider's endpoints must use HTTPS")
    methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
    return Provider(
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        token_auth_methods=tuple(m for m in methods if isinstance(m, str)) if isinstance(methods, list) else (),
        userinfo_endpoint=optional.get("userinfo_endpoint", ""),
        end_session_endpoint=optional.get("end_session_endpoint", ""),
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
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


def _userinfo_response(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        raise Unauthenticated("the identity provider's userinfo endpoint refused the access token")
    if status != httpx.codes.OK:
        raise Unavailable(f"the identity provider's userinfo endpoint answered HTTP {status}")
    if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Unavailable("the identity provider's userinfo is not plain JSON (signed userinfo is not supported)")
    document = _json_object(response)
    if not document:
        raise Unavailable("the identity provider's userinfo is not a JSON object")
    return document


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
