"""Durability and Redis outages (TARGETS, delivery 3 and queue 11).

- redis-server killed with SIGKILL under AOF ``always``: every acknowledged
  enqueue and claim is there after a restart on the same directory.
- Redis down mid-run: operations fail closed with a clear RedisUnavailable,
  never crash or pretend; after it comes back nothing is lost and a retried
  enqueue is stored once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pytest
from support import Cluster, FakeClock, at, short_tmpdir

from direkt.queue.model import Directory, Skill
from direkt.queue.urgency import Urgency
from direkt.queue.waitroom import Waitroom
from direkt.server.errors import RedisUnavailable
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

NURSE = Skill.NURSE


class Deployment(Protocol):
    url: str

    def kill(self) -> None: ...
    def stop(self) -> None: ...
    def restart(self) -> None: ...


class Single:
    def __init__(self) -> None:
        self.server = EmbeddedRedis(short_tmpdir("dk-crash-"), fsync="always").start()
        self.url = self.server.url

    def kill(self) -> None:
        self.server.kill()

    def stop(self) -> None:
        self.server.stop()

    def restart(self) -> None:
        self.server.start()


class ClusterOfThree:
    def __init__(self) -> None:
        self.cluster = Cluster(short_tmpdir("dk-ccrash-"), fsync="always")
        self.cluster.start()
        self.url = self.cluster.url

    def kill(self) -> None:
        self.cluster.kill()

    def stop(self) -> None:
        self.cluster.stop()

    def restart(self) -> None:
        self.cluster.restart()


@pytest.fixture(params=["standalone", "cluster"])
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A Redis of its own (these tests kill it): a single server or a 3-master cluster."""
    made: Deployment = Single() if request.param == "standalone" else ClusterOfThree()
    yield made
    made.stop()


async def open_room(url: str, directory: Directory, clock: FakeClock) -> Waitroom:
    room = Waitroom(await connect(url), directory, clock=clock)
    await room.load_scripts()
    return room


async def test_acknowledged_cases_survive_a_redis_crash(deployment: Deployment, directory: Directory) -> None:
    clock = FakeClock(at("2026-11-23 10:00"))
    room = await open_room(deployment.url, directory, clock)
    acked = [(await room.enqueue(f"a.K{i:04d}", "vc-a1", NURSE, Urgency.SOON, clock())).case_id for i in range(200)]
    leases = [await room.claim_next(directory.staff["nurse-a12"]) for _ in range(3)]
    await room.client.aclose()
    deployment.kill()  # SIGKILL: no shutdown, no final fsync

    deployment.restart()
    room = await open_room(deployment.url, directory, clock)
    try:
        waiting = {c.case_id for c in await room.waiting("vc-a1", NURSE)}
        held = {lease.case_id for lease in leases if lease}
        assert waiting | held == set(acked) and not waiting & held
        for lease in leases:
            assert lease is not None
            record = await room.get(lease.case_id)
            assert (record.holder, record.token) == ("nurse-a12", lease.token)
    finally:
        await room.client.aclose()


async def test_redis_down_mid_run_fails_closed_and_loses_nothing(deployment: Deployment, directory: Directory) -> None:
    clock = FakeClock(at("2026-11-23 10:00"))
    room = await open_room(deployment.url, directory, clock)
    first = await room.enqueue("a.D0001", "vc-a1", NURSE, Urgency.URGENT, clock())
    lease = await room.claim_next(directory.staff["nurse-a1"])
    assert lease is not None
    deployment.stop()

    with pytest.raises(RedisUnavailable, match="Redis is unavailable"):
        await room.enqueue("a.D0002", "vc-a1", NURSE, Urgency.SOON, clock())
    with pytest.raises(RedisUnavailable):
        await room.claim_next(directory.staff["nurse-a12"])
    with pytest.raises(RedisUnavailable):
        await room.heartbeat(first.case_id, "nurse-a1", lease.token)
    with pytest.raises(RedisUnavailable):
        await room.reap()

    deployment.restart()
    try:
        # the same client recovers by itself; the failed enqueue is retried and stored once
        assert (await room.enqueue("a.D0002", "vc-a1", NURSE, Urgency.SOON, clock())).created
        assert not (await room.enqueue("a.D0002", "vc-a1", NURSE, Urgency.SOON, clock())).created
        assert (await room.get(first.case_id)).holder == "nurse-a1"
        assert await room.heartbeat(first.case_id, "nurse-a1", lease.token) > clock()
        assert [c.case_id for c in await room.waiting("vc-a1", NURSE)] == ["a.D0002"]
    finally:
        await room.client.aclose()


async def test_connecting_to_nothing_names_the_url() -> None:
    with pytest.raises(RedisUnavailable, match=r"cannot reach Redis at redis://127\.0\.0\.1:1"):
        await connect("redis://user:secret@127.0.0.1:1/0")
    try:
        await connect("redis://user:secret@127.0.0.1:1/0")
    except RedisUnavailable as exc:
        assert "secret" not in exc.message
