"""Runtime settings: defaults, environment variables, command-line overrides,
errors that name the variable, and the environment handed to worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from direkt.server.errors import ConfigError
from direkt.server.region import DEMO_CONFIG
from direkt.server.settings import Settings


def test_defaults_with_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.workers == 1
    assert settings.redis_url == ""  # embedded Redis
    assert settings.data_dir == Path("var")
    assert settings.aof_fsync == "everysec"
    assert settings.region_config == DEMO_CONFIG
    assert settings.environment == "development"
    assert settings.lease_seconds == 60.0
    assert settings.log_level == "info"
    assert settings.demo_cases is False
    assert settings == Settings()


def test_environment_variables_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "DIREKT_HOST": "0.0.0.0",
            "DIREKT_PORT": "8080",
            "DIREKT_WORKERS": "4",
            "DIREKT_AOF_FSYNC": "always",
            "REDIS_URL": "redis://cache.example:6379/0",
            "DIREKT_DATA_DIR": "/srv/direkt",
            "DIREKT_REGION_CONFIG": "/etc/direkt/region.toml",
            "DIREKT_LEASE_SECONDS": "30",
            "DIREKT_LOG_LEVEL": "debug",
            "DIREKT_DEMO_CASES": "1",
            "UNRELATED": "ignored",
        }
    )
    assert settings.host == "0.0.0.0"
    assert settings.port == 8080
    assert settings.workers == 4
    assert settings.aof_fsync == "always"
    assert settings.redis_url == "redis://cache.example:6379/0"
    assert settings.data_dir == Path("/srv/direkt")
    assert settings.region_config == Path("/etc/direkt/region.toml")
    assert settings.lease_seconds == 30.0
    assert settings.log_level == "debug"
    assert settings.demo_cases is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("0", False), ("false", False), ("no", False)],
)
def test_demo_cases_flag(raw: str, expected: bool) -> None:
    assert Settings.from_env({"DIREKT_DEMO_CASES": raw}).demo_cases is expected


PRODUCTION = {"DIREKT_ENV": "production", "DIREKT_SECRET_KEY": "k" * 40, "DIREKT_PUBLIC_URL": "https://direkt.example"}


def test_documented_environment_variable_selects_production() -> None:
    assert Settings.from_env(PRODUCTION).environment == "production"


@pytest.mark.parametrize(
    ("missing", "problem"),
    [("DIREKT_SECRET_KEY", "random key"), ("DIREKT_PUBLIC_URL", "https://")],
)
def test_production_refuses_to_start_without_a_secret_and_an_https_url(missing: str, problem: str) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=problem):
        Settings.from_env(env)


def test_origins_default_to_the_address_browsers_use() -> None:
    assert Settings.from_env({"DIREKT_PORT": "8123"}).origins == {
        "http://127.0.0.1:8123",
        "http://localhost:8123",
    }
    listed = Settings.from_env({"DIREKT_ALLOWED_ORIGINS": "https://a.example/, https://b.example"})
    assert listed.origins == {"https://a.example", "https://b.example"}


def test_overrides_beat_the_environment() -> None:
    env = {"DIREKT_PORT": "8080", "DIREKT_WORKERS": "4", "REDIS_URL": "redis://from-env:6379"}
    settings = Settings.from_env(env, port=9000, redis_url="redis://from-cli:6379", data_dir=Path("/data"))
    assert settings.port == 9000
    assert settings.redis_url == "redis://from-cli:6379"
    assert settings.data_dir == Path("/data")
    assert settings.workers == 4  # not overridden: the environment's value


def test_none_overrides_are_ignored() -> None:
    # the CLI passes None for every option the operator did not give
    settings = Settings.from_env({"DIREKT_PORT": "8080"}, port=None, workers=None, demo_cases=None)
    assert settings.port == 8080
    assert settings.workers == 1
    assert settings.demo_cases is False


INVALID = [
    pytest.param("DIREKT_PORT", "abc", "DIREKT_PORT", id="port-not-a-number"),
    pytest.param("DIREKT_PORT", "70000", "DIREKT_PORT", id="port-out-of-range"),
    pytest.param("DIREKT_PORT", "0", "DIREKT_PORT", id="port-zero"),
    pytest.param("DIREKT_AOF_FSYNC", "sometimes", "DIREKT_AOF_FSYNC", id="fsync-policy"),
    pytest.param("DIREKT_ENV", "staging", "DIREKT_ENV", id="env-staging"),
    pytest.param("DIREKT_WORKERS", "0", "DIREKT_WORKERS", id="workers-zero"),
    pytest.param("DIREKT_WORKERS", "two", "DIREKT_WORKERS", id="workers-not-a-number"),
    pytest.param("DIREKT_LEASE_SECONDS", "1", "DIREKT_LEASE_SECONDS", id="lease-too-short"),
    pytest.param("DIREKT_LEASE_SECONDS", "nan", "DIREKT_LEASE_SECONDS", id="lease-nan"),
    pytest.param("DIREKT_LEASE_SECONDS", "inf", "DIREKT_LEASE_SECONDS", id="lease-inf"),
    pytest.param("DIREKT_REAP_INTERVAL_SECONDS", "0", "DIREKT_REAP_INTERVAL_SECONDS", id="reap-interval-zero"),
    pytest.param("DIREKT_REDIS_TIMEOUT_SECONDS", "0", "DIREKT_REDIS_TIMEOUT_SECONDS", id="redis-timeout-zero"),
    pytest.param("DIREKT_LOG_LEVEL", "verbose", "DIREKT_LOG_LEVEL", id="log-level"),
    pytest.param("DIREKT_DEMO_CASES", "maybe", "DIREKT_DEMO_CASES", id="demo-flag"),
    pytest.param("DIREKT_FLOOD_FRAMES", "0", "DIREKT_FLOOD_FRAMES", id="flood-frames-zero"),
    pytest.param("DIREKT_HEAD_TIMEOUT_SECONDS", "0", "DIREKT_HEAD_TIMEOUT_SECONDS", id="head-timeout-zero"),
    pytest.param("DIREKT_PENDING_HEADS_PER_ADDRESS", "0", "DIREKT_PENDING_HEADS_PER_ADDRESS", id="pending-heads-zero"),
    pytest.param("DIREKT_SESSION_LIFETIME_SECONDS", "-1", "DIREKT_SESSION_LIFETIME_SECONDS", id="session-negative"),
]


@pytest.mark.parametrize(("variable", "raw", "named"), INVALID)
def test_invalid_value_names_the_variable(variable: str, raw: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({variable: raw})
    assert info.value.path == "environment"
    assert info.value.key == named
    assert str(info.value).startswith(f"environment: {named}: ")
    assert info.value.problem


def test_invalid_override_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}, port=70000)
    assert info.value.key == "DIREKT_PORT"


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            host="0.0.0.0",
            port=9001,
            workers=3,
            redis_url="redis://cache.example:6379/2",
            data_dir=Path("/srv/direkt data"),
            aof_fsync="always",
            region_config=Path("/etc/direkt/region.toml"),
            environment="production",
            secret_key="s" * 32,
            public_url="https://direkt.example",
            lease_seconds=12.5,
            reap_interval_seconds=0.25,
            log_level="warning",
            demo_cases=True,
        ),
    ],
    ids=["defaults", "everything-changed"],
)
def test_as_env_round_trip(settings: Settings) -> None:
    env = settings.as_env()
    assert all(isinstance(value, str) for value in env.values())
    assert Settings.from_env(env) == settings


def test_as_env_carries_the_redis_url_to_workers() -> None:
    settings = Settings.from_env({}).with_redis("redis://127.0.0.1:6390")
    assert settings.as_env()["REDIS_URL"] == "redis://127.0.0.1:6390"
    assert Settings.from_env(settings.as_env()).redis_url == "redis://127.0.0.1:6390"
