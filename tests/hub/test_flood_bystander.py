"""Message floods and many sockets from one user are throttled; a bystander's chat keeps its latency (TARGETS 19).

Against a real ``direkt serve`` with the documented defaults (docs/protocol.md §1:
20 frames a second per socket, bursts of 40, a flood allowance of 200 refused frames,
5 sockets per user). What users notice: a citizen flooding her chat with messages or
typing over one socket or four gets ``rate_limited`` for each frame over the rate
(none of them stored), is closed with 1008 ``message flood`` in about a second and a
half at ten times the rate, and gets into the transcript and onto the nurse's screen
no more than the rate lets through, however often she opens sockets again (for 10 s
after a flood close her new sockets are refused); a sixth socket is refused while her
others keep working; and another citizen and nurse chatting at 10 messages a second
each way on the same server get every message once, in order, about as fast as before
the flood.

The flood of the bystander test runs in a process of its own (tests/support_flood.py),
as fast as one client process can send and opening sockets again as fast as it can,
so that its client work does not slow the clock the bystanders are timed by. Measured
on a 2-core machine (issue 19): quiet p50 about 2 ms and p95 2-7 ms, during the flood
p50 2-5 ms and p95 6-19 ms; the bounds (4 times the quiet figure, at least 50 and
500 ms) leave room for a loaded CI machine, where the suite's other worker runs beside
it. A server that stores an unthrottled flood
(``DIREKT_MESSAGE_RATE`` 100000: p50 4-7 ms) or never closes one (``DIREKT_FLOOD_FRAMES``
1000000: p50 8-37 ms) is caught by the budgets and the 1008 close, not by the latency
bounds (the server's loop is fair per socket); those catch a flood that holds up
everyone else (1 ms of blocking work per refused frame, never closed: p50 66 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgpack
import pytest
from support import ServerProcess, timeout
from support_flood import (
    BURST,
    CLOSE_POLICY,
    FLOOD_FRAMES,
    MAX_SOCKETS,
    RATE,
    FloodPlan,
    FloodProcess,
    SocketRun,
    flood_socket,
)
from support_hub import GUARDIAN, Chat, barrier, kinds, open_chat

from direkt.loadtests.client import Socket
from direkt.queue.scripts import RedisClient
from direkt.server.redis import keys

pytestmark = pytest.mark.slow

SERVER_ENV: dict[str, str] = {}  # the documented defaults: the point is what docs/protocol.md promises

TEN_TIMES = 1 / (10 * RATE)  # seconds between a flood's frames at ten times the rate
CLOSED_AFTER_S = 1.5  # "at ten times the default rate within about a second and a half"
PACE_S = 0.1  # the bystanders write 10 messages a second each way
QUIET_S = 3.0  # the bystanders' baseline, before the flood
FLOOD_S = 5.0  # the flood, with the bystanders chatting throughout


async def stored_cids(redis: RedisClient, case: str) -> list[str]:
    """The client message ids in the case's transcript, in order (read straight from Redis)."""
    entries: Any = await redis.xrange(keys.chat(case))
    return [cid for _, data in entries if (cid := msgpack.unpackb(data[b"m"]).get("cid"))]


def shown(frames: list[dict[str, Any]], prefix: str) -> list[str]:
    """The ids of the messages with ``prefix`` among a socket's frames, in the order it got them."""
    return [f["cid"] for f in kinds(frames, "msg") if f.get("cid", "").startswith(prefix)]


def queued(sock: Socket) -> list[dict[str, Any]]:
    return [*sock.skipped, *(sock.frames.get_nowait() for _ in range(sock.frames.qsize()))]


def assert_throttled(run: SocketRun) -> None:
    """Every answer to a flood frame was an ack or ``rate_limited`` with its ref, in order; closed as a flood
    (unless the flood ended first and the client closed it)."""
    if not run.ended:
        assert (run.close_code, run.close_reason) == (CLOSE_POLICY, "message flood"), (run.tag, run.close_code)
    assert not run.wrong, run.wrong[:3]
    answered = set(run.acked) | set(run.refused)
    assert len(answered) == len(run.acked) + len(run.refused), "a frame was answered twice"
    if run.kind == "send":  # an admitted message is acked
        assert answered == set(run.sent[: len(answered)]), "answers are not the frames sent first"
    elif run.refused:  # admitted typing is not answered: what is not refused before the last refusal got through
        through = run.sent.index(run.refused[-1]) + 1 - len(run.refused)
        assert set(run.refused) <= set(run.sent) and through <= run.admitted_budget, through
    # The allowance was spent before the close, and no more than the allowance and its refill.
    assert run.ended or len(run.refused) >= FLOOD_FRAMES, (run.tag, len(run.refused))
    assert len(run.refused) <= run.refusal_budget, (len(run.refused), run.lived)


