"""ICE servers from DIREKT_ICE_SERVERS and TURN REST API credentials (protocol §7, "ICE servers and TURN").

Credentials are checked against values computed here with ``hmac`` and
against one computed outside Python (``openssl dgst -sha1 -hmac``), in the
format coturn's ``use-auth-secret`` verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math

import pytest
from aiortc import RTCConfiguration
from aiortc.rtcicetransport import parse_stun_turn_uri
from hypothesis import given, settings
from hypothesis import strategies as st

from direkt.server.errors import ConfigError
from direkt.signaling.ice import IceConfig, rtc_configuration, turn_accepts, turn_credentials

SECRET = "north-turn-secret"
NOW_S = 1_795_339_141
STUN = "stun:stun.region.example:3478"
TURN_UDP = "turn:turn.region.example:3478?transport=udp"
TURN_TCP = "turns:turn.region.example:5349?transport=tcp"
# printf '%s' '1795340941:s-nurse-1' | openssl dgst -binary -sha1 -hmac north-turn-secret | base64
KNOWN_USERNAME = "1795340941:s-nurse-1"
KNOWN_CREDENTIAL = "XhKvuV/Xmu3JrUVzTzaij2xENwo="


def coturn_password(secret: str, username: str) -> str:
    """base64(HMAC-SHA1(secret, username)), as coturn computes it for use-auth-secret."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def config_error(urls: str, secret: str = "", ttl: float = 1800) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        IceConfig.parse(urls, secret, ttl)
    assert raised.value.code == "config_invalid"
    assert raised.value.key in str(raised.value)
    return raised.value


# -- parsing DIREKT_ICE_SERVERS --------------------------------------------------------------


@pytest.mark.parametrize("urls", ["", " ", ",", " , ,, "])
def test_nothing_configured_means_no_servers_at_all(urls: str) -> None:
    config = IceConfig.parse(urls, "", 1800)
    assert config.urls == ()
    assert config.public_servers() == []
    assert config.servers_for("s-nurse-1", NOW_S) == ([], NOW_S + 1800)
    configuration = rtc_configuration([])
    assert isinstance(configuration, RTCConfiguration)
    assert configuration.iceServers == []  # not aiortc's default public STUN server


def test_urls_are_split_on_commas_and_trimmed() -> None:
    config = IceConfig.parse(f" {STUN} ,, {TURN_UDP},{TURN_TCP} ", SECRET, 1800)
    assert config.urls == (STUN, TURN_UDP, TURN_TCP)
    assert config.stun_urls == (STUN,)
    assert config.turn_urls == (TURN_UDP, TURN_TCP)


@pytest.mark.parametrize(
    "url",
    [
        "stun:stun.region.example:19302",
        "stuns:stun.region.example",
        "turn:192.0.2.10",
        "turn:turn.region.example:3478?transport=tcp",
        "turns:turn.region.example:443?transport=tcp",
    ],
)
def test_accepted_urls_are_ones_aiortc_can_use(url: str) -> None:
    config = IceConfig.parse(url, SECRET, 1800)
    assert config.urls == (url,)
    parse_stun_turn_uri(url)  # server-side peers (the pre-call test) hand these to aiortc


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("stun.region.example:3478", id="no-scheme"),
        pytest.param("http://stun.region.example", id="http"),
        pytest.param("webrtc:stun.region.example", id="other-scheme"),
        pytest.param("stun :stun.region.example", id="space-before-colon"),
        pytest.param("stun:stun.region.example\t:3478", id="tab"),
        pytest.param("stun:stun.region example", id="inner-space"),
        pytest.param("stun:stun.region\nexample", id="inner-newline"),
        pytest.param("turn:" + "t" * 252, id="over-256-chars"),
    ],
)
def test_bad_urls_are_config_errors_naming_the_variable(url: str) -> None:
    error = config_error(f"{STUN},{url}", SECRET)
    assert error.key == "DIREKT_ICE_SERVERS"
    assert "DIREKT_ICE_SERVERS" in str(error)


def test_url_length_limit_is_inclusive() -> None:
    longest = "turn:" + "t" * 251
    assert IceConfig.parse(longest, SECRET, 1800).urls == (longest,)
    assert config_error(longest + "t", SECRET).key == "DIREKT_ICE_SERVERS"


