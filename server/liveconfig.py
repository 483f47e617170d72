"""The live region configuration: the region file seeds Redis, then Redis holds the truth.

One hash, ``dk:config``, holds the configuration document (the region file's
structure as JSON), its ``version`` and a ``seed`` id. The first process to
find it missing writes the region file there (version 1, a fresh seed id);
every later change is a compare-and-set on the version, in one Lua script, so
two administrators' edits never overwrite each other silently: the second gets
``ConfigConflict`` and reloads. Each accepted change is published on
``dk:config:changed``.

Every process holds the configuration in a ``LiveConfig`` and follows Redis:
at once through the channel, and every ``CHECK_INTERVAL_S`` by comparing
``(seed, version)`` (pub/sub is at-most-once). A document that fails the region
file's validator is never applied. When the key is gone (Redis lost its data,
or a test flushed it) the region file seeds it again: edits made since are
lost unless exported (``direkt config export``).

What holds the directory follows through ``LiveConfig.follow``: the services
swap it (``wiring``), the hub closes the sockets of staff whose rights changed
(they reconnect with the new ones) or who were deactivated.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from direkt.queue.model import Directory
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import ConfigConflict, ConfigError, DirektError
from direkt.server.redis import keys
from direkt.server.redis.fanout import Fanout
from direkt.server.region import RegionConfig, RegionFile, build_region_config

log = structlog.get_logger("direkt.config")
CHECK_INTERVAL_S = 2.0
SOURCE = "live configuration"

# KEYS[1] dk:config. ARGV: seed id, document, now (ms), channel.
# Writes the document only if none is stored: every process may seed at once, one wins.
# Returns {seed, version} of what is stored afterwards.
SEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HMGET', KEYS[1], 'seed', 'version')
end
redis.call('HSET', KEYS[1], 'seed', ARGV[1], 'version', 1, 'doc', ARGV[2], 'at', ARGV[3], 'by', 'seed')
redis.call('PUBLISH', ARGV[4], ARGV[1] .. ':1')
return {ARGV[1], '1'}
"""

# KEYS[1] dk:config. ARGV: expected version, document, now (ms), by (a staff id or "import"), channel.
# Compare-and-set: the write happens only if the stored version is the one the editor read,
# checked and written in one script so no other edit can land in between.
# Returns {'ok', seed, new version} | {'stale', current version} | {'missing'}.
REPLACE = """
local current = redis.call('HMGET', KEYS[1], 'seed', 'version')
if not current[1] then return {'missing'} end
if current[2] ~= ARGV[1] then return {'stale', current[2]} end
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'at', ARGV[3], 'by', ARGV[4])
redis.call('PUBLISH', ARGV[5], current[1] .. ':' .. version)
return {'ok', current[1], tostring(version)}
"""


@dataclass(frozen=True)
class Stamp:
    """Which stored configuration: the seed it grew from and its version within that seed."""

    seed: str
    version: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_document(spec: RegionFile) -> bytes:
    return msgspec.json.encode(spec)


