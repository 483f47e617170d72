"""The waiting room's Lua scripts and the one place their replies become errors.

Each script in ``lua/`` is prepended with ``common.lua`` and registered once.
Calls pass the region's key prefix, its event channel and ``now`` as the first
three ARGV, a key of the region's slot as KEYS[1] (cluster routing) and the
region's event log as KEYS[2] (every event a script emits is appended there).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from direkt.server.errors import (
    AtCapacity,
    CaseConflict,
    DirektError,
    NotAllowed,
    RedisUnavailable,
    StaleToken,
    UnknownCase,
)

from .keys import RegionKeys

LUA_DIR = Path(__file__).parent / "lua"
NAMES = (
    "enqueue",
    "claim_next",
    "claim",
    "heartbeat",
    "release",
    "record_contact",
    "transfer",
    "transfer_out",
    "adopt",
    "transfer_done",
    "reprioritise",
    "abandon",
    "close",
    "reap",
    "sweep",
    "position",
    "positions",
    "waiting",
    "census",
)

RedisClient = Redis | RedisCluster

_MESSAGES: dict[str, tuple[type[DirektError], str]] = {
    "unknown_case": (UnknownCase, "no case {detail}"),
    "case_conflict": (CaseConflict, "the case is {detail}, which does not allow this"),
    "stale_token": (StaleToken, "case {detail} is not held by you under this token (stale or taken over)"),
    "not_allowed": (NotAllowed, "you do not serve the queue {detail}"),
    "at_capacity": (AtCapacity, "{detail} already holds as many chats as allowed"),
}


class Moved(Exception):
    """A case moved to another region; internal, the waiting room follows it."""

    def __init__(self, region: str) -> None:
        super().__init__(region)
        self.region = region


def script_source(name: str) -> str:
    return (LUA_DIR / "common.lua").read_text() + "\n" + (LUA_DIR / f"{name}.lua").read_text()


def translate(exc: ResponseError) -> Exception:
    """Turn a script's error reply into a DirektError (or Moved)."""
    code, _, detail = str(exc).partition(" ")
    if code == "moved":
        return Moved(detail)
    if code in _MESSAGES:
        cls, template = _MESSAGES[code]
        return cls(template.format(detail=detail))
    # Not a script refusal: Redis itself refused (OOM, READONLY, CLUSTERDOWN, …).
    return RedisUnavailable(f"Redis refused the operation: {code} {detail}".strip())


# What redis-py raises when Redis cannot serve; RedisClusterException is not a RedisError.
REDIS_FAILURES = (RedisError, RedisClusterException)


def unavailable(exc: Exception) -> RedisUnavailable:
    reason = str(exc) or type(exc).__name__
    return RedisUnavailable(f"Redis is unavailable: {reason}")


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn redis-py failures of plain commands into RedisUnavailable."""
    try:
        yield
    except REDIS_FAILURES as exc:
        raise unavailable(exc) from None


class Scripts:
    """Registered scripts for one Redis client (plain or cluster)."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._scripts = {name: client.register_script(script_source(name)) for name in NAMES}

    async def load(self) -> None:
        """SCRIPT LOAD every script (on every primary of a cluster)."""
        try:
            for script in self._scripts.values():
                script.sha = await self._client.script_load(script.script)
        except REDIS_FAILURES as exc:
            raise unavailable(exc) from None

    async def loaded(self) -> bool:
        """Whether the server(s) hold every script (readiness check)."""
        shas = [s.sha for s in self._scripts.values()]
        try:
            found = await self._client.script_exists(*shas)
        except REDIS_FAILURES as exc:
            raise unavailable(exc) from None
        return all(found)

    async def call(self, name: str, keys: RegionKeys, route_key: str, now_ms: int, *args: Any) -> Any:
        """Run one script in the slot of ``keys.region``.

        Raises:
            DirektError subclasses for refusals, Moved when the case moved
            region, RedisUnavailable when Redis cannot be reached.
        """
        argv: Sequence[Any] = (keys.prefix, keys.channel, now_ms, *args)
        try:
            return await self._scripts[name](keys=[route_key, keys.log], args=argv)
        except ResponseError as exc:
            raise translate(exc) from None
        except REDIS_FAILURES as exc:
            raise unavailable(exc) from None
