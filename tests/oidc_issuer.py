"""A small but real OpenID Connect provider for tests, on loopback only.

Discovery, a JWKS with an RSA key (and an EC key) generated at start, an
``/authorize`` that approves at once (redirecting to the registered
``redirect_uri`` with ``code`` and ``state``; the subject is the ``login_hint``
or ``Issuer.subject``), and a ``/token`` endpoint that checks the client
credentials (``client_secret_basic`` with RFC 6749 form-encoding, or
``client_secret_post``), the one-time code, the ``redirect_uri`` and the PKCE
verifier, and answers with an ID token signed RS256.

Knobs for negative tests are plain attributes (see ``Issuer.reset``): override
or drop claims, sign with another key, with ``alg: none`` or HS256, answer
every request with a status, delay the token endpoint, name another issuer in
discovery, rotate the key.

    with Issuer() as issuer:
        issuer.url  # http://127.0.0.1:<free port>
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from support import free_port, serve_in_thread

CLIENT_ID = "direkt-test"
CLIENT_SECRET = "s3cret:with/odd chars åäö"  # exercises the form-encoding of client_secret_basic
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the Location header
SUBJECT = "199001012385"  # a Skatteverket test personal identity number
SIGNINGS = ("rs256", "es256", "foreign", "foreign-kid", "none", "hs256")


@dataclass(frozen=True)
class Grant:
    """What ``/authorize`` remembers for ``/token`` under a one-time code."""

    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    subject: str


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    """A JWS in compact form, for the algorithms PyJWT rightly refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


class Issuer:
    """The provider; ``start``/``stop`` (or ``with``) run it under uvicorn in a thread."""

    def __init__(self, *, subject_claim: str = "personal_number") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.subject_claim = subject_claim
        self._rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._ec = ec.generate_private_key(ec.SECP256R1())
        self._foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )
        self._running = contextlib.ExitStack()

    def reset(self) -> None:
        """Back to a well-behaved provider (keys as generated at start)."""
        self.subject = SUBJECT
        self.rsa_key, self.kid = self._rsa, "rsa-1"
        self.codes: dict[str, Grant] = {}
        self.discovery_issuer: str | None = None  # name another issuer in discovery
        self.auth_methods = ["client_secret_basic", "client_secret_post"]
        self.status: int | None = None  # answer every request with this status
        self.token_delay = 0.0  # seconds before /token answers
        self.signing = "rs256"  # one of SIGNINGS
        self.claims: dict[str, Any] = {}  # merged over the standard claims
        self.drop_claims: set[str] = set()
        self.jwks_fetches = 0
        self.token_auth_used: list[str] = []

    def rotate_key(self) -> None:
        """Sign with a new RSA key under a new kid; the JWKS then publishes only the new key."""
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"rsa-{secrets.token_hex(4)}"

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        self._running.enter_context(serve_in_thread(self.app, self.port, "OIDC issuer", http="h11"))

    def stop(self) -> None:
        self._running.close()

    def __enter__(self) -> Issuer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- endpoints ---------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        if self.status is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.status)
        return JSONResponse(
            {
                "issuer": self.discovery_issuer or self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": self.auth_methods,
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        if self.status is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.status)
        rsa_jwk = {**RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True), "kid": self.kid, "use": "sig"}
        ec_jwk = {**ECAlgorithm.to_jwk(self._ec.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"}
        return JSONResponse({"keys": [{**rsa_jwk, "alg": "RS256"}, {**ec_jwk, "alg": "ES256"}]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        problem = self._authorize_problem(query)
        if problem:
            return PlainTextResponse(problem, status_code=400)  # never redirect to an unchecked URI
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            challenge=query["code_challenge"],
            nonce=query.get("nonce"),
            subject=query.get("login_hint") or self.subject,
        )
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return RedirectResponse(target, status_code=302)

    def _authorize_problem(self, query: Any) -> str:
        if query.get("client_id") != CLIENT_ID or query.get("redirect_uri") != REDIRECT_URI:
            return "unknown client or redirect_uri"
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            return "response_type must be code and scope must include openid"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "PKCE with S256 is required"
        return ""

    async def token(self, request: Request) -> Response:
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.status is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.status)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if not self._client_authenticated(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(form.get("code", ""), None)  # one-time: a replay finds nothing
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if form.get("redirect_uri") != grant.redirect_uri or not hmac.compare_digest(challenge, grant.challenge):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
             "id_token": self.id_token(grant)}
        )  # fmt: skip

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            method = "client_secret_basic"
            raw = base64.b64decode(header.removeprefix("Basic ")).decode()
            client_id, _, secret = (unquote(part) for part in raw.partition(":"))
        else:
            method = "client_secret_post"
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        self.token_auth_used.append(method)
        return (
            method in self.auth_methods
            and client_id == CLIENT_ID
            and hmac.compare_digest(secret.encode(), CLIENT_SECRET.encode())
        )

    # --- tokens ------------------------------------------------------------------------------

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        pairwise_sub = f"sub-{hashlib.sha256(grant.subject.encode()).hexdigest()[:16]}"
        claims: dict[str, Any] = {
            "iss": self.url, "aud": grant.client_id, "sub": pairwise_sub, "iat": now, "exp": now + 300,
            "auth_time": now, self.subject_claim: grant.subject,
        }  # fmt: skip
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims |= self.claims
        for name in self.drop_claims:
            claims.pop(name, None)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign as ``self.signing`` says (see SIGNINGS)."""
        if self.signing == "rs256":
            return jwt.encode(claims, self.rsa_key, algorithm="RS256", headers={"kid": self.kid})
        if self.signing == "es256":
            return jwt.encode(claims, self._ec, algorithm="ES256", headers={"kid": "ec-1"})
        if self.signing in {"foreign", "foreign-kid"}:
            kid = self.kid if self.signing == "foreign" else "not-published"
            return jwt.encode(claims, self._foreign, algorithm="RS256", headers={"kid": kid})
        if self.signing == "none":
            return compact({"alg": "none", "typ": "JWT", "kid": self.kid}, claims, lambda _: b"")
        if self.signing == "hs256":  # key confusion: the public key used as an HMAC secret
            secret = self.rsa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            header = {"alg": "HS256", "typ": "JWT", "kid": self.kid}
            return compact(header, claims, lambda data: hmac.new(secret, data, hashlib.sha256).digest())
        raise ValueError(f"unknown signing {self.signing!r}; expected one of {SIGNINGS}")
