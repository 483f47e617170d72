"""The pure parts of the OpenID Connect configuration: the DIREKT_OIDC_* and
DIREKT_STAFF_OIDC_* settings, the caching period from Cache-Control, the client's
own signing key, and staff identities (HSA-id, UPN) in the region file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from support import HUB_CONFIG

from direkt.server.errors import ConfigError
from direkt.server.identity.oidcjose import KeyProblem, cache_seconds, find_key, load_signing_key, offered_method
from direkt.server.identity.oidcsettings import LOA3, LOA4, required_acr, words
from direkt.server.region import load_region_config, login_key, parse_region_config
from direkt.server.settings import Settings

ISSUER = "https://broker.example"
PNR_SCOPE = "https://id.oidc.se/scope/naturalPersonNumber"


def settings(**env: str) -> Settings:
    return Settings.from_env({"DIREKT_OIDC_ISSUER": ISSUER, **env})


# --- settings ---------------------------------------------------------------------------------------


def test_defaults_ask_for_openid_and_no_assurance_in_development() -> None:
    config = settings().oidc_configs["citizen"]
    assert (config.scope, config.userinfo, config.client_auth) == ("openid", "auto", "client_secret_basic")
    assert (config.acr_values, config.required_acr) == ("", ())
    assert config.redirect_uri == "http://127.0.0.1:8000/auth/oidc/callback"
    assert config.post_logout_redirect_uri == "http://127.0.0.1:8000/"
    assert config.cache_seconds == 3600
    assert "staff" not in settings().oidc_configs


def test_production_requires_loa3_or_4_by_default() -> None:
    production = {
        "DIREKT_ENV": "production",
        "DIREKT_SECRET_KEY": "k" * 32,
        "DIREKT_PUBLIC_URL": "https://direkt.example",
    }
    config = settings(**production).oidc_configs["citizen"]
    assert config.required_acr == (LOA3, LOA4)
    assert config.acr_values == f"{LOA3} {LOA4}"
    assert config.redirect_uri == "https://direkt.example/auth/oidc/callback"
    assert settings(**production, DIREKT_OIDC_REQUIRED_ACR="any").oidc_configs["citizen"].required_acr == ()


def test_the_swedish_profile_configuration() -> None:
    config = settings(
        DIREKT_OIDC_SCOPES=f"{PNR_SCOPE} profile",
        DIREKT_OIDC_SUBJECT_CLAIM="https://id.oidc.se/claim/personalIdentityNumber",
        DIREKT_OIDC_REQUIRED_ACR=LOA3,
        DIREKT_OIDC_CACHE_SECONDS="600",
    ).oidc_configs["citizen"]
    assert config.scope == f"openid {PNR_SCOPE} profile"  # openid first, always
    assert (config.acr_values, config.required_acr) == (LOA3, (LOA3,))
    assert config.cache_seconds == 600


def test_staff_settings_are_their_own() -> None:
    s = settings(
        DIREKT_STAFF_OIDC_ISSUER="https://login.region.example",
        DIREKT_STAFF_OIDC_SUBJECT_CLAIM="upn",
        DIREKT_STAFF_OIDC_SCOPES="openid,profile",
        DIREKT_STAFF_OIDC_CLIENT_AUTH="client_secret_post",
    )
    staff = s.oidc_configs["staff"]
    assert (staff.subject_claim, staff.scope, staff.client_auth) == ("upn", "openid profile", "client_secret_post")
    assert staff.redirect_uri == "http://127.0.0.1:8000/auth/staff/oidc/callback"
    assert staff.post_logout_redirect_uri == "http://127.0.0.1:8000/console/"
    assert s.oidc_configs["citizen"].client_auth == "client_secret_basic"


@pytest.mark.parametrize(
    ("env", "variable", "problem"),
    [
        ({"DIREKT_OIDC_USERINFO": "sometimes"}, "DIREKT_OIDC_USERINFO", "auto, always, never"),
        ({"DIREKT_OIDC_CLIENT_AUTH": "tls_client_auth"}, "DIREKT_OIDC_CLIENT_AUTH", "private_key_jwt"),
        ({"DIREKT_OIDC_CLIENT_AUTH": "private_key_jwt"}, "DIREKT_OIDC_PRIVATE_KEY_FILE", "PEM file"),
        (
            {"DIREKT_OIDC_CLIENT_AUTH": "private_key_jwt", "DIREKT_OIDC_PRIVATE_KEY_FILE": "/nonexistent/key.pem"},
            "DIREKT_OIDC_PRIVATE_KEY_FILE",
            "cannot read",
        ),
        ({"DIREKT_OIDC_CACHE_SECONDS": "0"}, "DIREKT_OIDC_CACHE_SECONDS", "positive"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**env)
    assert variable in str(caught.value) and problem in str(caught.value)


def test_a_private_key_file_is_read_at_start(tmp_path: Path) -> None:
    key = tmp_path / "client.pem"
    key.write_bytes(pem_of(ec.generate_private_key(ec.SECP256R1())))
    s = settings(
        DIREKT_OIDC_CLIENT_AUTH="private_key_jwt",
        DIREKT_OIDC_PRIVATE_KEY_FILE=str(key),
        DIREKT_OIDC_PRIVATE_KEY_ID="k1",
    )
    signing = s.oidc_configs["citizen"].signing_key
    assert signing is not None and (signing.algorithm, signing.kid) == ("ES256", "k1")
    key.write_text("not a key")
    with pytest.raises(ConfigError, match="PEM private key"):
        settings(DIREKT_OIDC_CLIENT_AUTH="private_key_jwt", DIREKT_OIDC_PRIVATE_KEY_FILE=str(key))


def test_lists_take_spaces_or_commas() -> None:
    assert words(" a, b  c,,d ") == ["a", "b", "c", "d"]
    assert required_acr("", production=False) == ()
    assert required_acr("any", production=True) == ()
    assert required_acr(f"{LOA3},{LOA4}", production=False) == (LOA3, LOA4)


# --- keys and caching -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("", 3600),
        ("public, max-age=600", 600),
        ('max-age="900"', 900),
        ("max-age=5", 60),  # at least a minute
        ("max-age=9999999", 86400),  # at most a day
        ("no-store", 60),
        ("private, no-cache", 60),
        ("s-maxage=10", 3600),  # not ours
    ],
)
def test_cache_seconds(header: str, seconds: float) -> None:
    assert cache_seconds(header, 3600) == seconds


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_signing_keys_by_type() -> None:
    assert load_signing_key(pem_of(rsa.generate_private_key(public_exponent=65537, key_size=2048))).algorithm == "RS256"
    assert load_signing_key(pem_of(ec.generate_private_key(ec.SECP256R1()))).algorithm == "ES256"
    assert load_signing_key(pem_of(ed25519.Ed25519PrivateKey.generate())).algorithm == "EdDSA"


@pytest.mark.parametrize(
    ("pem", "problem"),
    [
        (b"not a key", "PEM private key"),
        (pem_of(ec.generate_private_key(ec.SECP384R1())), "P-256"),
        (pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"pw"),
            ),
            "PEM private key",
        ),
    ],
    ids=["garbage", "p384", "rsa1024", "encrypted"],
)
def test_unusable_signing_keys(pem: bytes, problem: str) -> None:
    with pytest.raises(KeyProblem, match=problem):
        load_signing_key(pem)


def test_find_key_checks_type_curve_and_kid() -> None:
    keys = [
        {"kty": "EC", "crv": "P-384", "kid": "a"},
        {"kty": "EC", "crv": "P-256", "kid": "b"},
        {"kty": "OKP", "crv": "X25519", "kid": "c"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "d"},
        {"kty": "RSA", "kid": "e", "use": "enc"},
        {"kty": "RSA", "kid": "f", "alg": "RS256"},
    ]
    assert find_key(keys, "b", "ES256") == keys[1]
    assert find_key(keys, "a", "ES256") is None
    assert find_key(keys, "c", "EdDSA") is None
    assert find_key(keys, None, "EdDSA") == keys[3]
    assert find_key(keys, "e", "RS256") is None
    assert find_key(keys, "f", "PS256") is None  # published for RS256 only
    assert find_key(keys, None, "RS256") == keys[5]


def test_offered_method() -> None:
    assert offered_method("client_secret_basic", ("client_secret_post",)) == "client_secret_post"
    assert offered_method("client_secret_post", ("client_secret_basic",)) is None
    assert offered_method("private_key_jwt", ("private_key_jwt",)) == "private_key_jwt"


# --- staff identities -------------------------------------------------------------------------------


def test_staff_are_found_by_id_hsa_id_or_upn_in_any_case() -> None:
    config = load_region_config(HUB_CONFIG)
    for claim in ("nurse-1", " NURSE-1 ", "se2321000131-p000000001", "SE2321000131-P000000001"):
        found = config.staff_by_login(claim)
        assert found is not None and found.id == "nurse-1", claim
    found = config.staff_by_login("Olle.Ek@Region.Example")
    assert found is not None and found.id == "nurse-2"
    assert config.staff_by_login("nobody@region.example") is None
    assert login_key(" Cecilia.Berg@region.example ") == "cecilia.berg@region.example"


def region_with(staff: str) -> str:
    return f"""\
