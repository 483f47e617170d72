"""The app cut off from Redis under chat and claim load, across two server processes (TARGETS 11).

Two real ``direkt serve`` processes reach the real embedded Redis through the
fault proxy (tests/faultproxy.py). Citizens chat from one process with a
nurse on the other while two nurses, one on each process, claim and release
waiting cases as fast as they can. Then the network to Redis becomes a
blackhole for several of the servers' Redis timeouts, and heals.

What users notice: while Redis is gone, writes fail closed with a typed
``redis_unavailable`` error (nothing is acked that is not stored) and the
sockets stay open; after healing the chats carry on by themselves, every
acked message is stored once and reached the other side once (retries with
the same ``cid`` included), and no case ever had two holders: the waiting
room's own event stream, read straight from Redis, shows every claim
followed by a release before the next claim.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgpack
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from support import ServerProcess, timeout
from support_fault import Faulty, Sender, Stored, ask, check_stored_once, flushed, stored
from support_hub import ERIK, barrier, citizen, frames_until, kinds, staff, waiting_case

from direkt.loadtests.client import Client, Socket
from direkt.queue.keys import events_channel

pytestmark = pytest.mark.slow

REDIS_TIMEOUT_S = 1.5  # each server's DIREKT_REDIS_TIMEOUT_SECONDS here (5 by default)
CUT_S = 10.0  # the blackhole lasts 10 s (TARGETS 11): several of the servers' Redis timeouts
CHATS = 3
TOLD_AT_LEAST = 2  # refusals per sender in a 10 s cut: 3 to 6 seen; a sender left hanging got 1
CLAIMABLE = 4  # waiting cases the two nurses claim and release
SERVER_ENV = {
    "DIREKT_REDIS_TIMEOUT_SECONDS": str(REDIS_TIMEOUT_S),
    "DIREKT_LEASE_SECONDS": "30",  # longer than the cut: leases held through it stay held
    "DIREKT_REAP_INTERVAL_SECONDS": "0.5",
    "DIREKT_MESSAGE_RATE": "1000",
}


@pytest.fixture(scope="module")
def servers(faulty_redis: Faulty) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    first = ServerProcess(faulty_redis.url, **SERVER_ENV)
    try:
        second = ServerProcess(faulty_redis.url, **SERVER_ENV)
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


@dataclass
class Desk:
    """A nurse claiming the next case and releasing it again, over and over."""

    name: str
    sock: Socket
    claims: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            case = await self._until_answered({"t": "claim_next", "rid": f"{self.name}-{round_}"}, "claimed", stop)
            if case:
                self.claims += 1
                await self._until_answered({"t": "release", "case": case}, "done", None)

    async def _until_answered(self, frame: dict[str, Any], kind: str, stop: asyncio.Event | None) -> str | None:
        """Repeat ``frame`` (the same rid: no second case) until it is answered; the case, if any."""
        while True:
            got = await ask(self.sock, frame, kind, 5)
            if got is not None and got["t"] == kind:
                return got.get("case")
            code = "no answer" if got is None else got["code"]
            self.refused[code] = self.refused.get(code, 0) + 1
            if code == "conflict":  # a release that went through before its reply was lost
                return None
            if stop is not None and stop.is_set():
                return None
            assert not self.sock.closed.is_set(), f"{self.name}'s socket closed: {self.sock.close_code}"
            assert got is None or code == "redis_unavailable", got


class QueueEvents:
    """Every waiting-room event of region ``t``, read straight from Redis (not through the proxy)."""

    def __init__(self, redis_url: str) -> None:
        self.client = Redis.from_url(redis_url)
        self.pubsub: Any = self.client.pubsub()
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.pubsub.subscribe(events_channel("t"))
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.pubsub.listen():
            if message["type"] == "message":
                self.events.append(msgpack.unpackb(message["data"]))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.pubsub.aclose()
        await self.client.aclose()


def two_holders(events: list[dict[str, Any]]) -> list[str]:
    """Claims of a case that someone else (or the same nurse) still held, in event order."""
    ends = {"requeued", "expired", "closed", "transferred", "abandoned", "moving"}
    holder: dict[str, str] = {}
    found = []
    for event in sorted(events, key=lambda e: e["seq"]):
        case = event["case"]
        if event["t"] == "claimed":
            if case in holder:
                found.append(f"{case}: claimed by {event['staff']} while {holder[case]} held it")
            holder[case] = event["staff"]
        elif event["t"] in ends:
            holder.pop(case, None)
    return found


async def chat_across(who: Client, nurse: Client, case: str) -> tuple[Sender, Sender]:
    """The citizen on one process, the nurse (claiming ``case`` now) on the other, both joined."""
    cs = await who.socket()
    await cs.request({"t": "join", "case": case}, "case")
    ns = await nurse.socket()
    claimed = await ns.request({"t": "claim_next", "rid": f"chat-{case}"}, "claimed")
    assert claimed["case"] == case, claimed
    await ns.request({"t": "join", "case": case}, "case")
    await frames_until(cs, "case", 5, case=case, state="joined")
    tag = case[-6:]
    return (
        Sender(who, cs, case, f"c{tag}", uid=str(who.me["uid"])),
        Sender(nurse, ns, case, f"n{tag}", uid=str(nurse.me["uid"])),
    )


@contextlib.asynccontextmanager
async def load(senders: list[Sender], desks: list[Desk]) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(s.run(stop)) for s in senders] + [asyncio.create_task(d.run(stop)) for d in desks]
    try:
        yield stop
    finally:
        stop.set()
        done, pending = await asyncio.wait(tasks, timeout=timeout(20))
        for task in pending:
            task.cancel()
        for task in done:
            task.result()  # a failed assertion in a load task fails the test
        assert not pending, "the load did not stop"


async def until(condition: Any, seconds: float, what: str) -> None:
    """Wait for ``condition()`` (checked as frames arrive), failing after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while not condition():
        assert loop.time() < deadline, f"{what}: not within {seconds:g} s"
        await asyncio.sleep(0.05)  # a poll of the condition, not a guess at how long things take


