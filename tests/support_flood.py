"""Floods for tests/hub/test_flood_bystander.py: one user's sockets sending chat frames over the rate.

A flood runs in the test's own process (``flood_socket``) or in a child process of
its own (``FloodProcess``), so that the flooding client's work does not slow the
clock of a bystander measured in the test's process: an attacker on another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from support import timeout
from websockets.exceptions import ConnectionClosed

from direkt.loadtests.client import Client, Socket

# The defaults docs/protocol.md §1 states (the test's server leaves them alone).
RATE = 20.0  # DIREKT_MESSAGE_RATE: frames a second per socket
BURST = 2 * RATE  # "bursts of twice that"
FLOOD_FRAMES = 200  # DIREKT_FLOOD_FRAMES: refused frames a socket may send, refilled at the rate
MAX_SOCKETS = 5  # DIREKT_MAX_SOCKETS_PER_USER
CLOSE_POLICY = 1008


@dataclass
class SocketRun:
    """One flooding socket's life as its client saw it (seconds on the client's monotonic clock)."""

    tag: str
    kind: str  # the frames it flooded: "send" or "typing"
    opened_at: float  # before the handshake: the server's buckets cannot start earlier
    refusal: dict[str, Any] | None = None  # the first frame of a socket refused instead of welcomed
    sent: list[str] = field(default_factory=list)  # every frame's ref (a send's cid too), in order
    acked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # answered rate_limited, with the frame's ref
    wrong: list[dict[str, Any]] = field(default_factory=list)  # any other answer to a flood frame
    first_at: float = 0.0  # the first flood frame
    closed_at: float = 0.0  # the close, as this client noticed it
    close_code: int | None = None
    close_reason: str = ""
    ended: bool = False  # this client closed it, at the flood's end, before the server did
    last: dict[str, str] = field(default_factory=dict)  # the last ack's position: where the next socket joins

    @property
    def lived(self) -> float:
        return self.closed_at - self.opened_at

    @property
    def admitted_budget(self) -> float:
        """Frames the rate lets through a socket that lived this long: the burst and the rate since it opened."""
        return BURST + RATE * self.lived

    @property
    def refusal_budget(self) -> float:
        """Refused frames answered before the close: the flood allowance and its refill."""
        return FLOOD_FRAMES + RATE * self.lived


def flood_frame(kind: str, case: str, ref: str) -> dict[str, Any]:
    if kind == "send":
        return {"t": "send", "case": case, "cid": ref, "text": "Hallå hallå " * 330, "ref": ref}
    return {"t": "typing", "case": case, "on": True, "ref": ref}


async def flood_socket(
    client: Client,
    case: str,
    position: dict[str, str],
    *,
    kind: str,
    tag: str,
    pace_s: float,
    sock: Socket | None = None,
    until: float = float("inf"),
) -> SocketRun:
    """Open a socket (or use ``sock``, already welcomed), join ``case`` from ``position`` and send
    ``kind`` frames every ``pace_s`` (on a fixed schedule; 0: as fast as the socket takes them) until
    the server closes it (or the loop's clock reaches ``until``: then this client closes it). A socket
    refused at the door comes back with its ``refusal`` and nothing sent."""
    loop = asyncio.get_running_loop()
    run = SocketRun(tag, kind, loop.time())
    if sock is None:
        sock = await client.socket()
        first = await sock.recv(timeout(10))
        if first["t"] != "welcome":
            run.refusal = first
            return await _closed(sock, run)
    joined = await sock.request({"t": "join", "case": case, **position}, "case", timeout(10))
    assert joined["t"] == "case", joined
    run.first_at = next_at = loop.time()
    with contextlib.suppress(ConnectionClosed):
        while not sock.closed.is_set():
            assert loop.time() < run.first_at + timeout(30), f"{tag}: still open after {len(run.sent)} frames"
            if loop.time() >= until:
                run.ended = True
                await sock.ws.close()
                break
            ref = f"{tag}.{len(run.sent)}"
            await sock.send(flood_frame(kind, case, ref))
            run.sent.append(ref)
            next_at += pace_s
            await asyncio.sleep(max(0.0, next_at - loop.time()))  # the flood's pace (0: just let others run)
    return await _closed(sock, run)


async def _closed(sock: Socket, run: SocketRun) -> SocketRun:
    await asyncio.wait_for(sock.closed.wait(), timeout(10))
    run.closed_at = asyncio.get_running_loop().time()
    run.close_code, run.close_reason = sock.close_code, sock.ws.close_reason or ""
    mine = set(run.sent)
    for frame in [*sock.skipped, *(sock.frames.get_nowait() for _ in range(sock.frames.qsize()))]:
        if frame.get("ref") not in mine:
            continue  # the chat itself: other sockets' messages, typing, positions
        if frame["t"] == "ack":
            run.acked.append(frame["ref"])
            run.last = {"epoch": frame["epoch"], "after": frame["id"]}
        elif frame["t"] == "error" and frame["code"] == "rate_limited":
            run.refused.append(frame["ref"])
        else:
            run.wrong.append(frame)
    return run


# --- a flood in a child process ------------------------------------------------------------------


@dataclass
class FloodPlan:
    """One user's flood: ``slots`` sockets (and ``extra`` more over the per-user cap, which must be
    refused), each flooding as fast as it can and reopened when closed, for ``seconds``."""

    base: str
    pnr: str
    case: str
    epoch: str
    after: str
    slots: int
    extra: int
    seconds: float
    typing_slots: int = 1  # how many of the slots flood typing instead of messages


@dataclass
class FloodReport:
    first: list[dict[str, Any]]  # the sockets opened first, before the extra ones
    extra: list[dict[str, Any]]  # the sockets over the cap
    pinged: list[bool]  # each first socket still answered a ping after the extra ones were refused
    runs: list[dict[str, Any]]  # every flooding socket's life (SocketRun)
    started: float  # time.time() when the flood began


class FloodProcess:
    """``plan`` run in a child process: it logs in, says so, floods on ``go()``, and ``report()``s."""

    def __init__(self, plan: FloodPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(target=_child, args=(plan, child), name="flooder", daemon=True)
        self.process.start()

    async def ready(self) -> None:
        assert await self._recv() == "ready"

    def go(self) -> None:
        self._conn.send("go")

    async def report(self) -> FloodReport:
        report: FloodReport = await self._recv()
        return report

    async def _recv(self) -> Any:
        deadline = time.monotonic() + timeout(60)
        while not await asyncio.to_thread(self._conn.poll, 0.2):
            assert self.process.is_alive(), f"the flooder died ({self.process.exitcode})"
            assert time.monotonic() < deadline, "the flooder did not answer"
        return self._conn.recv()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout(10))


def _child(plan: FloodPlan, conn: Connection) -> None:
    conn.send(asyncio.run(_flood(plan, conn)))


async def _flood(plan: FloodPlan, conn: Connection) -> FloodReport:
    async with Client(plan.base) as client:
        await client.login_citizen(plan.pnr)
        await client.ticket()  # warm: the first request's costs are not the flood's
        conn.send("ready")
        await asyncio.to_thread(conn.recv)
        started, loop = time.time(), asyncio.get_running_loop()
        first = [await client.socket() for _ in range(plan.slots)]
        first_frames = [await sock.recv(timeout(10)) for sock in first]
        extra = [await client.socket() for _ in range(plan.extra)]
        extra_frames = [await sock.recv(timeout(10)) for sock in extra]
        for sock in extra:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sock.closed.wait(), timeout(10))
        extra_frames = [{**f, "close_code": s.close_code} for f, s in zip(extra_frames, extra, strict=True)]
        pinged = [(await sock.request({"t": "ping"}, "pong"))["t"] == "pong" for sock in first]
        position = {"epoch": plan.epoch, "after": plan.after}
        end = loop.time() + plan.seconds
        runs = await asyncio.gather(
            *(_slot(client, plan, position, i, first[i], end) for i in range(plan.slots)), return_exceptions=False
        )
        return FloodReport(first_frames, extra_frames, pinged, [asdict(r) for rs in runs for r in rs], started)


async def _slot(
    client: Client, plan: FloodPlan, position: dict[str, str], slot: int, sock: Socket | None, end: float
) -> list[SocketRun]:
    """One socket slot: flood until closed, open again (a refused attempt counts and is retried), until ``end``."""
    kind = "typing" if slot < plan.typing_slots else "send"
    runs: list[SocketRun] = []
    loop = asyncio.get_running_loop()
    while loop.time() < end:
        tag = f"f{slot}-{len(runs)}"
        run = await flood_socket(client, plan.case, position, kind=kind, tag=tag, pace_s=0.0, sock=sock, until=end)
        sock = None
        runs.append(run)
        position = run.last or position  # as a client resumes: no replay of what it sent
        if run.refusal is not None:
            await asyncio.sleep(0)  # and again at once, as an attacker would
    return runs
