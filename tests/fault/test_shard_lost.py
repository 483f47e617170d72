"""One master of a Redis Cluster restarted empty under a live chat (TARGETS 4).

On a Cluster a node can lose its data alone: killed and started again without
its AOF (a lost disk, or a failover to a replica that had not caught up). A
case's transcript, epoch, write guard and case file share the case's hash tag,
so they go together, while the sessions, the waiting room and every other case
live on the other nodes and carry on. What the users in that chat must notice:
the history is gone, said plainly, and never a part of it replayed as if it
were whole; no message is acked into the lost case; and the chats on the other
nodes are not touched.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import redis
from redis.asyncio.cluster import RedisCluster
from support import Cluster, ServerProcess, short_tmpdir
from support_hub import ERIK, UNLISTED, barrier, citizen, frames_until, joined_again, kinds, send, staff, waiting_case

from direkt.loadtests.client import Client, Socket
from direkt.queue.keys import RegionKeys
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

# Who notices first. "write": the nurse and the citizen write into the lost case (leases of
# 600 s: the consoles' keepalive rounds come every 30 s, too late to be first). "heartbeat":
# no one writes; the nurse's console's next keepalive round (every 2 s with 6 s leases) does.
LEASE_SECONDS = {"write": "600", "heartbeat": "6"}
TRIES = 60  # cases submitted until one lands on the node that will be lost (each does with p = 1/3)
REGION = "t"  # tests/data/hub_region.toml: every case id starts "t."


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    own = Cluster(short_tmpdir("dk-shard-"))  # its own: a node of it is wiped
    own.start()
    yield own
    own.stop()


@pytest.fixture(scope="module", params=sorted(LEASE_SECONDS))
def noticed_by(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def server(cluster: Cluster, noticed_by: str) -> Iterator[ServerProcess]:
    # One cluster for both variants: the first one's cases (one released back to the queue when its
    # lease ran out) must not be the next one's "next case".
    flushed = redis.RedisCluster.from_url(cluster.url)
    flushed.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    flushed.close()
    process = ServerProcess(cluster.url, DIREKT_LEASE_SECONDS=LEASE_SECONDS[noticed_by])
    yield process
    process.stop()


class Nodes:
    """Which of the cluster's nodes holds a key."""

    def __init__(self, cluster: Cluster, client: RedisCluster) -> None:
        self.cluster, self.client = cluster, client

    def of(self, key: str) -> EmbeddedRedis:
        port = self.client.get_node_from_key(key).port
        return next(n for n in self.cluster.nodes if n.port == port)


def session_key(client: Client) -> str:
    return keys.session(str(client.http.cookies.get("direkt_session")))


async def logged_in_off(node: EmbeddedRedis, nodes: Nodes, log_in: AsyncIterator[Client]) -> Client:
    """The first login whose session does not live on ``node``."""
    async for client in log_in:
        if nodes.of(session_key(client)) is not node:
            return client
        await client.aclose()
    raise AssertionError("no login away from the node")


async def logins(base: str, who: str, is_staff: bool) -> AsyncIterator[Client]:
    for _ in range(TRIES):
        yield await (staff(base, who) if is_staff else citizen(base, who))


async def seen(sock: Socket, kind: str, **match: str) -> list[dict[str, Any]]:
    """The socket's frames of ``kind`` matching ``match``, waiting for the first if none came yet."""
    if not kinds(sock.skipped, kind, **match):  # set aside while the socket waited for a reply
        sock.skipped.extend(await frames_until(sock, kind, 10, **match))
    return kinds(sock.skipped + await barrier(sock), kind, **match)


def wipe(node: EmbeddedRedis) -> None:
    """Kill the node and take its data, keeping only what makes it the same cluster member."""
    node.kill()
    for path in node.data_dir.iterdir():
        if path.name.startswith(("appendonly", "dump")):
            shutil.rmtree(path) if path.is_dir() else path.unlink()


async def test_a_master_restarted_empty_loses_its_cases_plainly_and_the_other_chats_carry_on(
    cluster: Cluster, server: ServerProcess, noticed_by: str
) -> None:
    async with AsyncExitStack() as stack:
        await lose_a_master(cluster, server, stack, noticed_by == "write")