def pairs(senders: list[Sender]) -> list[tuple[Sender, Sender]]:
    """(sender, the other side of its chat), both ways for each chat."""
    chats = list(zip(senders[::2], senders[1::2], strict=True))
    return [(x, y) for c, n in chats for x, y in ((c, n), (n, c))]


async def messages_with(sock: Socket, ids: set[str], seconds: float) -> None:
    """Read the socket until messages with every one of ``ids`` have arrived (kept in ``skipped``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    missing = ids - {m["id"] for m in kinds(sock.skipped, "msg")}
    while missing:
        assert loop.time() < deadline, f"{len(missing)} acked messages never arrived on the other side"
        frame = await sock.recv(max(0.01, deadline - loop.time()))
        sock.skipped.append(frame)
        if frame.get("t") == "msg":
            missing.discard(frame["id"])


@dataclass
class Cut:
    """What the users of both processes saw through one cut, and what Redis holds after it."""

    senders: list[Sender]
    desks: list[Desk]
    events: list[dict[str, Any]]
    acked_during: int
    stored: dict[str, list[Stored]]
    heard: dict[str, list[dict[str, Any]]]  # sender tag -> the messages its socket received


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(faulty_redis: Faulty, servers: tuple[ServerProcess, ServerProcess]) -> Cut:
    """Chat and claim load on both processes; Redis cut off for CUT_S; load again after healing."""
    a, b = servers
    await flushed(faulty_redis.direct_url, served_at=faulty_redis.url)
    events = QueueEvents(faulty_redis.direct_url)
    await events.start()
    clients: list[Client] = []
    senders: list[Sender] = []
    desks: list[Desk] = []
    try:
        erik, nora_b = await citizen(a.base, ERIK), await staff(b.base, "nurse-1")
        nora_a, olle_b = await staff(a.base, "nurse-1"), await staff(b.base, "nurse-2")
        clients += [erik, nora_b, nora_a, olle_b]
        for _ in range(CHATS):
            senders += await chat_across(erik, nora_b, await waiting_case(erik))
        for _ in range(CLAIMABLE):
            await waiting_case(erik)
        desks = [Desk("nora-a", await nora_a.socket()), Desk("olle-b", await olle_b.socket())]

        async with load(senders, desks):
            await until(lambda: all(len(s.acked) >= 5 for s in senders), 10, "chat before the cut")
            for sender in senders:
                sender.mark("cut")
            before = {d.name: d.claims for d in desks}
            faulty_redis.network.drop()
            await asyncio.sleep(CUT_S)  # the fault's duration, not a wait for something to happen
            faulty_redis.network.heal()
            acked_during = sum(s.acked_since("cut") for s in senders)
            for sender in senders:
                sender.mark("healed")
            await until(lambda: all(s.acked_since("healed") >= 5 for s in senders), 20, "chat after healing")
            await until(lambda: all(d.claims > before[d.name] + 2 for d in desks), 20, "claims after healing")

        for sender in senders:
            assert not sender.sock.closed.is_set(), f"{sender.tag}: closed with {sender.sock.close_code}"
            await sender.retry_pending()
        for sender, reader in pairs(senders):
            await messages_with(reader.sock, set(sender.acked.values()), 30)  # a deadline, not a latency bar
        heard = {s.tag: kinds(s.sock.skipped + await barrier(s.sock), "msg") for s in senders}
        entries = {s.case: await stored(faulty_redis.direct_url, s.case) for s in senders}
    finally:
        await events.aclose()
        for sock in [s.sock for s in senders] + [d.sock for d in desks]:
            await sock.close()
        for client in clients:
            await client.aclose()
    return Cut(senders, desks, events.events, acked_during, entries, heard)


def test_nothing_acked_is_lost_or_doubled_and_each_side_got_every_message_once(cut: Cut) -> None:
    check_stored_once(cut.senders, cut.stored)
    for sender, reader in pairs(cut.senders):
        got = [m["id"] for m in cut.heard[reader.tag] if m.get("from") == sender.uid]
        assert sorted(got) == sorted(set(got)), f"{reader.tag} got messages of {sender.tag} twice"
        assert set(sender.acked.values()) <= set(got)
    assert cut.acked_during <= 2 * len(cut.senders), cut.acked_during  # only those in flight when it began


def test_no_case_ever_had_two_holders(cut: Cut) -> None:
    seqs = sorted(e["seq"] for e in cut.events)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "queue events were missed: the check is incomplete"
    assert sum(e["t"] == "claimed" for e in cut.events) >= CHATS + 6
    assert two_holders(cut.events) == []
    for desk in cut.desks:
        assert set(desk.refused) <= {"redis_unavailable", "no answer", "conflict"}, desk.refused


def test_writes_fail_closed_with_a_typed_error_while_redis_is_cut_off(cut: Cut) -> None:
    """Every user who wrote during the cut was told so, with ``redis_unavailable``, again and
    again through it: not left waiting for the network to heal.

    A sender waits for each answer before the next send, so one left hanging for most of
    the cut would be told once at most; each answered within the Redis timeout is told at
    least every REDIS_TIMEOUT_S + SEND_INTERVAL_S.
    """
    assert {code for s in cut.senders for code in s.refused} <= {"redis_unavailable"}
    told = {s.tag: s.refused["redis_unavailable"] for s in cut.senders}
    assert min(told.values()) >= TOLD_AT_LEAST, f"sends refused during the cut, per sender: {told}"