@pytest.mark.parametrize("url", ["stun:", "turn:", "turn:?transport=udp", "stun::3478"])
def test_urls_without_a_host_are_config_errors(url: str) -> None:
    with pytest.raises(ValueError, match="malformed"):
        parse_stun_turn_uri(url)  # what aiortc makes of it
    assert config_error(url, SECRET).key == "DIREKT_ICE_SERVERS"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("stun:stun.region.example?transport=udp", id="stun-transport"),
        pytest.param("stuns:stun.region.example:5349?transport=tcp", id="stuns-transport"),
        pytest.param("turn:turn.region.example:99999", id="port-99999"),
    ],
)
def test_urls_no_ice_agent_accepts_are_config_errors(url: str) -> None:
    assert config_error(url, SECRET).key == "DIREKT_ICE_SERVERS"


@pytest.mark.parametrize("urls", [TURN_UDP, TURN_TCP, f"{STUN},{TURN_UDP}"])
def test_turn_urls_need_the_shared_secret(urls: str) -> None:
    error = config_error(urls, "")
    assert error.key == "DIREKT_TURN_SECRET"
    assert IceConfig.parse(urls, SECRET, 1800).turn_urls


def test_stun_alone_needs_no_secret() -> None:
    assert IceConfig.parse(STUN, "", 1800).urls == (STUN,)


@pytest.mark.parametrize(("ttl", "kept"), [(60, 60), (60.9, 60), (1800.0, 1800), (86_400, 86_400)])
def test_ttl_within_range_is_kept_in_whole_seconds(ttl: float, kept: int) -> None:
    assert IceConfig.parse(TURN_UDP, SECRET, ttl).turn_ttl_s == kept


@pytest.mark.parametrize("ttl", [-1, 0, 59, 59.9, 86_401, 10**9])
@pytest.mark.parametrize("urls", ["", TURN_UDP])
def test_ttl_out_of_range_is_a_config_error(ttl: float, urls: str) -> None:
    assert config_error(urls, SECRET, ttl).key == "DIREKT_TURN_TTL_SECONDS"


@pytest.mark.parametrize("ttl", [math.nan, math.inf, -math.inf])
def test_non_finite_ttl_is_a_config_error(ttl: float) -> None:
    assert config_error(TURN_UDP, SECRET, ttl).key == "DIREKT_TURN_TTL_SECONDS"


# -- servers for a party ---------------------------------------------------------------------


def test_servers_for_a_party_carry_fresh_turn_credentials() -> None:
    config = IceConfig.parse(f"{STUN},{TURN_UDP},{TURN_TCP}", SECRET, 1800)
    servers, expires = config.servers_for("s-nurse-1", NOW_S)
    assert expires == NOW_S + 1800
    stun, turn = servers
    assert stun == {"urls": [STUN]}  # no credentials on STUN
    assert turn["urls"] == [TURN_UDP, TURN_TCP]
    assert turn["username"] == f"{NOW_S + 1800}:s-nurse-1" == KNOWN_USERNAME
    assert turn["credential"] == coturn_password(SECRET, turn["username"]) == KNOWN_CREDENTIAL
    assert turn_accepts(SECRET, turn["username"], turn["credential"], NOW_S)


def test_each_party_gets_their_own_credentials() -> None:
    config = IceConfig.parse(TURN_UDP, SECRET, 600)
    (nurse,), _ = config.servers_for("s-nurse-1", NOW_S)
    (citizen,), _ = config.servers_for("c-7f3a9b", NOW_S)
    assert nurse["username"] == f"{NOW_S + 600}:s-nurse-1"
    assert citizen["username"] == f"{NOW_S + 600}:c-7f3a9b"
    assert nurse["credential"] != citizen["credential"]
    assert not turn_accepts(SECRET, citizen["username"], nurse["credential"], NOW_S)


def test_stun_only_servers_carry_no_credentials() -> None:
    servers, _ = IceConfig.parse(STUN, "", 1800).servers_for("s-nurse-1", NOW_S)
    assert servers == [{"urls": [STUN]}]


