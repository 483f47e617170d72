"""Runtime settings, from the environment with command-line overrides.

REDIS_URL            external Redis or Redis Cluster; unset = embedded Redis
DIREKT_HOST/PORT     listen address (127.0.0.1:8000)
DIREKT_WORKERS       server processes (1)
DIREKT_DATA_DIR      embedded Redis data and socket (./var)
DIREKT_AOF_FSYNC     embedded Redis appendfsync: everysec (default) or always
DIREKT_REGION_CONFIG region configuration file (the demo regions)
DIREKT_ENV           development (default) or production
DIREKT_LEASE_SECONDS how long a claim holds without a heartbeat (60)
DIREKT_LOG_LEVEL     debug, info (default), warning, error
DIREKT_DEMO_CASES    1 = put demo cases in an empty waiting room at start
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from direkt.server.errors import ConfigError
from direkt.server.region import DEMO_CONFIG

FSYNC_POLICIES = ("everysec", "always")
# Variables whose name is not DIREKT_<FIELD>.
ENV_NAMES = {"redis_url": "REDIS_URL", "environment": "DIREKT_ENV"}
ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    redis_url: str = ""
    data_dir: Path = Path("var")
    aof_fsync: str = "everysec"
    region_config: Path = DEMO_CONFIG
    environment: str = "development"
    lease_seconds: float = 60.0
    reap_interval_seconds: float = 1.0
    log_level: str = "info"
    demo_cases: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings; ``overrides`` (non-None) win over the environment.

        Raises:
            ConfigError: naming the variable and the problem.
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = env_name(f.name)
            if name in environ:
                values[f.name] = _convert(name, environ[name], f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        _choice("DIREKT_AOF_FSYNC", self.aof_fsync, FSYNC_POLICIES)
        _choice("DIREKT_ENV", self.environment, ENVIRONMENTS)
        _choice("DIREKT_LOG_LEVEL", self.log_level, LOG_LEVELS)
        if not 0 < self.port < 65536:
            raise ConfigError("environment", "DIREKT_PORT", f"{self.port} is not a TCP port")
        if self.workers < 1:
            raise ConfigError("environment", "DIREKT_WORKERS", "must be at least 1")
        if not (math.isfinite(self.reap_interval_seconds) and self.reap_interval_seconds > 0):
            raise ConfigError("environment", "DIREKT_REAP_INTERVAL_SECONDS", "must be a positive number of seconds")
        if not (math.isfinite(self.lease_seconds) and self.lease_seconds >= 5):
            raise ConfigError("environment", "DIREKT_LEASE_SECONDS", "must be at least 5 seconds")

    def as_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a worker process."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            env[env_name(f.name)] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env

    def with_redis(self, url: str) -> Settings:
        return replace(self, redis_url=url)


def env_name(field_name: str) -> str:
    return ENV_NAMES.get(field_name, f"DIREKT_{field_name.upper()}")


def _convert(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, Path):
            return Path(raw)
        return type(default)(raw)
    except ValueError:
        raise ConfigError("environment", name, f"{raw!r} is not a valid {type(default).__name__}") from None


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError("environment", name, f"{value!r} is not one of {', '.join(allowed)}")
