"""kill -9 under chat load: of a server process (TARGETS 2) and of Redis with AOF ``always`` (TARGETS 3).

Real ``direkt serve`` processes, a real Redis reached by URL, citizens and
nurses chatting 20 messages a second per socket. After the kill the process
comes back (the server on its port, Redis on its data directory), the apps
reconnect and resume from the last message they saw, and send again what was
never acked, with the same client ids. Then every acked message is stored
exactly once under the id it was acked with, and each side has every message
of the other exactly once. (tests/redis/test_durability.py proves the same
for the waiting room's cases and leases.) A kill -9 of Redis keeps the page
cache, so ``everysec`` would pass here too: tests/fault/test_power_loss.py
cuts the power and tells the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from support import Cluster, ServerProcess, free_port, short_tmpdir, timeout
from support_fault import Heard, Sender, chat, chatting, close_all, flushed, join, settle_and_check, until
from support_hub import ERIK, GUARDIAN, kinds

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

SERVER_ENV = {"DIREKT_MESSAGE_RATE": "1000", "DIREKT_REDIS_TIMEOUT_SECONDS": "2"}


async def resume(sender: Sender, heard: Heard, base: str) -> None:
    """The app reconnects (to ``base``), resumes from its last entry and sends the unacked again."""
    heard.keep(sender.sock)
    with contextlib.suppress(Exception):
        await sender.sock.close()
    assert sender.client.base_url == base  # the same address: the session cookie still applies
    sender.sock = await sender.client.socket()
    replayed = await join(sender.sock, sender.case, **heard.position())
    assert not kinds(replayed, "error") and not kinds(replayed, "history_lost"), replayed
    heard.keep(sender.sock, replayed)


# --- a server process killed (TARGETS 2) ----------------------------------------------------------


@pytest.fixture
def two_servers(standalone_redis: EmbeddedRedis) -> Iterator[list[ServerProcess]]:
    """Citizens' server and nurses' server on the session's Redis (one of them gets killed)."""
    made = [ServerProcess(standalone_redis.url, **SERVER_ENV)]
    try:
        made.append(ServerProcess(standalone_redis.url, **SERVER_ENV))
        yield made
    finally:
        for process in made:
            process.stop()


async def test_a_server_killed_under_load_loses_no_acked_message_and_the_apps_resume(
    standalone_redis: EmbeddedRedis, two_servers: list[ServerProcess]
) -> None:
    await flushed(standalone_redis.url)
    citizens_server, nurses_server = two_servers
    senders = [
        *await chat(citizens_server.base, nurses_server.base, ERIK, "nurse-1"),
        *await chat(citizens_server.base, nurses_server.base, GUARDIAN, "nurse-2"),
    ]
    heard = {s.tag: Heard() for s in senders}
    try:
        async with chatting(senders) as tasks:
            await until(lambda: all(len(s.acked) >= 5 for s in senders), 10, "chat before the kill")
            citizens_server.kill()  # SIGKILL: nothing is flushed, no socket is closed politely
            citizens = senders[::2]
            await until(lambda: all(s.sock.closed.is_set() for s in citizens), 10, "the sockets notice")
            await asyncio.wait_for(asyncio.gather(*tasks[::2]), timeout(10))  # their apps stop sending
            two_servers[0] = ServerProcess(standalone_redis.url, port=citizens_server.port, **SERVER_ENV)
            for sender in citizens:
                await resume(sender, heard[sender.tag], two_servers[0].base)
                sender.mark("resumed")
            stop = asyncio.Event()
            again = [asyncio.create_task(s.run(stop)) for s in citizens]
            await until(lambda: all(s.acked_since("resumed") >= 5 for s in citizens), 10, "chat after restart")
            stop.set()
            await asyncio.wait_for(asyncio.gather(*again), timeout(10))
        await settle_and_check(senders, heard, standalone_redis.url)
    finally:
        await close_all(senders, [])


# --- Redis killed (TARGETS 3) ---------------------------------------------------------------------


class OwnRedis:
    """A Redis of this test's own with AOF ``always``: one server, or a 3-master cluster."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "cluster":
            self.cluster = Cluster(short_tmpdir("dk-kcluster-"), fsync="always")
            self.cluster.start()
            self.url = self.cluster.url
        else:
            self.single = EmbeddedRedis(short_tmpdir("dk-kredis-"), fsync="always", port=free_port()).start()
            self.url = self.single.url

    def kill(self) -> None:
        self.cluster.kill() if self.kind == "cluster" else self.single.kill()

    def restart(self) -> None:
        self.cluster.restart() if self.kind == "cluster" else self.single.start()

    def stop(self) -> None:
        self.cluster.stop() if self.kind == "cluster" else self.single.stop()


@pytest.fixture(params=["standalone", "cluster"])
def own_redis(request: pytest.FixtureRequest) -> Iterator[OwnRedis]:
    made = OwnRedis(request.param)
    yield made
    made.stop()


async def test_redis_killed_under_load_with_aof_always_loses_no_acked_message(own_redis: OwnRedis) -> None:
    server = ServerProcess(own_redis.url, **SERVER_ENV)
    senders: list[Sender] = []
    try:
        senders += await chat(server.base, server.base, ERIK, "nurse-1")
        senders += await chat(server.base, server.base, GUARDIAN, "nurse-2")
        heard = {s.tag: Heard() for s in senders}
        async with chatting(senders):
            await until(lambda: all(len(s.acked) >= 5 for s in senders), 10, "chat before the kill")
            own_redis.kill()  # SIGKILL: what reached the AOF is all there is
            for sender in senders:
                sender.mark("killed")
            await until(lambda: all(s.refused["redis_unavailable"] for s in senders), 15, "sends refused")
            killed_acks = sum(s.acked_since("killed") for s in senders)
            own_redis.restart()
            for sender in senders:
                sender.mark("restarted")
            await until(lambda: all(s.acked_since("restarted") >= 5 for s in senders), 20, "chat after restart")
        assert killed_acks <= len(senders)  # only sends already stored when Redis died
        assert all(not s.sock.closed.is_set() for s in senders)  # the apps never noticed more than errors
        await settle_and_check(senders, heard, own_redis.url)
    finally:
        await close_all(senders, [])
        server.stop()
