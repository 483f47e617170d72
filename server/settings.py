"""Runtime settings, from the environment with command-line overrides.

REDIS_URL            external Redis or Redis Cluster; unset = embedded Redis
DIREKT_HOST/PORT     listen address (127.0.0.1:8000)
DIREKT_WORKERS       server processes (1)
DIREKT_DATA_DIR      embedded Redis data and socket (./var)
DIREKT_AOF_FSYNC     embedded Redis appendfsync: everysec (default) or always
DIREKT_REGION_CONFIG region configuration file (the demo regions)
DIREKT_SCHEDULES     booking schedules of the units (docs/booking.md); unset = the demo schedules
                     (server/data/schedules.toml) for the units the region configuration has
DIREKT_CATALOGUE     the referral catalogue: care units, hours, addresses (the demo regions' file)
DIREKT_ENV           development (default) or production
DIREKT_LEASE_SECONDS how long a claim holds without a heartbeat (60)
DIREKT_REDIS_TIMEOUT_SECONDS  how long a Redis reply may take before the command fails (5)
DIREKT_LOG_LEVEL     debug, info (default), warning, error
DIREKT_DEMO_CASES    1 = put demo cases in an empty waiting room at start
DIREKT_SECRET_KEY    key for citizen pseudonyms and TURN credentials (required in production)
DIREKT_PUBLIC_URL    the URL browsers use (OIDC redirect, default allowed Origin)
DIREKT_ALLOWED_ORIGINS  comma-separated Origins allowed on /ws and state-changing HTTP, and to frame
                     the chat (clinic sites embedding the widget: docs/identity.md)
DIREKT_OIDC_*        citizen e-ID broker: ISSUER, CLIENT_ID, CLIENT_SECRET, SUBJECT_CLAIM, SCOPES, USERINFO,
                     ACR_VALUES, REQUIRED_ACR, CLIENT_AUTH, PRIVATE_KEY_FILE, PRIVATE_KEY_ID (docs/identity.md)
DIREKT_STAFF_OIDC_*  staff identity provider: the same names
DIREKT_OIDC_CACHE_SECONDS  how long discovery and keys are kept without a Cache-Control max-age (3600)
DIREKT_SMS_URL       SMS gateway endpoint for "your chat is ready" (unset = in-app only)
DIREKT_SMS_TOKEN     bearer token for the SMS gateway
DIREKT_JOIN_WINDOW_SECONDS  how long a citizen has to join a ready chat (300)
DIREKT_POSITION_INTERVAL_SECONDS  how often every waiting position is re-read; queue changes come sooner (5)
DIREKT_AUDIT_FILE    the access log's JSON-lines copy (<data dir>/audit.jsonl)
DIREKT_MAX_SOCKETS_PER_USER  live WebSockets per user (5)
DIREKT_SESSION_LIFETIME_SECONDS  a login's absolute lifetime; its sockets close (4001) when it ends (43200)
DIREKT_HEAD_TIMEOUT_SECONDS  time for a connection's whole request head to arrive (10)
DIREKT_PENDING_HEADS_PER_ADDRESS  connections per client address still sending their request head,
                     per server process (128; more are refused with 429)
DIREKT_MESSAGE_RATE  frames per second per socket, sustained (20; bursts of twice that)
DIREKT_FLOOD_FRAMES  refused frames a socket may send, refilled at the message rate, before it is closed (200)
DIREKT_TRIAGE_VALIDATE  1 = walk every triage path at start (cached per version in the data dir)
DIREKT_ICE_SERVERS   comma-separated stun:/turn: URLs for calls (empty = none: right on loopback)
DIREKT_TURN_SECRET   the TURN server's shared secret (coturn use-auth-secret) for short-lived credentials
DIREKT_TURN_TTL_SECONDS  how long TURN credentials stay valid (1800)
DIREKT_CALL_RING_SECONDS / _SETUP_SECONDS / _MAX_SECONDS  call timeouts (45 / 30 / 7200)
DIREKT_CALLTEST_MAX  pre-call echo tests at once per server process (8)
DIREKT_ICE_HOST_ADDRESSES  comma-separated addresses server-side aiortc peers gather on (empty = all interfaces)
DIREKT_METRICS_TOKEN  bearer token for GET /metrics (unset = /metrics answers 404; docs/operations.md)
DIREKT_RETENTION_INTERVAL_SECONDS  how often the retention job runs; the first run is a minute after start (3600)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from direkt.server.care.catalogue import DEMO_CATALOGUE
from direkt.server.errors import ConfigError
from direkt.server.region import DEMO_CONFIG

if TYPE_CHECKING:
    from direkt.server.identity.oidc import OidcConfig
    from direkt.signaling.ice import IceConfig

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
    schedules: str = ""  # booking schedules (issue 24); empty: the demo ones, for the units the region has
    catalogue: Path = DEMO_CATALOGUE
    environment: str = "development"
    lease_seconds: float = 60.0
    reap_interval_seconds: float = 1.0
    redis_timeout_seconds: float = 5.0
    log_level: str = "info"
    demo_cases: bool = False
    secret_key: str = ""
    public_url: str = ""
    allowed_origins: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_subject_claim: str = "personal_number"
    oidc_scopes: str = "openid"
    oidc_userinfo: str = "auto"
    oidc_acr_values: str = ""
    oidc_required_acr: str = ""
    oidc_client_auth: str = "client_secret_basic"
    oidc_private_key_file: str = ""
    oidc_private_key_id: str = ""
    staff_oidc_issuer: str = ""
    staff_oidc_client_id: str = ""
    staff_oidc_client_secret: str = ""
    staff_oidc_subject_claim: str = "preferred_username"
    staff_oidc_scopes: str = "openid"
    staff_oidc_userinfo: str = "auto"
    staff_oidc_acr_values: str = ""
    staff_oidc_required_acr: str = ""
    staff_oidc_client_auth: str = "client_secret_basic"
    staff_oidc_private_key_file: str = ""
    staff_oidc_private_key_id: str = ""
    oidc_cache_seconds: float = 3600.0
    sms_url: str = ""
    sms_token: str = ""
    guardians_url: str = ""  # a guardian register (identity/guardians.py); empty: the region file's children
    guardians_token: str = ""  # its bearer token, if it wants one
    guardians_ttl_seconds: float = 60.0
    guardians_timeout_seconds: float = 3.0
    join_window_seconds: float = 300.0
    position_interval_seconds: float = 5.0
    audit_file: str = ""
    max_sockets_per_user: int = 5
    session_lifetime_seconds: float = 12 * 3600.0
    head_timeout_seconds: float = 10.0
    pending_heads_per_address: int = 128
    message_rate: float = 20.0
    flood_frames: int = 200
    triage_validate: bool = True
    ice_servers: str = ""
    turn_secret: str = ""
    turn_ttl_seconds: float = 1800.0
    call_ring_seconds: float = 45.0
    call_setup_seconds: float = 30.0
    call_max_seconds: float = 7200.0
    calltest_max: int = 8
    ice_host_addresses: str = ""
    metrics_token: str = ""
    retention_interval_seconds: float = 3600.0
    client_dir: Path = Path(__file__).resolve().parent.parent / "client-demo"

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
        for name in (
            "join_window_seconds",
            "position_interval_seconds",
            "redis_timeout_seconds",
            "message_rate",
            "call_ring_seconds",
            "call_setup_seconds",
            "call_max_seconds",
            "session_lifetime_seconds",
            "head_timeout_seconds",
            "retention_interval_seconds",
            "oidc_cache_seconds",
            "guardians_timeout_seconds",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError("environment", env_name(name), "must be a positive number")
        self.oidc_configs  # noqa: B018 - checks the DIREKT_OIDC_* and DIREKT_STAFF_OIDC_* settings
        _within("DIREKT_GUARDIANS_TTL_SECONDS", self.guardians_ttl_seconds, 0, 600)  # a short cache only
        if self.calltest_max < 0:
            raise ConfigError("environment", "DIREKT_CALLTEST_MAX", "must be 0 or more")
        self.ice  # noqa: B018 - parses DIREKT_ICE_SERVERS and the TURN settings, raising ConfigError
        if self.max_sockets_per_user < 1:
            raise ConfigError("environment", "DIREKT_MAX_SOCKETS_PER_USER", "must be at least 1")
        if self.flood_frames < 1:
            raise ConfigError("environment", "DIREKT_FLOOD_FRAMES", "must be at least 1")
        if self.pending_heads_per_address < 1:
            raise ConfigError("environment", "DIREKT_PENDING_HEADS_PER_ADDRESS", "must be at least 1")
        if self.production and len(self.secret_key) < 32:
            raise ConfigError("environment", "DIREKT_SECRET_KEY", "production needs a random key of 32+ characters")
        if self.production and not self.public_url.startswith("https://"):
            raise ConfigError("environment", "DIREKT_PUBLIC_URL", "production needs the https:// URL browsers use")

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secret(self) -> bytes:
        return (self.secret_key or "direkt-development-only-key").encode()

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def origins(self) -> frozenset[str]:
        """Origins allowed to open sockets and change state; the base URL's by default."""
        listed = {o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()}
        if listed:
            return frozenset(listed)
        defaults = {self.base_url}
        if not self.public_url and self.host in ("127.0.0.1", "localhost", "::1"):
            defaults |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}
        return frozenset(defaults)

    @property
    def ice(self) -> IceConfig:
        from direkt.signaling.ice import IceConfig  # aiortc loads only when calls are configured

        return IceConfig.parse(self.ice_servers, self.turn_secret, self.turn_ttl_seconds)

    @property
    def oidc_configs(self) -> dict[str, OidcConfig]:
        """The configured OpenID Connect providers by audience ("citizen", "staff"); see oidcsettings."""
        from direkt.server.identity.oidcsettings import oidc_configs

        return oidc_configs(self)

    @property
    def audit_path(self) -> Path:
        return Path(self.audit_file) if self.audit_file else self.data_dir / "audit.jsonl"

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


def _within(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError("environment", name, f"must be {low:g} to {high:g}")
