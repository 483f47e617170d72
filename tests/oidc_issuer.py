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
discovery, rotate the key. And the parts of a real e-ID broker: scopes that
release the identity claim (``subject_scope``), the claim only from ``/userinfo``
(``subject_in``), ``acr``, PS256 and EdDSA keys, ``Cache-Control`` on discovery
and the JWKS (with fetch counters), ``private_key_jwt`` client assertions, RFC
9207 ``iss`` in the authorization response, and ``/logout`` (RP-initiated logout).

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
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from support import free_port, serve_in_thread

CLIENT_ID = "direkt-test"
CLIENT_SECRET = "s3cret:with/odd chars åäö"  # exercises the form-encoding of client_secret_basic
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the test reads the Location header
SUBJECT = "199001012385"  # a Skatteverket test personal identity number
SIGNINGS = ("rs256", "es256", "ps256", "eddsa", "foreign", "foreign-kid", "none", "hs256")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class Grant:
    """What ``/authorize`` remembers for ``/token`` under a one-time code."""

    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str | None
    subject: str
    scope: tuple[str, ...] = ("openid",)


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
        self._ps = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._ed = ed25519.Ed25519PrivateKey.generate()
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/userinfo", self.userinfo),
                Route("/logout", self.logout),
            ]
        )
        self.redirect_uris: set[str] = set()  # registered besides REDIRECT_URI (a server's own callbacks)
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
        self.discovery_fetches = 0
        self.token_auth_used: list[str] = []
        self.cache_control: str | None = None  # on discovery and the JWKS
        self.subject_scope: str | None = None  # the identity claim only when this scope was asked for
        self.subject_in = "id_token"  # or "userinfo": where the identity claim is released
        self.userinfo_claims: dict[str, Any] = {}  # merged over userinfo's answer (e.g. another sub)
        self.userinfo_calls = 0
        self.access_tokens: dict[str, Grant] = {}
        self.acr: str | None = None  # the acr claim; None leaves it out
        self.requests: list[dict[str, str]] = []  # every /authorize query
        self.client_public_key: Any = None  # set: private_key_jwt assertions verify against it
        self.assertion_ids: set[str] = set()
        self.iss_in_response = False  # RFC 9207: iss in the authorization response, promised in discovery
        self.response_iss: str | None = None  # another iss in the response than the issuer's own
        self.end_session = False  # offer end_session_endpoint
        self.logouts: list[dict[str, str]] = []

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

    def _cached(self, body: dict[str, Any]) -> Response:
        headers = {"Cache-Control": self.cache_control} if self.cache_control else None
        return JSONResponse(body, headers=headers)

    async def discovery(self, request: Request) -> Response:
        self.discovery_fetches += 1
        if self.status is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.status)
        extra: dict[str, Any] = {"end_session_endpoint": f"{self.url}/logout"} if self.end_session else {}
        if self.iss_in_response:
            extra["authorization_response_iss_parameter_supported"] = True
        return self._cached(
            extra
            | {
                "issuer": self.discovery_issuer or self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "userinfo_endpoint": f"{self.url}/userinfo",
                "id_token_signing_alg_values_supported": ["RS256", "ES256", "PS256", "EdDSA"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": self.auth_methods,
                "acr_values_supported": [
                    "http://id.elegnamnden.se/loa/1.0/loa2",
                    "http://id.elegnamnden.se/loa/1.0/loa3",
                ],
            }
        )

    async def jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        if self.status is not None:
            return JSONResponse({"error": "unavailable"}, status_code=self.status)
        rsa_jwk = {**RSAAlgorithm.to_jwk(self.rsa_key.public_key(), as_dict=True), "kid": self.kid, "use": "sig"}
        ec_jwk = {**ECAlgorithm.to_jwk(self._ec.public_key(), as_dict=True), "kid": "ec-1", "use": "sig"}
        ps_jwk = {**RSAAlgorithm.to_jwk(self._ps.public_key(), as_dict=True), "kid": "ps-1", "use": "sig"}
        ed_jwk = {**OKPAlgorithm.to_jwk(self._ed.public_key(), as_dict=True), "kid": "ed-1", "use": "sig"}
        keys = [{**rsa_jwk, "alg": "RS256"}, {**ec_jwk, "alg": "ES256"}, {**ps_jwk, "alg": "PS256"}, ed_jwk]
        return self._cached({"keys": keys})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        problem = self._authorize_problem(query)
        if problem:
            return PlainTextResponse(problem, status_code=400)  # never redirect to an unchecked URI
        self.requests.append(dict(query))
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            challenge=query["code_challenge"],
            nonce=query.get("nonce"),
            subject=query.get("login_hint") or self.subject,
            scope=tuple(query.get("scope", "").split()),
        )
        answer = {"code": code, "state": query.get("state", "")}
        if self.iss_in_response or self.response_iss:
            answer["iss"] = self.response_iss or self.url
        target = f"{query['redirect_uri']}?{urlencode(answer)}"
        return RedirectResponse(target, status_code=302)

    def _authorize_problem(self, query: Any) -> str:
        if query.get("client_id") != CLIENT_ID or query.get("redirect_uri") not in {REDIRECT_URI, *self.redirect_uris}:
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
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant
        return JSONResponse(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
             "id_token": self.id_token(grant)}
        )  # fmt: skip

    async def userinfo(self, request: Request) -> Response:
        self.userinfo_calls += 1
        grant = self.access_tokens.get(request.headers.get("authorization", "").removeprefix("Bearer "))
        if grant is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        claims = {"sub": self.pairwise_sub(grant.subject), **self.released(grant)}
        return JSONResponse(claims | self.userinfo_claims)

    async def logout(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.logouts.append(query)
        target = query.get("post_logout_redirect_uri")
        return RedirectResponse(target, 302) if target else PlainTextResponse("logged out")

    def _client_authenticated(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if form.get("client_assertion_type") == ASSERTION_TYPE:
            self.token_auth_used.append("private_key_jwt")
            return "private_key_jwt" in self.auth_methods and self._assertion_valid(form)
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

    def _assertion_valid(self, form: dict[str, str]) -> bool:
        """RFC 7523 3: signed by the registered key, iss = sub = the client, aud = /token, unexpired, used once."""
        if self.client_public_key is None or form.get("client_id", CLIENT_ID) != CLIENT_ID:
            return False
        try:
            claims = jwt.decode(
                form.get("client_assertion", ""),
                self.client_public_key,
                algorithms=["RS256", "ES256", "EdDSA"],
                audience=f"{self.url}/token",
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.InvalidTokenError:
            return False
        if claims["iss"] != CLIENT_ID or claims["sub"] != CLIENT_ID or claims["jti"] in self.assertion_ids:
            return False
        self.assertion_ids.add(claims["jti"])
        return True

    # --- tokens ------------------------------------------------------------------------------

    @staticmethod
    def pairwise_sub(subject: str) -> str:
        return f"sub-{hashlib.sha256(subject.encode()).hexdigest()[:16]}"

    def released(self, grant: Grant) -> dict[str, Any]:
        """The identity claim, when the login's scopes release it."""
        if self.subject_scope is not None and self.subject_scope not in grant.scope:
            return {}
        return {self.subject_claim: grant.subject}

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url, "aud": grant.client_id, "sub": self.pairwise_sub(grant.subject), "iat": now,
            "exp": now + 300, "auth_time": now,
        }  # fmt: skip
        if self.subject_in == "id_token":
            claims |= self.released(grant)
        if self.acr is not None:
            claims["acr"] = self.acr
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims |= self.claims
        for name in self.drop_claims:
            claims.pop(name, None)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign as ``self.signing`` says (see SIGNINGS)."""
        plain = {
            "rs256": (self.rsa_key, "RS256", self.kid),
            "es256": (self._ec, "ES256", "ec-1"),
            "ps256": (self._ps, "PS256", "ps-1"),
            "eddsa": (self._ed, "EdDSA", "ed-1"),
        }
        if self.signing in plain:
            key, algorithm, kid = plain[self.signing]
            return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})
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