[regions.a]
name = "A"

[[units]]
id = "vc-a"
region = "a"
name = "VC A"
kind = "primary_care"
skills = ["nurse"]
hours = {{ daily = "08:00-16:00" }}

[[units]]
id = "1177-a"
region = "a"
name = "1177 A"
kind = "1177"
skills = ["nurse"]
hours = {{ daily = "08:00-16:00" }}

[[staff]]
id = "anna"
name = "Anna"
profession = "nurse"
units = ["vc-a"]
max_chats = 2
hsa_id = "SE2321000131-P000000001"
upn = "anna@region.example"

{staff}
"""


def member(extra: str, *, active: bool = True) -> str:
    return (
        f'[[staff]]\nid = "bo"\nname = "Bo"\nprofession = "nurse"\nunits = ["vc-a"]\nmax_chats = 2\n'
        f"active = {'true' if active else 'false'}\n{extra}\n"
    )


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ('hsa_id = "2321000131-P1"', "staff[1].hsa_id", "not an HSA-id"),
        ('hsa_id = "SE2321000131-P 1"', "staff[1].hsa_id", "not an HSA-id"),
        ('upn = "bo"', "staff[1].upn", "not a UPN"),
        ('upn = "bo@@region.example"', "staff[1].upn", "not a UPN"),
        ('hsa_id = "se2321000131-p000000001"', "staff[1].hsa_id", "already names staff member 'anna'"),
        ('upn = "ANNA@region.example"', "staff[1].upn", "already names staff member 'anna'"),
        ('upn = "Anna@region.example"\nhsa_id = "SE2321000131-P9"', "staff[1].upn", "already names"),
    ],
)
def test_staff_identities_are_validated_and_unique(extra: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_region_config(region_with(member(extra)).encode(), "r.toml")
    assert key in str(caught.value) and problem in str(caught.value)


def test_a_deactivated_member_keeps_their_identities_but_cannot_log_in() -> None:
    config = parse_region_config(region_with(member('upn = "bo@region.example"', active=False)).encode(), "r.toml")
    assert config.staff_by_login("bo@region.example") is None
    deactivated_twin = region_with(member('upn = "ANNA@region.example"', active=False))
    with pytest.raises(ConfigError, match="already names staff member 'anna'"):  # unique, active or not
        parse_region_config(deactivated_twin.encode(), "r.toml")