def decode_document(raw: bytes) -> RegionConfig:
    """A stored document, validated as a region file is.

    Raises:
        ConfigError: the document does not decode or does not validate.
    """
    try:
        spec = msgspec.json.decode(raw, type=RegionFile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ConfigError(SOURCE, "", f"the stored document is unreadable ({exc})") from None
    return build_region_config(spec, SOURCE)


class ConfigStore:
    """The configuration hash in Redis and its two scripts."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self._seed = client.register_script(SEED)
        self._replace = client.register_script(REPLACE)

    async def stamp(self) -> Stamp | None:
        with redis_errors():
            seed, version = await self.client.hmget(keys.CONFIG, ["seed", "version"])
        return None if seed is None or version is None else Stamp(_text(seed), int(version))

    async def read(self) -> tuple[Stamp, bytes] | None:
        with redis_errors():
            seed, version, doc = await self.client.hmget(keys.CONFIG, ["seed", "version", "doc"])
        if seed is None or version is None or doc is None:
            return None
        return Stamp(_text(seed), int(version)), doc if isinstance(doc, bytes) else doc.encode()

    async def seed(self, spec: RegionFile, now_ms: int) -> Stamp:
        """Store ``spec`` as version 1 unless a document is stored; the stamp of what is stored."""
        with redis_errors():
            seed, version = await self._seed(
                keys=[keys.CONFIG], args=[secrets.token_hex(8), encode_document(spec), now_ms, keys.CONFIG_CHANGED]
            )
        return Stamp(_text(seed), int(version))

    async def replace(self, expected: int, spec: RegionFile, now_ms: int, by: str) -> Stamp:
        """Store ``spec`` if version ``expected`` is still the stored one.

        Raises:
            ConfigConflict: another version is stored (or none: Redis lost it).
        """
        with redis_errors():
            reply = await self._replace(
                keys=[keys.CONFIG], args=[expected, encode_document(spec), now_ms, by, keys.CONFIG_CHANGED]
            )
        verdict = _text(reply[0])
        if verdict == "missing":
            raise ConfigConflict("the configuration was reset; reload it and edit again")
        if verdict == "stale":
            raise ConfigConflict(
                f"the configuration changed (now version {_text(reply[1])}, you edited {expected}); reload it"
            )
        return Stamp(_text(reply[1]), int(reply[2]))


Follower = Callable[[RegionConfig, RegionConfig], None]


class LiveConfig:
    """This process's configuration: swapped as a whole, and everything that follows it told."""

    def __init__(self, seed: RegionConfig, store: ConfigStore, clock: Callable[[], int]) -> None:
        """``seed``: the region file, which seeds a Redis that holds no configuration."""
        if seed.spec is None:
            raise ConfigError(str(seed.path), "", "a configuration built without its document cannot seed Redis")
        self.seed = seed
        self.current = seed
        self.stamp: Stamp | None = None
        self.store = store
        self.clock = clock
        self._followers: list[Follower] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    @property
    def spec(self) -> RegionFile:
        assert self.current.spec is not None  # checked for the seed; stored documents always have one
        return self.current.spec

    def follow(self, follower: Follower) -> None:
        """Call ``follower(old, new)`` after every change applied (never for the same object twice)."""
        self._followers.append(follower)

    def apply(self, config: RegionConfig, stamp: Stamp) -> None:
        old, self.current, self.stamp = self.current, config, stamp
        if old is config:
            return
        for follower in self._followers:
            try:
                follower(old, config)
            except Exception:  # one follower's bug must not stop the others from following
                log.exception("config_follower_failed")
        log.info("config_applied", seed=stamp.seed, version=stamp.version)

    async def refresh(self) -> bool:
        """Bring this process up to what Redis holds, seeding it from the region file if empty.

        Returns:
            Whether a new configuration was applied.

        Raises:
            RedisUnavailable.
        """
        async with self._lock:
            stamp = await self.store.stamp()
            if stamp is None:
                stamp = await self.store.seed(self.seed.spec or self.spec, self.clock())
                log.warning("config_seeded", seed=stamp.seed)
            if stamp == self.stamp:
                return False
            stored = await self.store.read()
            if stored is None:  # deleted in between: the next refresh seeds it
                return False
            stamp, raw = stored
            try:
                config = decode_document(raw)
            except ConfigError as exc:  # never apply it; keep serving what we have
                log.error("config_invalid_in_redis", key=exc.key, problem=exc.problem, version=stamp.version)
                self.stamp = stamp
                return False
            self.apply(config, stamp)
            return True

    async def write(self, expected: int, spec: RegionFile, by: str) -> RegionConfig:
        """Validate ``spec``, store it over version ``expected`` and apply it here at once.

        Raises:
            ConfigError: the document is invalid (nothing stored); ConfigConflict; RedisUnavailable.
        """
        config = build_region_config(spec, SOURCE)
        async with self._lock:
            stamp = await self.store.replace(expected, spec, self.clock(), by)
            self.apply(config, stamp)
        return config

    # -- following Redis ------------------------------------------------------------------

    def on_message(self, channel: str, data: bytes) -> None:
        self._wake.set()

    def on_resync(self) -> None:
        self._wake.set()

    async def watch(self, fanout: Fanout, interval: float = CHECK_INTERVAL_S) -> None:
        """Follow Redis until cancelled: at once on a published change, else every ``interval``."""
        with contextlib.suppress(DirektError):  # not connected yet: subscribed on the fan-out's first connection
            await fanout.subscribe(keys.CONFIG_CHANGED, self)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                await self.refresh()
            except DirektError as exc:
                log.warning("config_check_failed", code=exc.code)


def staff_changes(old: Directory, new: Directory) -> tuple[set[str], set[str]]:
    """Who must leave: (staff no longer in the directory, staff whose rights or queues changed).

    A staff socket keeps the staff member and the queues she served when it
    opened; anyone whose entry or queues changed reconnects to get the new ones.
    """
    gone = set(old.staff) - set(new.staff)
    changed = {
        sid
        for sid, before in old.staff.items()
        if sid in new.staff and (new.staff[sid] != before or _queue_ids(old, before.id) != _queue_ids(new, before.id))
    }
    return gone, changed


def _queue_ids(directory: Directory, staff_id: str) -> list[tuple[str, str]]:
    return [(u.id, s.value) for u, s in directory.queues_of(directory.staff[staff_id])]
