"""`direkt config export` and `direkt config import`: the live configuration in Redis and a region file."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from support import HUB_CONFIG

from direkt.queue.scripts import RedisClient
from direkt.server.cli import main
from direkt.server.liveconfig import ConfigStore, LiveConfig, decode_document
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.region import DEMO_CONFIG, load_region_config

pytestmark = pytest.mark.slow


@pytest.fixture
async def redis(
    standalone_redis: EmbeddedRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RedisClient]:
    monkeypatch.setenv("DIREKT_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    client = await connect(standalone_redis.url)
    await client.flushall()
    yield client
    await client.aclose()


def cli(*argv: str) -> int:
    return main(list(argv))


async def stored_spec(redis: RedisClient) -> object:
    stored = await ConfigStore(redis).read()
    assert stored is not None
    return decode_document(stored[1]).spec


async def test_an_export_is_a_region_file_that_seeds_the_same_system(
    redis: RedisClient, standalone_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    """The demo region (brand, citizens, closure days, overflow windows) round-trips exactly."""
    live = LiveConfig(load_region_config(DEMO_CONFIG), ConfigStore(redis), lambda: 0)
    await live.refresh()  # what the first server start does
    assert live.stamp is not None
    closed = [msgspec.structs.replace(u, closed_days=[*u.closed_days, dt.date(2031, 1, 2)])
              if u.id == "vc-sala" else u for u in live.spec.units]  # fmt: skip
    await live.write(live.stamp.version, msgspec.structs.replace(live.spec, units=closed), "omar.said")
    out = tmp_path / "exported.toml"
    assert await asyncio.to_thread(cli, "config", "export", "--out", str(out), "--redis-url", standalone_redis.url) == 0
    assert await asyncio.to_thread(cli, "config", "check", str(out)) == 0
    assert load_region_config(out).spec == await stored_spec(redis)
    assert "2031-01-02" in out.read_text()
    # and it seeds a fresh system with the same configuration
    await redis.flushall()
    assert await asyncio.to_thread(cli, "config", "import", str(out), "--redis-url", standalone_redis.url) == 0
    assert await stored_spec(redis) == live.spec


async def test_an_import_replaces_the_live_configuration_and_is_audited(
    redis: RedisClient, standalone_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    live = LiveConfig(load_region_config(HUB_CONFIG), ConfigStore(redis), lambda: 0)
    await live.refresh()
    edited = tmp_path / "edited.toml"
    edited.write_text(HUB_CONFIG.read_text().replace('name = "Olle Ek"', 'name = "Olle Ekström"'))
    assert await asyncio.to_thread(cli, "config", "import", str(edited), "--redis-url", standalone_redis.url) == 0
    assert await live.refresh()  # a server process follows it
    assert live.current.directory.staff["nurse-2"].name == "Olle Ekström"
    assert live.stamp is not None and live.stamp.version == 2
    audit = [{k.decode(): v.decode() for k, v in f.items()} for _, f in await redis.xrange(keys.AUDIT_STREAM)]
    assert [(r["actor"], r["action"], r["detail"]) for r in audit] == [("cli", "config.import", "v2")]
    assert (tmp_path / "audit.jsonl").read_text().count("config.import") == 1


async def test_an_invalid_file_is_refused_and_nothing_is_stored(
    redis: RedisClient, standalone_redis: EmbeddedRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(HUB_CONFIG.read_text().replace('units = ["vc-other"]', 'units = ["nowhere"]'))
    assert await asyncio.to_thread(cli, "config", "import", str(bad), "--redis-url", standalone_redis.url) == 2
    assert "unknown unit 'nowhere'" in capsys.readouterr().err
    assert await redis.exists(keys.CONFIG) == 0


async def test_export_before_any_server_seeded_says_so(
    redis: RedisClient, standalone_redis: EmbeddedRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(cli, "config", "export", "--redis-url", standalone_redis.url) == 1
    assert "seeds it" in capsys.readouterr().err
