"""The issue's proof: a citizen and a nurse on two different server processes
(one Redis) chat 100 messages each way while both sides' sockets drop at
random; the transcript is exact — nothing lost, nothing twice, order kept —
and each side received exactly the other's messages, in order.

Also: the same over one ``direkt serve --workers 2`` (sockets land on either
worker), and the throughput of the run is printed (``-s`` shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from support import ServerProcess, timeout
from support_hub import ERIK, citizen, staff, waiting_case

from direkt.loadtests.client import Client, Socket
from direkt.server.redis.embedded import EmbeddedRedis

MESSAGES = 100
DROP_CHANCE = 0.08  # per message sent: abort the socket (no close frame), as a lost network does


class Participant:
    """One side of the chat: reconnects whenever its socket drops and resumes from its last id."""

    def __init__(self, client: Client, case_id: str, name: str, seed: int) -> None:
        self.client = client
        self.case_id = case_id
        self.name = name
        self.rng = random.Random(seed)
        self.uid = client.me["uid"]
        self.epoch = ""
        self.last_id = ""
        self.received: list[tuple[str, str]] = []  # (stream id, text) of the other side's messages
        self.acks: dict[str, str] = {}
        self.ack_events: dict[str, asyncio.Event] = {}
        self.sock: Socket | None = None
        self.connected = asyncio.Event()
        self.connections = 0
        self.drops = 0
        self.history_lost = 0
        self.done = False

    async def keep_connected(self) -> None:
        while not self.done:
            try:
                await self._connect()
            except Exception:  # noqa: BLE001 - a real client retries whatever broke the connection
                if self.done:
                    return
                await asyncio.sleep(0.05)
                continue
            assert self.sock is not None
            await self.sock.closed.wait()
            self.connected.clear()

    async def _connect(self) -> None:
        sock = await self.client.socket()
        self.sock = sock
        self.connections += 1
        await sock.send({"t": "join", "case": self.case_id, "epoch": self.epoch, "after": self.last_id})
        pump = asyncio.create_task(self._pump(sock))
        try:
            await asyncio.wait_for(self._synced.wait(), timeout(5))
        except BaseException:
            # Not synced in time (a busy machine): this socket and its pump go before the next try, or
            # two sockets would both record the other side's messages (doubled and out of order).
            pump.cancel()
            with contextlib.suppress(Exception):
                await sock.close()
            raise
        self._synced.clear()
        self.connected.set()
        pump.add_done_callback(lambda _: None)

    @property
    def _synced(self) -> asyncio.Event:
        if not hasattr(self, "_synced_event"):
            self._synced_event = asyncio.Event()
        return self._synced_event

    async def _pump(self, sock: Socket) -> None:
        while not sock.closed.is_set() or not sock.frames.empty():
            try:
                frame = await asyncio.wait_for(sock.frames.get(), 0.2)
            except TimeoutError:
                continue
            self._on_frame(frame)

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("t")
        if kind == "msg" and frame["case"] == self.case_id:
            self.last_id = frame["id"]
            if frame.get("k") == "text" and frame.get("from") != self.uid:
                self.received.append((frame["id"], frame["text"]))
        elif kind == "synced":
            self.epoch = frame["epoch"]
            self._synced.set()
        elif kind == "history_lost":
            self.history_lost += 1
        elif kind == "ack":
            self.acks[frame["cid"]] = frame["id"]
            self.ack_events.setdefault(frame["cid"], asyncio.Event()).set()

    async def send_all(self, count: int) -> None:
        for i in range(count):
            cid = f"{self.name}-{i}"
            event = self.ack_events.setdefault(cid, asyncio.Event())
            while not event.is_set():
                await self.connected.wait()
                sock = self.sock
                assert sock is not None
                if self.rng.random() < DROP_CHANCE:
                    self.drops += 1
                    sock.ws.transport.abort()  # the network is gone: no close frame
                    await sock.closed.wait()
                    continue
                with contextlib.suppress(Exception):
                    await sock.send({"t": "send", "case": self.case_id, "cid": cid, "text": f"{self.name} {i}"})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout(2))

    async def wait_received(self, count: int) -> None:
        while len(self.received) < count:  # noqa: ASYNC110 - polls a list the pump appends to
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.done = True
        if self.sock is not None:
            with contextlib.suppress(Exception):
                await self.sock.close()


async def chat_with_drops(citizen_base: str, nurse_base: str) -> dict[str, Any]:
    cit = await citizen(citizen_base, ERIK)
    nurse = await staff(nurse_base, "nurse-1")
    try:
        case_id = await waiting_case(cit)
        nurse_sock = await nurse.socket()
        claimed = await nurse_sock.request({"t": "claim_next", "rid": "e2e"}, "claimed")
        assert claimed["case"] == case_id
        await nurse_sock.close()
        sides = [Participant(cit, case_id, "citizen", 1), Participant(nurse, case_id, "nurse", 2)]
        keepers = [asyncio.create_task(p.keep_connected()) for p in sides]
        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(p.send_all(MESSAGES) for p in sides)), timeout(120))
        await asyncio.wait_for(asyncio.gather(*(p.wait_received(MESSAGES) for p in sides)), timeout(30))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.3)  # would a duplicate still arrive?
        for p in sides:
            await p.stop()
        for task in keepers:
            task.cancel()
        transcript = await cit.call("GET", f"/api/cases/{case_id}/transcript")
        return {"sides": sides, "transcript": transcript, "elapsed": elapsed}
    finally:
        await cit.aclose()
        await nurse.aclose()


def check_exact(result: dict[str, Any]) -> None:
    citizen_side, nurse_side = result["sides"]
    texts = [m for m in result["transcript"]["messages"] if m["k"] == "text"]
    by_role = {"citizen": [m["text"] for m in texts if m["role"] == "citizen"],
               "nurse": [m["text"] for m in texts if m["role"] == "nurse"]}  # fmt: skip
    for name in ("citizen", "nurse"):
        expected = [f"{name} {i}" for i in range(MESSAGES)]
        assert by_role[name] == expected, f"{name}'s messages lost, doubled or reordered"
    assert [t for _, t in nurse_side.received] == by_role["citizen"], "the nurse did not receive exactly the citizen's"
    assert [t for _, t in citizen_side.received] == by_role["nurse"], "the citizen did not receive exactly the nurse's"
    stored_ids = {m["text"]: m["id"] for m in texts}
    for side in (citizen_side, nurse_side):
        assert all(stored_ids[f"{side.name} {i}"] == side.acks[f"{side.name}-{i}"] for i in range(MESSAGES))
        assert side.history_lost == 0
    assert citizen_side.drops + nurse_side.drops > 0, "the test dropped no socket: it proved nothing"


@pytest.fixture(scope="module")
def two_servers(standalone_redis: EmbeddedRedis) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    first = ServerProcess(standalone_redis.url)
    second = ServerProcess(standalone_redis.url)
    yield first, second
    first.stop()
    second.stop()


async def test_a_chat_across_two_processes_with_random_drops_loses_nothing(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two_servers
    result = await chat_with_drops(first.base, second.base)
    check_exact(result)
    sides = result["sides"]
    rate = 2 * MESSAGES / result["elapsed"]
    print(
        f"\n200 messages across two processes with {sum(p.drops for p in sides)} socket drops and "
        f"{sum(p.connections for p in sides)} connections: {result['elapsed']:.2f} s, {rate:.0f} messages/s"
    )


async def test_a_chat_through_several_workers_of_one_server(standalone_redis: EmbeddedRedis) -> None:
    server = ServerProcess(standalone_redis.url, workers=2)
    try:
        result = await chat_with_drops(server.base, server.base)
        check_exact(result)
    finally:
        server.stop()


async def test_the_same_chat_on_a_redis_cluster(redis_cluster: Any) -> None:
    """Two server processes on a 3-master Redis Cluster: same proof, keys spread over slots."""
    first, second = ServerProcess(redis_cluster.url), ServerProcess(redis_cluster.url)
    try:
        check_exact(await chat_with_drops(first.base, second.base))
    finally:
        first.stop()
        second.stop()
