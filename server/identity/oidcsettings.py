"""The OpenID Connect providers as the environment configures them, one client per audience.

``DIREKT_OIDC_*`` configures the citizens' e-ID broker, ``DIREKT_STAFF_OIDC_*``
the staff identity provider (the names and defaults are in docs/identity.md).
One ``OidcClient`` per audience and server process, so discovery and the key
set are fetched once per cache period, not per login.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from direkt.server.errors import ConfigError, NotFound
from direkt.server.identity.oidc import USERINFO_MODES, OidcClient, OidcConfig
from direkt.server.identity.oidcjose import CLIENT_AUTH_METHODS, KeyProblem, SigningKey, load_signing_key

if TYPE_CHECKING:
    from direkt.server.settings import Settings

AUDIENCES = {"citizen": "oidc", "staff": "staff_oidc"}  # audience -> settings prefix
# The Swedish e-ID assurance levels (Digg, "Tillitsramverk för Svensk e-legitimation"): 3 and the higher 4.
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"
LOA4 = "http://id.elegnamnden.se/loa/1.0/loa4"
PRODUCTION_ACR = (LOA3, LOA4)
ANY_ACR = "any"
_WORDS = re.compile(r"[\s,]+")


def oidc_configs(settings: Settings) -> dict[str, OidcConfig]:
    """The configured providers by audience ("citizen", "staff"); an audience without an issuer is absent.

    Raises:
        ConfigError: naming the variable: an unknown USERINFO or CLIENT_AUTH value,
            or a private key file that is missing or cannot sign.
    """
    return {
        audience: _config(settings, audience, prefix)
        for audience, prefix in AUDIENCES.items()
        if getattr(settings, f"{prefix}_issuer")
    }


def words(value: str) -> list[str]:
    """A list setting: values separated by spaces or commas."""
    return [word for word in _WORDS.split(value) if word]


def required_acr(value: str, *, production: bool) -> tuple[str, ...]:
    """The acceptable ``acr`` values: as listed; unset is LoA 3 or 4 in production, any in development."""
    listed = words(value)
    if listed == [ANY_ACR]:
        return ()
    if not listed:
        return PRODUCTION_ACR if production else ()
    return tuple(listed)


def _config(s: Settings, audience: str, prefix: str) -> OidcConfig:
    def setting(name: str) -> str:
        value: str = getattr(s, f"{prefix}_{name}")
        return value

    def variable(name: str) -> str:
        return f"DIREKT_{prefix.upper()}_{name.upper()}"

    scopes = words(setting("scopes"))
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    if setting("userinfo") not in USERINFO_MODES:
        raise ConfigError("environment", variable("userinfo"), f"use one of {', '.join(USERINFO_MODES)}")
    client_auth = setting("client_auth")
    if client_auth not in CLIENT_AUTH_METHODS:
        raise ConfigError("environment", variable("client_auth"), f"use one of {', '.join(CLIENT_AUTH_METHODS)}")
    signing_key = None
    if client_auth == "private_key_jwt":
        signing_key = _signing_key(setting("private_key_file"), setting("private_key_id"), variable("private_key_file"))
    required = required_acr(setting("required_acr"), production=s.production)
    path = "/auth/staff/oidc/callback" if audience == "staff" else "/auth/oidc/callback"
    return OidcConfig(
        issuer=setting("issuer"),
        client_id=setting("client_id"),
        client_secret=setting("client_secret"),
        redirect_uri=f"{s.base_url}{path}",
        scope=" ".join(scopes),
        subject_claim=setting("subject_claim"),
        userinfo=setting("userinfo"),
        acr_values=" ".join(words(setting("acr_values")) or required),
        required_acr=required,
        client_auth=client_auth,
        signing_key=signing_key,
        cache_seconds=s.oidc_cache_seconds,
        post_logout_redirect_uri=f"{s.base_url}{'/console/' if audience == 'staff' else '/'}",
    )


def _signing_key(path: str, kid: str, variable: str) -> SigningKey:
    if not path:
        raise ConfigError("environment", variable, "private_key_jwt needs the client's private key (a PEM file)")
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError("environment", variable, f"cannot read {path} ({exc.strerror})") from None
    try:
        return load_signing_key(pem, kid)
    except KeyProblem as exc:
        raise ConfigError("environment", variable, str(exc)) from None


class OidcClients:
    """One relying party per configured audience, made on first use and kept (their caches with them)."""

    def __init__(self, configs: dict[str, OidcConfig], http: httpx.AsyncClient) -> None:
        self._configs = configs
        self._http = http
        self._clients: dict[str, OidcClient] = {}

    def configured(self, audience: str) -> bool:
        return audience in self._configs

    def get(self, audience: str) -> OidcClient:
        """The client for ``audience``.

        Raises:
            NotFound: no provider is configured for it.
        """
        if audience not in self._configs:
            raise NotFound("no identity provider of this kind is configured")
        if audience not in self._clients:
            self._clients[audience] = OidcClient(self._configs[audience], self._http)
        return self._clients[audience]
