"""``direkt config export`` and ``direkt config import``: the live configuration and a region file.

Export writes what Redis holds now as a region file that ``direkt config check``
accepts and that seeds the same system. Import validates a file, then replaces
the live configuration by compare-and-set (or seeds an empty Redis); every
server process applies it within seconds. Imports are audited (``config.import``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
import tomli_w

from direkt.queue.lookup import wall_clock_ms
from direkt.server.errors import ConfigError, DirektError, RedisUnavailable
from direkt.server.region import RegionConfig, RegionFile, load_region_config
from direkt.server.settings import Settings

HEADER = "# direkt region configuration, exported from the live configuration (direkt config export).\n"


def add_commands(config: Any) -> None:
    """Add ``export`` and ``import`` to the ``direkt config`` subcommands."""
    export = config.add_parser("export", help="the live configuration in Redis as a region file (TOML)")
    export.add_argument("--out", type=Path, help="write here instead of standard output")
    export.add_argument("--redis-url")
    export.set_defaults(run=run_export)
    load = config.add_parser("import", help="validate a region file and make it the live configuration")
    load.add_argument("path", type=Path)
    load.add_argument("--redis-url")
    load.set_defaults(run=run_import)


def to_toml(spec: RegionFile) -> str:
    """A region file's text for ``spec``: TOML has no null, so unset optional keys are left out."""
    return HEADER + tomli_w.dumps(_without_none(msgspec.to_builtins(spec, builtin_types=(dt.date,))))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _redis_url(args: argparse.Namespace) -> str:
    from direkt.server.redis.embedded import EmbeddedRedis

    settings = Settings.from_env(os.environ, redis_url=args.redis_url)
    return settings.redis_url or EmbeddedRedis(settings.data_dir).url


async def live_or_file(client: Any, path: Path) -> RegionConfig:
    """The live configuration in Redis, or the region file while none is stored (or it is unreadable)."""
    from direkt.server.liveconfig import ConfigStore, decode_document

    stored = await ConfigStore(client).read()
    if stored is not None:
        try:
            return decode_document(stored[1])
        except ConfigError:
            pass
    return load_region_config(path)


def run_export(args: argparse.Namespace) -> int:
    try:
        text = asyncio.run(_export(_redis_url(args)))
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DirektError(f"cannot write {args.out}: {exc.strerror}") from None
    print(f"{args.out}: the live configuration written", file=sys.stderr)
    return 0


async def _export(url: str) -> str:
    from direkt.server.liveconfig import ConfigStore, decode_document
    from direkt.server.redis.connect import connect

    client = await connect(url)
    try:
        stored = await ConfigStore(client).read()
    finally:
        await client.aclose()
    if stored is None:
        raise DirektError(
            "Redis holds no live configuration yet: the first `direkt serve` seeds it from the region file"
        )
    spec = decode_document(stored[1]).spec
    assert spec is not None
    return to_toml(spec)


def run_import(args: argparse.Namespace) -> int:
    config = load_region_config(args.path)  # invalid: ConfigError, exit 2, nothing stored
    settings = Settings.from_env(os.environ, redis_url=args.redis_url)
    try:
        version, ended = asyncio.run(_import(_redis_url(args), config, settings.audit_path))
    except RedisUnavailable as exc:
        raise RedisUnavailable(f"{exc.message} (is `direkt serve` running? otherwise set REDIS_URL)") from None
    print(f"{args.path}: imported as version {version}; {ended} staff member(s) no longer active were logged out")
    return 0


async def _import(url: str, config: RegionConfig, audit_path: Path) -> tuple[int, int]:
    """Store ``config`` as the live configuration; returns its version and how many staff were logged out."""
    from direkt.server.care.audit import AuditLog, AuditRecord
    from direkt.server.identity.sessions import SessionStore, staff_uid
    from direkt.server.liveconfig import ConfigStore, encode_document
    from direkt.server.redis.connect import connect

    assert config.spec is not None
    client = await connect(url)
    store = ConfigStore(client)
    try:
        stored = await store.read()
        before = _staff_of(stored[1]) if stored else set()
        if stored is None:  # an empty Redis: the file seeds it (unless a server seeded it just now)
            await store.seed(config.spec, wall_clock_ms())
            stored = await store.read()
        assert stored is not None
        stamp = stored[0]
        if stored[1] != encode_document(config.spec):
            stamp = await store.replace(stamp.version, config.spec, wall_clock_ms(), "import")
        ended = before - set(config.directory.staff)
        sessions = SessionStore(client, wall_clock_ms)
        for staff_id in ended:
            await sessions.revoke_user(staff_uid(staff_id))
        record = AuditRecord(
            wall_clock_ms(), "cli", "operator", "", "config.import", "", "", detail=f"v{stamp.version}"
        )
        await AuditLog(client, audit_path).record(record)
        return stamp.version, len(ended)
    finally:
        await client.aclose()


def _staff_of(document: bytes) -> set[str]:
    from direkt.server.liveconfig import decode_document

    try:
        return set(decode_document(document).directory.staff)
    except ConfigError:  # an unreadable stored document: the import replaces it
        return set()
