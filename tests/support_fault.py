"""Helpers for the fault-injection tests (tests/fault): what was acked, what is stored.

A ``Sender`` is one side of a chat sending numbered messages and keeping the
outcome of each (acked with a stream id, refused with a code, or unknown: no
answer before its socket died). ``stored`` reads a case's transcript straight
from Redis, so each test compares what users were told with what is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from faultproxy import FaultProxy, ProxyGroup
from redis.asyncio import RedisCluster
from support import Cluster, cluster_port, reseeded, timeout
from support_hub import barrier, citizen, frames_until, kinds, staff, waiting_case

from direkt.loadtests.client import Client, Socket
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

SEND_INTERVAL_S = 0.05  # per socket: 20 messages a second, the default rate limit


@dataclass
class Faulty:
    """A Redis the servers reach only through ``network``; the test reads it at ``direct_url``."""

    network: ProxyGroup
    direct_url: str

    @property
    def url(self) -> str:
        return self.network.url


class ProxiedCluster(Cluster):
    """A 3-master Redis Cluster whose nodes are reached through fault proxies, one each.

    Each node announces its proxy's port (``cluster-announce-port``), so clients that
    learn the topology from CLUSTER SLOTS connect through the proxies too; the cluster
    bus stays direct (``cluster-announce-bus-port``): the faults are between app and Redis.
    """

    def __init__(self, base: Path) -> None:
        ports = [cluster_port() for _ in range(3)]
        self.proxies = ProxyGroup([FaultProxy(f"redis://127.0.0.1:{port}").start() for port in ports])
        self.nodes = [
            EmbeddedRedis(
                base / f"n{i}",
                port=port,
                extra={
                    "cluster-enabled": "yes",
                    "cluster-config-file": "nodes.conf",
                    "cluster-node-timeout": "2000",
                    "cluster-announce-ip": "127.0.0.1",
                    "cluster-announce-port": str(proxy.port),
                    "cluster-announce-bus-port": str(port + 10_000),
                },
            )
            for i, (port, proxy) in enumerate(zip(ports, self.proxies.proxies, strict=True))
        ]

    @property
    def url(self) -> str:
        """Through the proxies (for the servers)."""
        return self.proxies.url

    @property
    def direct_url(self) -> str:
        """Straight to a node (for the test's own reads: never faulted)."""
        return self.nodes[0].url

    def stop(self) -> None:
        super().stop()
        for proxy in self.proxies.proxies:
            proxy.stop()


@dataclass(frozen=True)
class Stored:
    id: str
    sender: str
    cid: str
    text: str


async def stored(redis_url: str, case: str) -> list[Stored]:
    """The case's transcript as Redis holds it (chat messages only), in stream order."""
    client = await connect(redis_url)
    try:
        entries: Any = await client.xrange(keys.chat(case))
    finally:
        await client.aclose()
    bodies = [(i.decode(), msgpack.unpackb(f[b"m"])) for i, f in entries]
    return [Stored(i, b["from"], b["cid"], b["text"]) for i, b in bodies if b.get("cid")]


async def flush(redis_url: str) -> None:
    client = await connect(redis_url)
    try:
        if isinstance(client, RedisCluster):
            await client.flushall(target_nodes=RedisCluster.PRIMARIES)
        else:
            await client.flushall()
    finally:
        await client.aclose()


async def flushed(redis_url: str, served_at: str = "") -> None:
    """A test's fresh start: ``redis_url`` flushed, and every server on it (on ``served_at``, a proxy in
    front of it) has seeded its own region file again. Without the wait a login right after the flush
    met whatever configuration the server held before: another module's, seeded into the same Redis
    by a server with another region file (staff login refused, 401)."""
    await flush(redis_url)
    await asyncio.to_thread(reseeded, served_at or redis_url)


@dataclass
class Sender:
    """One side of a chat: sends numbered messages and remembers what it was told about each."""

    client: Client
    sock: Socket
    case: str
    tag: str
    uid: str = ""
    acked: dict[str, str] = field(default_factory=dict)  # cid -> stream id
    refused: Counter[str] = field(default_factory=Counter)  # error code -> how many
    pending: dict[str, str] = field(default_factory=dict)  # cid -> text: refused or never answered
    acked_after: dict[str, int] = field(default_factory=dict)  # a mark -> acks counted when it was set
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send_one(self, seconds: float = 5.0) -> dict[str, Any] | None:
        cid = f"{self.tag}-{next(self._numbers)}"
        text = f"Meddelande {cid}"
        return await self.send(cid, text, seconds)

    async def send(self, cid: str, text: str, seconds: float = 5.0) -> dict[str, Any] | None:
        """Send (or retry) ``cid``; record the answer. None: no answer (the socket died, or a timeout)."""
        ref = f"s-{cid}-{next(self.sock.refs)}"
        self.pending[cid] = text
        try:
            await self.sock.send({"t": "send", "case": self.case, "cid": cid, "text": text, "ref": ref})
        except Exception:  # noqa: BLE001 - the socket died under us: the outcome is unknown
            return None
        got = await answer_to(self.sock, ref, ("ack", "error"), timeout(seconds))
        if got is not None and got["t"] == "ack":
            assert got["cid"] == cid and got["case"] == self.case, got
            previous = self.acked.setdefault(cid, got["id"])
            assert previous == got["id"], f"{cid} acked as {previous}, then as {got['id']}"
            del self.pending[cid]
        elif got is not None:
            self.refused[got["code"]] += 1
        return got

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop``, one message per SEND_INTERVAL_S (a live chat, not a flood)."""
        while not stop.is_set() and not self.sock.closed.is_set():
            await self.send_one()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SEND_INTERVAL_S)

    async def retry_pending(self, seconds: float = 10.0) -> None:
        """Send every message without an ack again, with its cid, until each is acked."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout(seconds)
        for cid, text in sorted(self.pending.items()):
            while cid in self.pending:
                assert loop.time() < deadline, f"{cid} was never acked: {self.refused}"
                await self.send(cid, text)

    def mark(self, name: str) -> None:
        self.acked_after[name] = len(self.acked)

    def acked_since(self, name: str) -> int:
        return len(self.acked) - self.acked_after[name]


def not_stored(sender: Sender, entries: dict[str, list[Stored]]) -> dict[str, str]:
    """The messages ``sender`` was told were stored (cid -> stream id) that are not there under that id."""
    ids = {e.cid: e.id for e in entries[sender.case] if e.sender == sender.uid}
    return {cid: id_ for cid, id_ in sender.acked.items() if ids.get(cid) != id_}


def check_stored_once(senders: list[Sender], entries: dict[str, list[Stored]]) -> None:
    """Every acked message is stored exactly once, under the id it was acked with; nothing twice."""
    for sender in senders:
        mine = [e for e in entries[sender.case] if e.sender == sender.uid]
        counts = Counter(e.cid for e in mine)
        twice = {cid: n for cid, n in counts.items() if n > 1}
        assert not twice, f"{sender.tag}: stored more than once: {twice}"
        lost = not_stored(sender, entries)
        assert not lost, f"{sender.tag}: acked but not stored under that id: {lost}"
        texts = {e.cid: e.text for e in mine}
        assert all(texts[cid] == f"Meddelande {cid}" for cid in sender.acked)


async def ask(sock: Socket, frame: dict[str, Any], kind: str, seconds: float = 5.0) -> dict[str, Any] | None:
    """Send ``frame`` with a fresh ref: its ``kind`` reply or error, or None (no answer, socket gone)."""
    ref = f"a-{next(sock.refs)}"
    try:
        await sock.send({**frame, "ref": ref})
    except Exception:  # noqa: BLE001 - the socket died under us
        return None
    return await answer_to(sock, ref, (kind, "error"), timeout(seconds))


async def answer_to(sock: Socket, ref: str, kinds: tuple[str, ...], seconds: float) -> dict[str, Any] | None:
    """The first frame of ``kinds`` for ``ref``; None when the socket closes or nothing comes in time.

    Other frames are kept in ``sock.skipped``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if sock.closed.is_set() and sock.frames.empty():
            return None
        getting = asyncio.ensure_future(sock.frames.get())
        closing = asyncio.ensure_future(sock.closed.wait())
        done, _ = await asyncio.wait({getting, closing}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        closing.cancel()
        if getting not in done:
            getting.cancel()
            continue
        frame = getting.result()
        if frame.get("ref") == ref and frame.get("t") in kinds:
            return frame
        sock.skipped.append(frame)
    return None


# --- chats under load: what each side was told and what it heard (tests/fault/test_kill.py, test_power_loss.py)


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