async def lose_a_master(cluster: Cluster, server: ServerProcess, stack: AsyncExitStack, write: bool) -> None:
    client = await connect(cluster.url)
    stack.push_async_callback(client.aclose)
    assert isinstance(client, RedisCluster)
    nodes = Nodes(cluster, client)
    kept = {nodes.of(RegionKeys(REGION).fence), nodes.of(keys.DATA_MARKER)}
    lost = next(n for n in cluster.nodes if n not in kept)  # neither the waiting room's nor the marker's node

    erik = await logged_in_off(lost, nodes, logins(server.base, ERIK, False))
    ulla = await logged_in_off(lost, nodes, logins(server.base, UNLISTED, False))
    nora = await logged_in_off(lost, nodes, logins(server.base, "nurse-1", True))
    for who in (erik, ulla, nora):
        stack.push_async_callback(who.aclose)
    for _ in range(TRIES):
        case = await waiting_case(erik)
        if nodes.of(keys.chat(case)) is lost:
            break
        await erik.call("POST", f"/api/cases/{case}/abandon")
    else:
        raise AssertionError("no case landed on the node")
    other = ""
    for _ in range(TRIES):
        other = await waiting_case(ulla)
        if nodes.of(keys.chat(other)) is not lost:
            break
        await ulla.call("POST", f"/api/cases/{other}/abandon")

    ns = await nora.socket()
    stack.push_async_callback(ns.close)
    # She takes both (the others were abandoned). In which order depends on their deadlines, which at
    # night both fall at the same opening hour: so take two and check that they are these two.
    replies = [await ns.request({"t": "claim_next", "rid": f"claim-{i}"}, "claimed") for i in (1, 2)]
    taken = [r.get("case") for r in replies]
    assert set(taken) == {case, other}, replies
    chats: dict[str, tuple[Socket, list[str]]] = {}
    for who, case_id in ((erik, case), (ulla, other)):
        cs = await who.socket()
        stack.push_async_callback(cs.close)
        await cs.request({"t": "join", "case": case_id}, "case")
        await ns.request({"t": "join", "case": case_id}, "case")
        acks = [await send(cs, case_id, f"{case_id}-{i}", f"meddelande {i}") for i in range(3)]
        acks.append(await send(ns, case_id, f"{case_id}-n", "Hej, sjuksköterskan här."))
        chats[case_id] = (cs, [a["id"] for a in acks])
    epoch = (await erik.http.get(f"/api/cases/{case}/transcript")).json()["epoch"]

    wipe(lost)
    lost.start()
    cluster.wait_ok()

    cs, ids = chats[case]
    if write:  # no write is acked into the lost case, from either side
        for sock, cid in ((cs, "after-loss-c"), (ns, "after-loss-n")):
            reply = await sock.request({"t": "send", "case": case, "cid": cid, "text": "Hallå?"}, "ack")
            assert (reply["t"], reply["code"]) == ("error", "case_gone"), reply
    # Her console lets the case go, and the waiting room closes it: no lease kept alive for a ghost,
    # no chat place taken. The citizen's socket is told that the case closed, and why.
    assert await seen(ns, "done", case=case) == [{"t": "done", "case": case, "state": "lost"}]
    told = await seen(cs, "case", case=case, state="closed")
    assert [c.get("outcome") for c in told] == ["data_lost"], told
    fresh = await connect(cluster.url)  # the first client's connection to the node died with it
    stack.push_async_callback(fresh.aclose)
    assert not await fresh.exists(keys.chat(case), keys.case_file(case))
    record = await fresh.hgetall(RegionKeys(REGION).case(case))
    assert (record.get(b"state"), record.get(b"outcome")) == (b"closed", b"data_lost"), record

    # A resume from where the citizen was is refused outright: nothing replayed, nothing "synced".
    async with joined_again(erik, case, epoch=epoch, after=ids[-1]) as (_, frames):
        assert not kinds(frames, "msg") and not kinds(frames, "synced"), frames
        assert (frames[-1]["t"], frames[-1]["code"]) == ("error", "not_found"), frames
    page = await erik.http.get(f"/api/cases/{case}/transcript", params={"epoch": epoch, "after": ids[1]})
    assert (page.status_code, page.json()["error"]["code"]) == (404, "not_found"), page.text

    # The chat on the other nodes carries on, with its whole history.
    ocs, oids = chats[other]
    later = await send(ns, other, "still-here", "Vi fortsätter.")
    got = [m["id"] for m in kinds(await frames_until(ocs, "msg", cid="still-here"), "msg")]
    assert got[-1] == later["id"] and got.count(later["id"]) == 1, got
    async with joined_again(ulla, other) as (_, frames):
        assert [m["id"] for m in kinds(frames, "msg") if m.get("cid")] == [*oids, later["id"]]
    assert not kinds(await barrier(ocs), "error")
