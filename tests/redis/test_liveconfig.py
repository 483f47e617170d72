"""The live region configuration on a real Redis and a real Cluster (server/liveconfig.py):
seeded once from the region file, changed only by compare-and-set, followed by every holder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
import pytest
from support import HUB_CONFIG, timeout

from direkt.queue.scripts import RedisClient
from direkt.server.errors import ConfigConflict, ConfigError
from direkt.server.liveconfig import ConfigStore, LiveConfig, Stamp, encode_document, staff_changes
from direkt.server.redis import keys
from direkt.server.redis.fanout import Fanout
from direkt.server.region import RegionConfig, RegionFile, StaffSpec, build_region_config, load_region_config

NOW = 1_700_000_000_000
FILE = load_region_config(HUB_CONFIG)


def holder(client: RedisClient) -> LiveConfig:
    """One server process's view of the configuration."""
    return LiveConfig(FILE, ConfigStore(client), lambda: NOW)


def with_staff(spec: RegionFile, **changes: object) -> RegionFile:
    """``spec`` with nurse-2 changed (or a new staff member when ``id`` is new)."""
    current = next(s for s in spec.staff if s.id == "nurse-2")
    changed = msgspec.structs.replace(current, **changes)  # type: ignore[arg-type]
    others = [s for s in spec.staff if s.id != changed.id]
    return msgspec.structs.replace(spec, staff=[*others, changed])


@pytest.fixture
async def clean(redis_client: RedisClient) -> AsyncIterator[RedisClient]:
    await redis_client.delete(keys.CONFIG)
    yield redis_client


async def test_the_region_file_seeds_an_empty_redis_once(clean: RedisClient) -> None:
    first, second = holder(clean), holder(clean)
    applied = await asyncio.gather(first.refresh(), second.refresh())
    assert applied == [True, True]
    assert first.stamp == second.stamp and first.stamp is not None and first.stamp.version == 1
    edited = with_staff(first.spec, max_chats=3)
    await first.write(1, edited, "admin")
    # a third process starting later finds the edit, and its region file does not overwrite it
    third = holder(clean)
    await third.refresh()
    assert third.current.directory.staff["nurse-2"].max_chats == 3
    assert third.stamp == Stamp(first.stamp.seed, 2)


async def test_an_edit_on_a_stale_version_is_refused_and_nothing_is_overwritten(clean: RedisClient) -> None:
    one, two = holder(clean), holder(clean)
    await one.refresh()
    await two.refresh()
    await one.write(1, with_staff(one.spec, max_chats=3), "omar")
    with pytest.raises(ConfigConflict):
        await two.write(1, with_staff(two.spec, name="Olle Ekberg"), "lena")
    assert two.current.directory.staff["nurse-2"].name == "Olle Ek"  # nothing applied on a refusal
    await two.refresh()
    assert two.current.directory.staff["nurse-2"].max_chats == 3  # the first edit stands
    assert two.current.directory.staff["nurse-2"].name == "Olle Ek"


async def test_concurrent_edits_of_one_version_one_wins(clean: RedisClient) -> None:
    holders = [holder(clean) for _ in range(5)]
    for h in holders:
        await h.refresh()
    results = await asyncio.gather(
        *(h.write(1, with_staff(h.spec, max_chats=n + 1), f"admin-{n}") for n, h in enumerate(holders)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, RegionConfig) for r in results) == 1
    assert sum(isinstance(r, ConfigConflict) for r in results) == 4


async def test_an_invalid_document_is_refused_naming_the_field_and_nothing_is_stored(clean: RedisClient) -> None:
    live = holder(clean)
    await live.refresh()
    with pytest.raises(ConfigError) as refused:
        await live.write(1, with_staff(live.spec, units=["no-such-unit"]), "omar")
    assert (
        refused.value.key == f"staff[{len(live.spec.staff) - 1}].units[0]" and "unknown unit" in refused.value.problem
    )
    assert await ConfigStore(clean).stamp() == live.stamp  # still version 1


