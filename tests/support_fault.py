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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
from faultproxy import FaultProxy, ProxyGroup
from redis.asyncio import RedisCluster
from support import Cluster, cluster_port, timeout

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


def check_stored_once(senders: list[Sender], entries: dict[str, list[Stored]]) -> None:
    """Every acked message is stored exactly once, under the id it was acked with; nothing twice."""
    for sender in senders:
        mine = [e for e in entries[sender.case] if e.sender == sender.uid]
        counts = Counter(e.cid for e in mine)
        twice = {cid: n for cid, n in counts.items() if n > 1}
        assert not twice, f"{sender.tag}: stored more than once: {twice}"
        ids = {e.cid: e.id for e in mine}
        lost = {cid: id_ for cid, id_ in sender.acked.items() if ids.get(cid) != id_}
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
