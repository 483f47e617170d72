"""The server runs the retention job by itself (server/lifecycle.py): first a little after start,
then every DIREKT_RETENTION_INTERVAL_SECONDS, in one process at a time however many workers run."""

from __future__ import annotations

import asyncio
import os
import time

import msgpack
from support import ServerProcess, timeout
from support_hub import ERIK

from direkt.queue.ids import ulid
from direkt.queue.lookup import wall_clock_ms
from direkt.server.care.audit import AuditRecord
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.retentionrules import DAY_MS


async def _seed(url: str) -> tuple[str, str]:
    client = await connect(url)
    try:
        await client.flushall()
        old = keys.triage(ulid(wall_clock_ms() - 2 * DAY_MS, os.urandom(10)))  # past the one-day rule
        new = keys.triage(ulid(wall_clock_ms(), os.urandom(10)))
        for key in (old, new):
            await client.set(key, msgpack.packb({"patient": ERIK}))
        return old, new
    finally:
        await client.aclose()


async def _state(url: str, old: str, new: str) -> tuple[int, int, list[str]]:
    client = await connect(url)
    try:
        entries = await client.xrange(keys.AUDIT_STREAM)
        details = [r.detail for r in (AuditRecord.from_fields(d) for _, d in entries) if r.action == "retention.remove"]
        return await client.exists(old), await client.exists(new), details
    finally:
        await client.aclose()


def test_two_workers_run_the_retention_job_and_it_removes_the_expired_once(standalone_redis: EmbeddedRedis) -> None:
    old, new = asyncio.run(_seed(standalone_redis.url))
    server = ServerProcess(standalone_redis.url, workers=2, DIREKT_RETENTION_INTERVAL_SECONDS="0.3")
    try:
        deadline = time.monotonic() + timeout(20)
        while True:  # wait (with a deadline) for a few runs to have happened
            gone, kept, details = asyncio.run(_state(standalone_redis.url, old, new))
            if gone == 0 and details.count("triage_sessions:0") >= 2:
                break
            assert time.monotonic() < deadline, f"no retention runs seen: {details}\n{server.output()[-3000:]}"
            time.sleep(0.1)
        assert kept == 1
        assert details.count("triage_sessions:1") == 1  # one process removed it, once
        assert ERIK not in server.output()
    finally:
        server.stop()
