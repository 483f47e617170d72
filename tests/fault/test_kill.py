"""kill -9 under chat load: of a server process (TARGETS 2) and of Redis with AOF ``always`` (TARGETS 3).

Real ``direkt serve`` processes, a real Redis reached by URL, citizens and
nurses chatting 20 messages a second per socket. After the kill the process
comes back (the server on its port, Redis on its data directory), the apps
reconnect and resume from the last message they saw, and send again what was
never acked, with the same client ids. Then every acked message is stored
exactly once under the id it was acked with, and each side has every message
of the other exactly once. (tests/redis/test_durability.py proves the same
for the waiting room's cases and leases.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from support import Cluster, ServerProcess, free_port, short_tmpdir, timeout
from support_fault import Sender, check_stored_once, flush, stored
from support_hub import ERIK, GUARDIAN, barrier, citizen, frames_until, kinds, staff, waiting_case

from direkt.loadtests.client import Client, Socket
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

SERVER_ENV = {"DIREKT_MESSAGE_RATE": "1000", "DIREKT_REDIS_TIMEOUT_SECONDS": "2"}


async def join(sock: Socket, case: str, **position: str) -> list[dict[str, Any]]:
    """Join (resuming after ``position``): the replayed frames up to the ``case`` reply."""
    ref = f"join-{next(sock.refs)}"
    await sock.send({"t": "join", "case": case, "ref": ref, **position})
    return await frames_until(sock, "case", 10, ref=ref)


async def chat(citizen_base: str, nurse_base: str, pnr: str, nurse: str) -> tuple[Sender, Sender]:
    """A citizen on one server, the nurse who claims the case on the other, both joined."""
    who, her = await citizen(citizen_base, pnr), await staff(nurse_base, nurse)
    case = await waiting_case(who)
    cs = await who.socket()
    cs.skipped.extend(await join(cs, case))  # kept: where a resume starts from
    ns = await her.socket()
    assert (await ns.request({"t": "claim_next", "rid": f"chat-{case}"}, "claimed"))["case"] == case
    ns.skipped.extend(await join(ns, case))
    await frames_until(cs, "case", 5, case=case, state="joined")
    return (
        Sender(who, cs, case, f"c-{pnr[-4:]}", uid=str(who.me["uid"])),
        Sender(her, ns, case, f"n-{nurse}", uid=str(her.me["uid"])),
    )


class Heard:
    """Everything a side's sockets received, across reconnects: where to resume, what arrived."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def keep(self, sock: Socket, frames: list[dict[str, Any]] | None = None) -> None:
        self.frames += sock.skipped + (frames or [])
        sock.skipped.clear()

    def messages(self) -> list[dict[str, Any]]:
        return kinds(self.frames, "msg")

    def position(self) -> dict[str, str]:
        """``epoch`` and ``after`` for a resume: the last entry received."""
        synced = kinds(self.frames, "synced")
        ids = [m["id"] for m in self.messages()]
        last = max(ids, key=lambda i: tuple(map(int, i.split("-")))) if ids else ""
        return {"epoch": synced[-1]["epoch"], "after": last}


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


@contextlib.asynccontextmanager
async def chatting(senders: list[Sender]) -> AsyncIterator[list[asyncio.Task[None]]]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in senders]
    try:
        yield tasks
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout(20))


async def until(condition: Any, seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while not condition():
        assert loop.time() < deadline, f"{what}: not within {seconds:g} s"
        await asyncio.sleep(0.05)  # polls the condition


async def has_messages(reader: Sender, heard: Heard, ids: set[str], seconds: float) -> None:
    """Read ``reader``'s socket until every message of ``ids`` has arrived (the frames kept in ``skipped``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while missing := ids - {m["id"] for m in kinds(reader.sock.skipped + heard.frames, "msg")}:
        with contextlib.suppress(TimeoutError):
            reader.sock.skipped.append(await reader.sock.recv(max(0.01, deadline - loop.time())))
        assert loop.time() < deadline, f"{reader.tag} never got {len(missing)} acked messages: {sorted(missing)}"


async def settle_and_check(senders: list[Sender], heard: dict[str, Heard], redis_url: str) -> None:
    """Send the unacked again, wait for each side to have the other's messages, check Redis and both views."""
    for sender in senders:
        await sender.retry_pending()
    pairs = [(x, y) for c, n in zip(senders[::2], senders[1::2], strict=True) for x, y in ((c, n), (n, c))]
    for sender, reader in pairs:
        await has_messages(reader, heard[reader.tag], set(sender.acked.values()), 10)
    for sender in senders:
        heard[sender.tag].keep(sender.sock, await barrier(sender.sock))
    check_stored_once(senders, {s.case: await stored(redis_url, s.case) for s in senders})
    for sender, reader in pairs:
        got = [m["id"] for m in heard[reader.tag].messages() if m.get("from") == sender.uid]
        assert len(got) == len(set(got)), f"{reader.tag} got a message of {sender.tag} twice"
        assert set(sender.acked.values()) <= set(got)
        assert got == sorted(got, key=lambda i: tuple(map(int, i.split("-")))), "out of order"


async def close_all(senders: list[Sender], clients: list[Client]) -> None:
    for sender in senders:
        with contextlib.suppress(Exception):
            await sender.sock.close()
    for client in {id(c): c for c in [*clients, *(s.client for s in senders)]}.values():
        await client.aclose()


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
    await flush(standalone_redis.url)
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