@pytest.mark.parametrize(
    ("urls", "public"),
    [("", []), (STUN, [{"urls": [STUN]}]), (TURN_UDP, []), (f"{TURN_UDP},{STUN}", [{"urls": [STUN]}])],
)
def test_public_servers_never_include_turn(urls: str, public: list[dict[str, object]]) -> None:
    assert IceConfig.parse(urls, SECRET, 1800).public_servers() == public


def test_rtc_configuration_has_exactly_the_given_servers() -> None:
    servers, _ = IceConfig.parse(f"{STUN},{TURN_UDP}", SECRET, 1800).servers_for("s-nurse-1", NOW_S)
    stun, turn = rtc_configuration(servers).iceServers
    assert (stun.urls, stun.username, stun.credential) == ([STUN], None, None)
    assert (turn.urls, turn.username, turn.credential) == ([TURN_UDP], KNOWN_USERNAME, KNOWN_CREDENTIAL)


# -- TURN REST API credentials ---------------------------------------------------------------


def test_turn_credentials_match_a_value_computed_outside_python() -> None:
    assert turn_credentials(SECRET, "s-nurse-1", 1_795_340_941) == (KNOWN_USERNAME, KNOWN_CREDENTIAL)


EXPIRES = NOW_S + 1800
USERNAME, CREDENTIAL = turn_credentials(SECRET, "s-nurse-1", EXPIRES)


@pytest.mark.parametrize(
    ("secret", "username", "credential", "now", "accepted"),
    [
        pytest.param(SECRET, USERNAME, CREDENTIAL, NOW_S, True, id="fresh"),
        pytest.param(SECRET, USERNAME, CREDENTIAL, EXPIRES - 1, True, id="last-second"),
        pytest.param(SECRET, USERNAME, CREDENTIAL, EXPIRES, False, id="at-expiry"),
        pytest.param(SECRET, USERNAME, CREDENTIAL, EXPIRES + 3600, False, id="after-expiry"),
        pytest.param("another-secret", USERNAME, CREDENTIAL, NOW_S, False, id="wrong-secret"),
        pytest.param(SECRET, f"{EXPIRES}:s-nurse-2", CREDENTIAL, NOW_S, False, id="changed-uid"),
        pytest.param(SECRET, f"{EXPIRES + 86_400}:s-nurse-1", CREDENTIAL, NOW_S, False, id="extended-expiry"),
        pytest.param(SECRET, USERNAME, CREDENTIAL[:-2] + "A=", NOW_S, False, id="changed-credential"),
        pytest.param(SECRET, USERNAME, "", NOW_S, False, id="empty-credential"),
    ],
)
def test_turn_accepts_what_coturn_would(secret: str, username: str, credential: str, now: int, accepted: bool) -> None:
    assert turn_accepts(secret, username, credential, now) is accepted


@pytest.mark.parametrize(
    "username",
    ["", ":s-nurse-1", "soon:s-nurse-1", f"-{EXPIRES}:s-nurse-1", f"{EXPIRES}.0:s-nurse-1", f" {EXPIRES}:s-nurse-1"],
)
def test_turn_refuses_malformed_usernames_even_with_a_matching_hmac(username: str) -> None:
    assert not turn_accepts(SECRET, username, coturn_password(SECRET, username), NOW_S)


@settings(max_examples=100, deadline=None)
@given(
    uid=st.text(min_size=1, max_size=40),
    now=st.integers(min_value=0, max_value=4_000_000_000),
    ttl=st.integers(min_value=60, max_value=86_400),
)
def test_issued_credentials_hold_until_they_expire(uid: str, now: int, ttl: int) -> None:
    (turn,), expires = IceConfig.parse(TURN_UDP, SECRET, ttl).servers_for(uid, now)
    assert expires == now + ttl
    assert turn["username"] == f"{expires}:{uid}"
    assert turn["credential"] == coturn_password(SECRET, turn["username"])
    assert turn_accepts(SECRET, turn["username"], turn["credential"], now)
    assert turn_accepts(SECRET, turn["username"], turn["credential"], expires - 1)
    assert not turn_accepts(SECRET, turn["username"], turn["credential"], expires)
    assert not turn_accepts(SECRET + "x", turn["username"], turn["credential"], now)
