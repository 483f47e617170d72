"""The JOSE parts of the OpenID Connect relying party, as pure functions.

* Which published key may verify an ID token: asymmetric algorithms only
  (RS256, PS256, ES256 on P-256, EdDSA on Ed25519), never ``none`` and never
  HMAC, where a public key could be abused as a shared secret.
* Client authentication at the token endpoint (OIDC Core 9):
  ``client_secret_basic`` (RFC 6749 2.3.1, form-encoded before base64),
  ``client_secret_post``, or ``private_key_jwt`` (a client assertion JWT,
  RFC 7523 2.2 and 3: ``iss`` = ``sub`` = the client id, ``aud`` = the token
  endpoint, a fresh ``jti``, a short ``exp``).
* How long a discovery document or key set may be cached (``Cache-Control``).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

# Algorithm -> (JWK key type, curve or None).
ALLOWED_ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "EdDSA": ("OKP", "Ed25519"),
}
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 60
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,9})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class KeyProblem(ValueError):
    """The configured private key cannot sign client assertions (message names why)."""


@dataclass(frozen=True)
class SigningKey:
    """The client's own key for ``private_key_jwt``; ``algorithm`` follows from the key type."""

    key: Any = field(repr=False)
    algorithm: str
    kid: str = ""


def find_key(keys: list[dict[str, Any]], kid: object, algorithm: str) -> dict[str, Any] | None:
    """The one published key that can have signed a token with this header, or None.

    Args:
        keys: the provider's JWKS ``keys``.
        kid: the token header's ``kid`` (None when absent: then exactly one key must fit).
        algorithm: the token header's ``alg``; one of ``ALLOWED_ALGORITHMS``.
    """
    kty, curve = ALLOWED_ALGORITHMS[algorithm]
    candidates = [
        key
        for key in keys
        if key.get("kty") == kty
        and (curve is None or key.get("crv") == curve)
        and key.get("use", "sig") == "sig"
        and key.get("alg", algorithm) == algorithm
        and (kid is None or key.get("kid") == kid)
    ]
    return candidates[0] if len(candidates) == 1 else None


def cache_seconds(cache_control: str, default: float, *, floor: float = 60.0, ceiling: float = 86400.0) -> float:
    """How long to keep a provider document: its ``max-age``, else ``default``, within [floor, ceiling].

    ``no-store``/``no-cache`` count as the floor: a provider asking for no caching
    still gets at most one fetch a minute from each server process.
    """
    if _NO_CACHE.search(cache_control):
        return floor
    found = _MAX_AGE.search(cache_control)
    seconds = float(found[1]) if found else default
    return min(max(seconds, floor), ceiling)


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``client_secret_basic`` header value.

    RFC 6749 2.3.1: id and secret are form-urlencoded before base64, so a secret
    containing ``:`` or non-ASCII characters survives.
    """
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def load_signing_key(pem: bytes, kid: str = "") -> SigningKey:
    """A PEM private key (PKCS#8 or traditional, unencrypted) for client assertions.

    RSA signs RS256, EC P-256 signs ES256, Ed25519 signs EdDSA.

    Raises:
        KeyProblem: not a PEM private key, encrypted, or of another type or curve.
    """
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyProblem("not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise KeyProblem("an RSA key needs at least 2048 bits")
        return SigningKey(key, "RS256", kid)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyProblem("an EC key must be on P-256 (ES256)")
        return SigningKey(key, "ES256", kid)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return SigningKey(key, "EdDSA", kid)
    raise KeyProblem("use an RSA, EC P-256 or Ed25519 key")


def client_assertion(key: SigningKey, client_id: str, token_endpoint: str, now_s: int) -> str:
    """A ``private_key_jwt`` assertion (RFC 7523 3), valid for a minute and used once."""
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "jti": secrets.token_urlsafe(24),
        "iat": now_s,
        "exp": now_s + ASSERTION_LIFETIME_S,
    }
    headers = {"kid": key.kid} if key.kid else None
    return jwt.encode(claims, key.key, algorithm=key.algorithm, headers=headers)


def token_request_auth(
    method: str,
    client_id: str,
    client_secret: str,
    *,
    signing_key: SigningKey | None,
    token_endpoint: str,
    now_s: int,
) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and form fields that authenticate this client at the token endpoint.

    Args:
        method: one of ``CLIENT_AUTH_METHODS``.

    Returns:
        (headers, form fields) to add to the token request.
    """
    if method == "client_secret_basic":
        return {"Authorization": basic_authorization(client_id, client_secret)}, {}
    if method == "client_secret_post":
        return {}, {"client_id": client_id, "client_secret": client_secret}
    if method == "private_key_jwt" and signing_key is not None:
        assertion = client_assertion(signing_key, client_id, token_endpoint, now_s)
        return {}, {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    raise KeyProblem(f"client authentication {method!r} is not possible with this configuration")


def offered_method(configured: str, offered: Mapping[str, Any] | tuple[str, ...]) -> str | None:
    """The method to use given what discovery offers; None when the provider does not offer it.

    ``client_secret_basic`` (the default) falls back to ``client_secret_post`` for a
    provider that offers only that; the other methods are used only as configured.
    """
    methods = tuple(offered)
    if configured in methods:
        return configured
    if configured == "client_secret_basic" and "client_secret_post" in methods:
        return "client_secret_post"
    return None
