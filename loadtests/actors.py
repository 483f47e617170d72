"""Scripted citizens and nurses that speak the real protocol.

A citizen logs in, triages, waits (counting ``position`` frames), chats once
the nurse opens the chat, and resumes after a lost connection the way the
widget does: a new ticket, a new socket, ``join`` with the epoch and the last
entry id it holds. A nurse claims with ``claim_next``, joins each case, sends
text and phrase templates, and closes cases with an outcome.

Chat messages carry their sequence number and scheduled send time in the
text (``L<seq> <time>``), so the receiving side measures the latency from
the time the message was due and the ledger sees each message's fate. Both
sides of a conversation live in one client process, so the times share a
clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from typing import Any

import aiohttp
import orjson

from direkt.loadtests.client import ApiError
from direkt.loadtests.fleet import enter_citizen, login_nurse
from direkt.loadtests.hist import Latency, Timeline
from direkt.loadtests.ledger import Ledger
from direkt.loadtests.wire import Frame, Http, Session, Wire
from direkt.loadtests.wsclient import Refused

ACK_TIMEOUT_S = 30.0


class Probe:
    """What one client process observed."""

    def __init__(self, t0: float) -> None:
        self.latency = Latency()  # the scenario's headline latency
        self.extra: dict[str, Latency] = {}
        self.timeline = Timeline(t0)
        self.ledger = Ledger()
        self.errors: Counter[str] = Counter()
        self.counters: Counter[str] = Counter()
        self.examples: dict[str, str] = {}  # one message per error code, for the report
        self.windows: list[tuple[str, float, float]] = []  # (name, from, to): citizen → nurse latency by phase
        self.flooded: set[str] = set()  # cases left out of the windows (the flood scenario's flooders')

    def other(self, name: str) -> Latency:
        found = self.extra.get(name)
        if found is None:
            found = self.extra[name] = Latency()
        return found

    def error(self, code: str) -> None:
        self.errors[code] += 1

    def headline(self, latency_s: float) -> None:
        self.latency.record_s(latency_s)
        self.timeline.record(time.monotonic(), latency_s)

    def windowed(self, case: str, scheduled: float, latency_s: float) -> None:
        """A citizen → nurse message also counts in the window its scheduled send time falls in."""
        if case in self.flooded:
            return
        for name, start, end in self.windows:
            if start <= scheduled < end:
                self.other(name).record_s(latency_s)


def stream_key(case: str, side: str) -> str:
    """The ledger key of the messages ``side`` ('c' citizen, 'n' nurse) sends in ``case``."""
    return f"{case}:{side}"


def message_text(seq: int, scheduled: float, size: int) -> str:
    head = f"L{seq} {scheduled:.6f} "
    return head + "x" * max(0, size - len(head))


def parse_text(text: str) -> tuple[int, float] | None:
    if not text.startswith("L"):
        return None
    try:
        seq, at, *_ = text[1:].split(" ", 2)
        return int(seq), float(at)
    except ValueError:
        return None


def later_id(a: str, b: str) -> str:
    """The later of two stream ids ('<ms>-<n>'); '' is the earliest."""
    if not a:
        return b
    if not b:
        return a
    ka = tuple(int(x) for x in a.split("-"))
    kb = tuple(int(x) for x in b.split("-"))
    return a if ka >= kb else b


class Actor:
    """A user with one socket that resumes its cases after the socket is lost."""

    side = "?"

    def __init__(self, probe: Probe, http: Http) -> None:
        self.probe = probe
        self.http = http
        self.session: Session | None = None
        self.wire: Wire | None = None
        self.online = asyncio.Event()
        self.cursor: dict[str, tuple[str, str]] = {}  # case -> (epoch, last id)
        self.synced: dict[str, asyncio.Event] = {}
        self.uid = ""
        self.leaving = False
        self.waiters: list[tuple[Any, asyncio.Future[Frame]]] = []

    def expect(self, kind: str, timeout: float = 30.0, /, **match: Any) -> asyncio.Task[Frame]:
        """The next frame of ``kind`` whose fields match; registered now, so call it before the frame can come."""
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        entry = ((kind, match), future)
        self.waiters.append(entry)

        async def wait() -> Frame:
            try:
                return await asyncio.wait_for(future, timeout)
            finally:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(entry)

        return asyncio.create_task(wait())

    def _wake(self, frame: Frame) -> None:
        for (kind, match), future in list(self.waiters):
            if frame.get("t") == kind and not future.done() and all(frame.get(k) == v for k, v in match.items()):
                future.set_result(frame)

    async def connect(self) -> None:
        assert self.session is not None
        url = await self.http.ticket_url(self.session)
        self.wire = await Wire.open(url, self.http.base_url, self.on_frame)
        asyncio.get_running_loop().create_task(self._watch(self.wire))
        for case in self.cursor:
            await self.join(case)
        self.online.set()

    async def join(self, case: str) -> None:
        assert self.wire is not None
        epoch, last = self.cursor.setdefault(case, ("", ""))
        self.synced.setdefault(case, asyncio.Event()).clear()
        await self.wire.send({"t": "join", "case": case, "epoch": epoch, "after": last})

    async def _watch(self, wire: Wire) -> None:
        await wire.closed.wait()
        if wire is self.wire and not self.leaving:
            self.online.clear()
            self.probe.error(f"socket_closed_{wire.close_code}")

    def drop(self) -> None:
        """Lose the connection on purpose (a reconnect storm)."""
        if self.wire is not None:
            self.online.clear()
            wire, self.wire = self.wire, None
            wire.drop()

    async def close(self) -> None:
        self.leaving = True
        if self.wire is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.wire.close(), 5)

    def on_frame(self, frame: Frame) -> None:
        if self.waiters:
            self._wake(frame)
        t = frame.get("t")
        if t == "msg":
            self._on_msg(frame)
        elif t == "synced":
            case = frame["case"]
            _, last = self.cursor.get(case, ("", ""))
            self.cursor[case] = (frame["epoch"], later_id(last, frame.get("last", "")))
            self.synced.setdefault(case, asyncio.Event()).set()
        elif t == "welcome":
            self.uid = frame.get("uid", "")
        elif t == "error":
            self.probe.error(str(frame.get("code")))
        elif t == "history_lost":
            self.probe.error("history_lost")
        else:
            self.on_other(frame)

    def _on_msg(self, frame: Frame) -> None:
        case = frame["case"]
        epoch, last = self.cursor.get(case, ("", ""))
        self.cursor[case] = (epoch, later_id(last, frame["id"]))
        if frame.get("role") == ("citizen" if self.side == "c" else "nurse") or frame.get("k") == "system":
            return  # our own side's entries, and system entries
        parsed = parse_text(str(frame.get("text", "")))
        if parsed is None:
            return
        seq, scheduled = parsed
        sender = "n" if self.side == "c" else "c"
        if self.probe.ledger.received(stream_key(case, sender), seq):
            self.on_delivered(sender, time.monotonic() - scheduled)
            if sender == "c" and self.probe.windows:
                self.probe.windowed(case, scheduled, time.monotonic() - scheduled)

    def on_delivered(self, sender: str, latency_s: float) -> None:
        if sender == "c":
            self.probe.headline(latency_s)  # citizen → nurse: the headline figure
        else:
            self.probe.other("nurse_to_citizen").record_s(latency_s)

    def on_other(self, frame: Frame) -> None:
        """Scenario-specific frames."""

    async def send(self, case: str, seq: int, scheduled: float, size: int, template: str = "") -> None:
        """Send one chat message; after a lost socket, retry with the same ``cid`` once back online."""
        key = stream_key(case, self.side)
        frame: dict[str, Any] = {
            "t": "send",
            "case": case,
            "cid": f"{self.side}{seq}",
            "text": message_text(seq, scheduled, size),
        }
        if template:
            frame["template"] = template
        for _ in range(20):
            try:
                await asyncio.wait_for(self.online.wait(), ACK_TIMEOUT_S)
                assert self.wire is not None
                reply = await self.wire.request(frame, "ack", ACK_TIMEOUT_S)
            except (ConnectionError, OSError, TimeoutError, AssertionError):
                self.probe.counters["send_retries"] += 1
                await asyncio.sleep(0.05)
                continue
            if reply["t"] == "error":
                self.probe.error(str(reply.get("code")))
                return
            self.probe.ledger.acked(key, seq)
            self.probe.other("ack").record_s(time.monotonic() - scheduled)
            if reply.get("dup"):
                self.probe.counters["dup_acks"] += 1
            return
        self.probe.error("send_gave_up")


class Citizen(Actor):
    side = "c"

    def __init__(self, probe: Probe, http: Http) -> None:
        super().__init__(probe, http)
        self.case = ""
        self.ready = asyncio.Event()
        self.case_closed = asyncio.Event()
        self.first_position = asyncio.Event()
        self.last_position: tuple[Any, ...] | None = None

    async def enter(self, pnr: str, unit: str) -> None:
        self.session, self.case = await enter_citizen(self.http, pnr, unit)
        self.cursor[self.case] = ("", "")

    def on_other(self, frame: Frame) -> None:
        t = frame.get("t")
        if t == "position":
            # what the citizen is shown (the hub sends a frame only when it changed: server/ws/positions.py)
            key = (
                frame.get("position"),
                frame.get("depth"),
                tuple(frame.get("wait_range_ms") or ()),
                frame.get("open"),
                frame.get("opens_ms"),
                frame.get("staffed"),
            )
            if key == self.last_position:
                self.probe.counters["positions_repeated"] += 1
            self.last_position = key
            self.probe.counters["positions"] += 1
            self.first_position.set()
        elif t == "case":
            state = frame.get("state")
            if state in ("ready", "joined"):
                self.ready.set()
            elif state in ("closed", "abandoned"):
                self.case_closed.set()


class Nurse(Actor):
    side = "n"

    def __init__(self, probe: Probe, http: Http, index: int) -> None:
        super().__init__(probe, http)
        self.index = index
        self.cases: list[str] = []

    async def log_in(self) -> None:
        self.session = await login_nurse(self.http, self.index)

    async def claim(self, rid: str) -> str | None:
        assert self.wire is not None
        reply = await self.wire.request({"t": "claim_next", "rid": rid}, "claimed")
        if reply["t"] == "error":
            self.probe.error(str(reply.get("code")))
            return None
        case = reply.get("case")
        if case:
            self.cases.append(case)
            self.cursor[case] = ("", "")
            await self.join(case)
        return case

    async def close_case(self, case: str, outcome: str = "self_care_advice") -> bool:
        assert self.wire is not None
        frame = {"t": "close", "case": case, "outcome": outcome, "note": "Lasttest: avslutad."}
        reply = await self.wire.request(frame, "done")
        if reply["t"] == "error":
            self.probe.error(str(reply.get("code")))
            return False
        self.cases.remove(case)
        self.cursor.pop(case, None)
        return True

    def on_other(self, frame: Frame) -> None:
        if frame.get("t") == "done" and frame.get("state") == "lost":
            self.probe.error("lease_lost")


async def guarded(probe: Probe, what: str, coro: Any) -> Any:
    """Run a set-up step; a failure is counted, not raised (one bad user does not stop the run)."""
    try:
        return await coro
    except ApiError as exc:
        probe.error(f"{what}_{exc.code}")
        probe.examples.setdefault(f"{what}_{exc.code}", exc.message[:300])
    except Refused as exc:
        probe.error(f"{what}_{refusal_code(exc)}")
    except (ConnectionError, OSError, TimeoutError, aiohttp.ClientError) as exc:
        probe.error(f"{what}_{type(exc).__name__}")
        cause = f" ({exc.__cause__!r})" if exc.__cause__ is not None else ""
        probe.examples.setdefault(f"{what}_{type(exc).__name__}", (str(exc) + cause)[:300])
    return None


def refusal_code(exc: Refused) -> str:
    """The error code of a refused WebSocket handshake (its JSON body), or the HTTP status."""
    try:
        return str(orjson.loads(exc.body)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{exc.status}"