# --- a flood without a bystander: the numbers the document gives --------------------------------


@pytest.mark.parametrize(("kind", "sockets"), [("send", 1), ("send", MAX_SOCKETS - 1), ("typing", 1)])
async def test_a_flood_at_ten_times_the_rate_is_refused_unstored_and_closed_in_about_a_second_and_a_half(
    server: ServerProcess, redis: RedisClient, kind: str, sockets: int
) -> None:
    async with open_chat(server.base, pnr=GUARDIAN, nurse="nurse-2") as chat:
        here = await barrier(chat.cs)
        position = {"epoch": "", "after": ""}
        runs = await asyncio.gather(
            *(
                flood_socket(chat.citizen, chat.case, position, kind=kind, tag=f"f{i}", pace_s=TEN_TIMES)
                for i in range(sockets)
            )
        )
        screen = queued(chat.ns) + await barrier(chat.ns)
        stored = [cid for cid in await stored_cids(redis, chat.case) if cid.startswith("f")]
        # the user's socket that did not flood is untouched, and so is her chat
        ack = await chat.cs.request({"t": "send", "case": chat.case, "cid": "after", "text": "Förlåt"}, "ack")
        assert ack["t"] == "ack", ack
        assert (await chat.ns.expect("msg", timeout(5), cid="after"))["t"] == "msg"
    assert not kinds(here, "error")

    for run in runs:
        assert_throttled(run)
        took = run.closed_at - run.first_at
        assert 1.2 <= took <= CLOSED_AFTER_S + timeout(1.0), f"{run.tag}: closed {took:.2f} s into the flood"
    budget = sum(run.admitted_budget for run in runs)
    if kind == "send":
        acked = {ref for run in runs for ref in run.acked}
        refused = {ref for run in runs for ref in run.refused}
        assert acked <= set(stored) and not refused & set(stored)  # what was refused is not stored
        assert len(stored) == len(set(stored)) <= budget, (len(stored), budget)
        assert shown(screen, "f") == stored  # the nurse sees each stored one once, nothing else
    else:
        typing = [f for f in kinds(screen, "typing") if f["from"] == chat.citizen.me["uid"]]
        assert 0 < len(typing) <= budget, (len(typing), budget)


# --- a bystander beside floods and a sixth socket -----------------------------------------------


@dataclass
class Conversation:
    """A citizen and a nurse writing to each other every ``PACE_S``; when each message was sent and got."""

    chat: Chat
    phase: str = "quiet"
    sent: dict[str, tuple[str, float]] = field(default_factory=dict)  # cid: (phase, when)
    got: dict[str, list[str]] = field(default_factory=dict)  # receiving side: cids in order of arrival
    arrived: dict[str, float] = field(default_factory=dict)
    answers: list[dict[str, Any]] = field(default_factory=list)  # acks and errors to the bystanders' sends
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Conversation]:
        tasks = [
            asyncio.create_task(self._read(self.chat.ns, "n", "bc")),
            asyncio.create_task(self._read(self.chat.cs, "c", "bn")),
            asyncio.create_task(self._write()),
        ]
        try:
            yield self
        finally:
            self.stop.set()
            await tasks[2]
            await self.until(lambda: len(self.arrived) == len(self.sent), 10)
            for task in tasks[:2]:
                task.cancel()
            await asyncio.gather(*tasks[:2], return_exceptions=True)

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        next_at, n = loop.time(), 0
        while not self.stop.is_set():
            for sock, cid in ((self.chat.cs, f"bc{n}"), (self.chat.ns, f"bn{n}")):
                self.sent[cid] = (self.phase, loop.time())
                await sock.send({"t": "send", "case": self.chat.case, "cid": cid, "text": "Hur går det?", "ref": cid})
            n += 1
            next_at += PACE_S
            await asyncio.sleep(max(0.0, next_at - loop.time()))  # the conversation's pace

    async def _read(self, sock: Socket, side: str, prefix: str) -> None:
        loop, got = asyncio.get_running_loop(), self.got.setdefault(side, [])
        while True:
            frame = await sock.frames.get()
            now = loop.time()
            if frame.get("t") == "msg" and frame.get("cid", "").startswith(prefix):
                got.append(frame["cid"])
                self.arrived.setdefault(frame["cid"], now)
            elif frame.get("ref", "").startswith("b"):
                self.answers.append(frame)
            self.changed.set()

    @property
    def changed(self) -> asyncio.Event:
        if not hasattr(self, "_changed"):
            self._changed = asyncio.Event()
        return self._changed

    async def until(self, condition: Any, seconds: float) -> None:
        async with asyncio.timeout(timeout(seconds)):
            while not condition():
                self.changed.clear()
                await self.changed.wait()

    def latencies(self, phase: str) -> list[float]:
        return [self.arrived[cid] - at for cid, (p, at) in self.sent.items() if p == phase]