async def test_a_lost_configuration_is_seeded_again_from_the_region_file(clean: RedisClient) -> None:
    live = holder(clean)
    await live.refresh()
    await live.write(1, with_staff(live.spec, max_chats=1), "omar")
    before = live.stamp
    await clean.delete(keys.CONFIG)  # Redis lost its data (or a test flushed it)
    assert await live.refresh()
    assert live.stamp is not None and before is not None
    assert live.stamp.version == 1 and live.stamp.seed != before.seed
    assert live.current.directory.staff["nurse-2"].max_chats == 2  # the region file's value again


async def test_an_invalid_stored_document_is_never_applied(clean: RedisClient) -> None:
    live = holder(clean)
    await live.refresh()
    await clean.hset(keys.CONFIG, mapping={"doc": b'{"regions": {}, "units": []}', "version": 7})
    assert not await live.refresh()
    assert live.current.directory.staff["nurse-2"].name == "Olle Ek"


async def test_every_holder_follows_a_change_through_the_channel(clean: RedisClient) -> None:
    """Pub/sub carries the change: the periodic check is an hour away here."""
    writer, reader = holder(clean), holder(clean)
    await writer.refresh()
    await reader.refresh()
    seen: list[tuple[int, int]] = []
    applied = asyncio.Event()
    reader.follow(lambda old, new: (seen.append((_chats(old), _chats(new))), applied.set()))
    fanout = Fanout(clean)
    await fanout.start()
    watch = asyncio.create_task(reader.watch(fanout, interval=3600))
    try:
        # what the watch subscribes first thing; returns once Redis confirmed it (the same listener: one entry)
        await fanout.subscribe(keys.CONFIG_CHANGED, reader)
        await writer.write(1, with_staff(writer.spec, max_chats=3), "omar")
        await asyncio.wait_for(applied.wait(), timeout(5))
        assert reader.stamp == writer.stamp
        assert reader.current.directory.staff["nurse-2"].max_chats == 3
        assert seen == [(2, 3)]
    finally:
        watch.cancel()
        await fanout.stop()


def _chats(config: RegionConfig) -> int:
    return config.directory.staff["nurse-2"].max_chats


def test_staff_whose_rights_or_queues_changed_reconnect_and_deactivated_staff_leave() -> None:
    spec = FILE.spec
    assert spec is not None
    units = [msgspec.structs.replace(u, hours={"mon-fri": "08:00-16:00"}) if u.id == "vc-t" else u for u in spec.units]
    staff = [msgspec.structs.replace(s, units=["vc-t"]) if s.id == "nurse-1" else s for s in spec.staff]
    newcomer = StaffSpec("nurse-9", "Nya Nilsson", "nurse", ["vc-t"], 2)  # type: ignore[arg-type]
    edited = with_staff(msgspec.structs.replace(spec, units=units, staff=[*staff, newcomer]), active=False)
    gone, changed = staff_changes(FILE.directory, build_region_config(edited, "test").directory)
    assert gone == {"nurse-2"}
    assert changed == {"nurse-1"}  # hours are no right; a newcomer has no socket to close


async def test_a_change_whose_message_was_lost_is_found_by_the_periodic_check(clean: RedisClient) -> None:
    """Pub/sub is at-most-once: a change stored while a process's subscription was down still arrives."""
    reader = holder(clean)
    await reader.refresh()
    applied = asyncio.Event()
    reader.follow(lambda old, new: applied.set())
    fanout = Fanout(clean)
    await fanout.start()
    watch = asyncio.create_task(reader.watch(fanout, interval=0.2))
    try:
        edited = with_staff(reader.spec, max_chats=1)
        # stored as the script would, but with no message on the channel
        await clean.hset(keys.CONFIG, mapping={"doc": encode_document(edited), "version": 2})
        await asyncio.wait_for(applied.wait(), timeout(5))
        assert reader.stamp is not None and reader.stamp.version == 2
        assert _chats(reader.current) == 1
    finally:
        watch.cancel()
        await fanout.stop()
