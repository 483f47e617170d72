"""A real third-party OpenID provider for tests: panva's ``oidc-provider`` from npm
(tests/oidcprovider/provider.mjs, installed by ``make oidcprovider``, which ``make test`` runs).

    with OidcProvider(provider_config(server_base)) as provider:
        provider.issuer               # http://127.0.0.1:<free port>
        provider.direkt_env()         # DIREKT_OIDC_* and DIREKT_STAFF_OIDC_* for a ServerProcess
        provider.rotate()             # new signing keys; returns their kids
        provider.configure(acr="…")   # change top-level config keys; sessions and codes survive
        provider.seen()               # the requests and events the provider saw

The configuration is plain JSON (see ``provider_config`` and docs/identity.md). Logging in needs no
human: ``through_provider`` walks an authorize URL to the relying party's callback URL, posting the
provider's login form with an account name, as a browser would; in Chromium the test fills the form.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from support import short_tmpdir, timeout

PROVIDER_DIR = Path(__file__).resolve().parent / "oidcprovider"
SCRIPT = PROVIDER_DIR / "provider.mjs"
NODE = shutil.which("node") or "/usr/bin/node"

CITIZEN_CLIENT = "direkt-citizens"
STAFF_CLIENT = "direkt-staff"
CLIENT_SECRET = "provider-s3cret:with/odd+chars %"  # client_secret_basic form-encodes it (RFC 6749 2.3.1)
# The Swedish OIDC profile (id.oidc.se): the personal identity number is a claim of its own scope.
PNR_SCOPE = "https://id.oidc.se/scope/naturalPersonNumber"
PNR_CLAIM = "https://id.oidc.se/claim/personalIdentityNumber"
LOA2 = "http://id.elegnamnden.se/loa/1.0/loa2"
LOA3 = "http://id.elegnamnden.se/loa/1.0/loa3"

ERIK = "199108312399"  # test personnummer (server/data/test_personnummer.txt), named so in the hub region file too
ALVA = "199001012385"  # test personnummer, not in the region file
CITIZENS = {
    ERIK: {"given_name": "Erik", "family_name": "Nilsson", "name": "Erik Nilsson"},
    ALVA: {"given_name": "Alva", "family_name": "Provsson", "name": "Alva Provsson"},
}
# Staff of tests/data/hub_region.toml as a region's identity provider names them: an id, an HSA-id and a
# UPN (issue 23 gives nurse-1 that HSA-id and nurse-2 that UPN, in lower case, in the region file).
STAFF = {
    "nurse-1": {"name": "Nora Nilsson", "hsa_id": "SE2321000131-P000000001", "upn": "Nora.Nilsson@region.example"},
    "nurse-2": {"name": "Olle Ek", "hsa_id": "SE2321000131-P000000002", "upn": "Olle.Ek@region.example"},
    "nurse-elsewhere": {"name": "Ulla Utanför", "hsa_id": "SE2321000131-P000000999", "upn": "Ulla@else.example"},
}


def installed() -> str:
    """Why the provider cannot run here, or "" when it can."""
    if not Path(NODE).exists():
        return "node is missing (Debian's nodejs; `make test` installs it as root, see scripts/ensure-node)"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return "oidc-provider is not installed: run `make oidcprovider` (npm ci in tests/oidcprovider)"
    return ""


def citizen_account(pnr: str, **extra: Any) -> dict[str, Any]:
    person = CITIZENS.get(pnr, {"given_name": "Test", "family_name": "Person", "name": "Test Person"})
    return {"claims": {"personal_number": pnr, PNR_CLAIM: pnr, **person}, **extra}


def staff_account(staff_id: str, **extra: Any) -> dict[str, Any]:
    person = STAFF[staff_id]
    hsa = person["hsa_id"]
    claims = {"preferred_username": staff_id, "name": person["name"], "hsa_id": hsa, "upn": person["upn"]}
    return {"claims": claims, **extra}


def provider_config(server_base: str, **changes: Any) -> dict[str, Any]:
    """The default configuration: a citizens' and a staff client of the direkt at ``server_base``.

    Claims: ``personal_number`` (direkt's default subject claim) and ``preferred_username`` come with
    ``openid``; the Swedish profile's personal identity number only with its own scope; names with
    ``profile``; ``hsa_id`` and ``upn`` with scopes of their own (``hsa``, ``upn``).
    Every login gets ``acr`` LoA 3. ``changes`` replace top-level keys.
    """
    base = server_base.rstrip("/")

    def client(client_id: str, callback: str) -> dict[str, Any]:
        return {
            "client_id": client_id,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"{base}{callback}"],
            "post_logout_redirect_uris": [f"{base}/", f"{base}/chat/", f"{base}/console/"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
        }

    config: dict[str, Any] = {
        "admin_token": secrets.token_urlsafe(16),
        "clients": [client(CITIZEN_CLIENT, "/auth/oidc/callback"), client(STAFF_CLIENT, "/auth/staff/oidc/callback")],
        "accounts": {
            **{pnr: citizen_account(pnr) for pnr in CITIZENS},
            **{staff_id: staff_account(staff_id) for staff_id in STAFF},
        },
        "claims": {
            "openid": ["sub", "personal_number", "preferred_username"],
            "profile": ["name", "given_name", "family_name"],
            PNR_SCOPE: [PNR_CLAIM],
            "hsa": ["hsa_id"],
            "upn": ["upn"],
        },
        "acr": LOA3,
        "acr_values": [LOA2, LOA3],
        "signing_algs": ["RS256", "ES256", "PS256", "EdDSA"],
        "id_token_claims": True,
    }
    return config | changes


class OidcProvider:
    """``node provider.mjs`` on a free loopback port, ready when it printed its issuer."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.workdir = short_tmpdir("dk-oidcp-")
        self.log_path = self.workdir / "provider.log"
        self.issuer = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OidcProvider:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        config_path = self.workdir / "config.json"
        config_path.write_text(json.dumps(self.config))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [NODE, str(SCRIPT), "--config", str(config_path), "--port", "0"],
                cwd=PROVIDER_DIR,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "NODE_ENV": "test"},
                start_new_session=True,
            )
        self.issuer = self._ready_line(timeout(30))

    def _ready_line(self, seconds: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        deadline, line = time.monotonic() + seconds, b""
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.stop()
                    raise RuntimeError(f"oidc-provider did not get ready in {seconds} s: {self.output()}")
                chunk = os.read(self.process.stdout.fileno(), 1)
                if not chunk:
                    self.stop()
                    raise RuntimeError(f"oidc-provider exited: {self.output()}")
                line += chunk
        match = re.fullmatch(r"READY (http://127\.0\.0\.1:\d+)\n", line.decode())
        assert match, line
        return match.group(1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout(10))
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    @property
    def relying_party_port(self) -> int:
        """The port of the direkt server the clients are registered for (their first redirect URI's)."""
        return int(urlsplit(self.config["clients"][0]["redirect_uris"][0]).port or 80)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def direkt_env(self) -> dict[str, str]:
        """Settings for a direkt ServerProcess using this provider for citizens and staff."""
        return {
            "DIREKT_OIDC_ISSUER": self.issuer,
            "DIREKT_OIDC_CLIENT_ID": CITIZEN_CLIENT,
            "DIREKT_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "DIREKT_STAFF_OIDC_ISSUER": self.issuer,
            "DIREKT_STAFF_OIDC_CLIENT_ID": STAFF_CLIENT,
            "DIREKT_STAFF_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        }

    def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.config['admin_token']}"}
        response = httpx.request(method, self.issuer + path, json=body, headers=headers, timeout=timeout(10))
        assert response.status_code == 200, response.text
        return response.json()

    def rotate(self, keys: list[dict[str, Any]] | None = None) -> list[str]:
        """Switch to new signing keys (fresh ones of the configured algorithms, or ``keys``): the old ones
        are no longer published. Returns the new key ids."""
        return list(self._admin("POST", "/_test/rotate", {"keys": keys} if keys else {})["kids"])

    def configure(self, **changes: Any) -> None:
        """Replace top-level configuration keys (``provider_config``'s) on the running provider."""
        self._admin("POST", "/_test/config", changes)

    def reset(self) -> None:
        """Back to the configuration it started with (keeping the current keys), the log emptied."""
        self._admin("POST", "/_test/reset")

    def seen(self, path: str | None = None) -> list[dict[str, Any]]:
        """The requests (method, path, query, auth scheme) and events (event, client, error) so far."""
        entries: list[dict[str, Any]] = self._admin("GET", "/_test/requests")
        return [entry for entry in entries if path is None or entry.get("path") == path]

    def public_keys(self) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = httpx.get(f"{self.issuer}/jwks", timeout=timeout(10)).json()["keys"]
        return keys


# -- what a browser does at the provider, over HTTP ----------------------------------------------


async def through_provider(
    http: httpx.AsyncClient, url: str, issuer: str, account: str | None = None, *, cancel: bool = False
) -> str:
    """Follow ``url`` (an authorize or end-session URL) through the provider, logging in as ``account``
    on its login form (or pressing its Cancel button) and submitting its logout form, until it sends
    the browser elsewhere.

    Returns:
        The URL the provider redirects to last (the relying party's callback), or "" when it ends on a
        page of its own (the signed-out page).
    """
    response = await http.get(url)
    for _ in range(12):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if not location.startswith(issuer + "/"):
                return location
            response = await http.get(location)
        elif response.status_code == 200 and 'name="account"' in response.text:
            if cancel:
                response = await http.post(urljoin(str(response.url), _form_action(response.text, "/abort")))
                continue
            assert account is not None, "the provider asks who logs in"
            action = urljoin(str(response.url), _form_action(response.text, "/login"))
            response = await http.post(action, data={"account": account})
        elif response.status_code == 200 and "op.logoutForm" in response.text:
            action = urljoin(str(response.url), _form_action(response.text))
            response = await http.post(action, data=_hidden(response.text))
        elif response.status_code == 200:
            return ""
        else:
            raise AssertionError(f"the provider answered {response.status_code}: {response.text[:500]}")
    raise AssertionError("too many steps at the provider")


async def shows_login_form(http: httpx.AsyncClient, url: str, issuer: str) -> bool:
    """Whether following ``url`` through the provider stops at its login form (True) or the provider
    sends the browser back at once, logged in silently by its own session (False)."""
    response = await http.get(url)
    for _ in range(12):
        if not response.is_redirect:
            return response.status_code == 200 and 'name="account"' in response.text
        location = urljoin(str(response.url), response.headers["location"])
        if not location.startswith(issuer + "/"):
            return False
        response = await http.get(location)
    raise AssertionError("too many steps at the provider")


def _form_action(html: str, ending: str = "") -> str:
    actions = [a for a in re.findall(r'<form[^>]*action="([^"]+)"', html) if a.endswith(ending)]
    assert actions, html
    return actions[0]


def _hidden(html: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return dict(fields)


def callback_of(location: str, server_base: str) -> str:
    """The relying-party callback path of a provider redirect, checked to be on ``server_base``."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == server_base, location
    return parts.path