def quantiles(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in seconds."""
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), cuts[18]


async def test_floods_and_a_sixth_socket_from_one_user_leave_a_bystanders_chat_its_latency(
    server: ServerProcess, redis: RedisClient
) -> None:
    async with (
        open_chat(server.base) as bystanders,
        open_chat(server.base, pnr=GUARDIAN, nurse="nurse-2") as target,
    ):
        synced = await target.cs.request({"t": "join", "case": target.case}, "synced")
        plan = FloodPlan(
            server.base,
            GUARDIAN,
            target.case,
            synced["epoch"],
            synced["last"],
            slots=MAX_SOCKETS - 1,
            extra=2,
            seconds=FLOOD_S,
        )  # her chat's socket and four more: the cap, then two over it
        flooder = FloodProcess(plan)
        try:
            await flooder.ready()
            async with Conversation(bystanders).running() as talk:
                await asyncio.sleep(QUIET_S)  # the baseline's length: the clock is the point here
                talk.phase = "flood"
                flooder.go()
                report = await flooder.report()
                talk.phase = "after"
        finally:
            flooder.stop()
        screen = queued(target.ns) + await barrier(target.ns)
        stored = [cid for cid in await stored_cids(redis, target.case) if cid.startswith("f")]
        ack = await target.cs.request({"t": "send", "case": target.case, "cid": "after", "text": "Förlåt"}, "ack")
        assert ack["t"] == "ack", ack  # her first socket worked throughout and still does
        bystander_stored = [cid for cid in await stored_cids(redis, bystanders.case) if cid.startswith("b")]

    # Many sockets: four more (five with her chat's) were welcomed, the two over the cap refused
    # with rate_limited and 1008, and the four still answered.
    assert [f["t"] for f in report.first] == ["welcome"] * (MAX_SOCKETS - 1), report.first
    assert [(f.get("code"), f["close_code"]) for f in report.extra] == [("rate_limited", CLOSE_POLICY)] * 2
    assert all(report.pinged)
    runs = [SocketRun(**r) for r in report.runs]
    opened = [run for run in runs if run.refusal is None]
    for run in runs:
        if run.refusal is not None:  # a reopening before the server freed the slot
            assert (run.refusal.get("code"), run.close_code) == ("rate_limited", CLOSE_POLICY), run.refusal
    for run in opened:
        assert_throttled(run)
    assert sum(not run.ended for run in opened) >= MAX_SOCKETS - 1  # each first socket was closed as a flood
    # and every socket she opened again within the 10 s after a flood close was refused
    assert len(opened) == MAX_SOCKETS - 1 and len(runs) > len(opened), (len(opened), len(runs))

    # The flood could not fill the transcript or the nurse's screen.
    senders = [run for run in opened if run.kind == "send"]
    budget = sum(run.admitted_budget for run in senders)
    acked, refused = {r for run in senders for r in run.acked}, {r for run in senders for r in run.refused}
    assert acked <= set(stored) and not refused & set(stored)
    assert len(stored) <= budget, (len(stored), budget)
    # And however often she opens sockets again, no more than her five sockets' rate for as long as she flooded.
    lasted = max(run.closed_at for run in runs) - min(run.opened_at for run in runs)
    assert len(stored) <= MAX_SOCKETS * (BURST + RATE * lasted), (len(stored), lasted)
    assert sorted(shown(screen, "f")) == sorted(stored)

    # The bystanders: every message once, in order, none refused.
    assert {a["t"] for a in talk.answers} == {"ack"}, [a for a in talk.answers if a["t"] != "ack"][:3]
    for side, prefix in (("n", "bc"), ("c", "bn")):
        mine = [cid for cid in talk.sent if cid.startswith(prefix)]
        assert talk.got[side] == mine
        assert [cid for cid in bystander_stored if cid.startswith(prefix)] == mine
    quiet, flood = quantiles(talk.latencies("quiet")), quantiles(talk.latencies("flood"))
    numbers = (
        f"quiet p50 {quiet[0] * 1000:.1f} ms p95 {quiet[1] * 1000:.1f} ms; "
        f"flood p50 {flood[0] * 1000:.1f} ms p95 {flood[1] * 1000:.1f} ms; "
        f"{len(opened)} flood sockets, {sum(len(r.sent) for r in opened)} frames, {len(stored)} stored "
        f"of a budget of {budget:.0f}; {len(runs) - len(opened)} sockets refused"
    )
    print(numbers)
    assert flood[0] <= max(4 * quiet[0], timeout(0.05)), numbers
    assert flood[1] <= max(4 * quiet[1], timeout(0.5)), numbers
