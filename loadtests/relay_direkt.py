"""direkt as a relay target of ``direkt load compare``: citizen → nurse through the hub.

Each pair is an open chat: side A is the citizen's socket sending ``send``
frames, side B the nurse's socket receiving the ``msg``. Every message is
appended to the case's Redis Stream by a Lua script, acknowledged to the
citizen, published, and fanned out by the hub (to the nurse, and back to
the citizen's own socket) — what a chat message costs in the product. The
server is ``direkt serve`` with the embedded Redis, one worker, and the
per-socket frame limit lifted (a closed-loop relay would otherwise measure
the limiter, not the relay).
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

import psutil

from direkt.loadtests.fleet import LocalServer, adult_numbers, enter_citizen, login_nurse, unit_id
from direkt.loadtests.relay import OnReceive
from direkt.loadtests.wire import Frame, Http, Wire

CHATS_PER_NURSE = 10


@dataclass
class DirektPair:
    wire: Wire
    case: str
    pad: str

    async def send(self, seq: int) -> None:
        await self.wire.send({"t": "send", "case": self.case, "cid": f"r{seq}", "text": f"{seq} {self.pad}"})

    async def close(self) -> None:
        await self.wire.close()


@dataclass
class DirektTarget:
    url: str | None
    pairs: int
    name: str = "direkt"
    server: LocalServer | None = None
    http: Http | None = None
    cases: list[str] = field(default_factory=list)
    citizens: dict[str, Wire] = field(default_factory=dict)
    nurses: list[Wire] = field(default_factory=list)
    receivers: dict[str, OnReceive] = field(default_factory=dict)

    async def start(self) -> None:
        if self.http is not None:
            return
        nurses = math.ceil(self.pairs / CHATS_PER_NURSE)
        if self.url is None:
            self.server = await asyncio.to_thread(
                LocalServer.start, nurses=nurses, max_chats=CHATS_PER_NURSE, citizens=self.pairs,
                DIREKT_MESSAGE_RATE="1000000",
            )  # fmt: skip
        base = self.url or self.server.url  # type: ignore[union-attr]
        self.http = Http(base)
        numbers = adult_numbers()
        entered = await asyncio.gather(*(self._citizen(numbers[i % len(numbers)], base) for i in range(self.pairs)))
        self.cases = list(entered)
        for n in range(nurses):
            await self._nurse(n, base)

    async def _citizen(self, pnr: str, base: str) -> str:
        assert self.http is not None
        session, case = await enter_citizen(self.http, pnr, unit_id(0))
        wire = await Wire.open(await self.http.ticket_url(session), base, lambda frame: None)
        await wire.send({"t": "join", "case": case})
        self.citizens[case] = wire
        return case

    async def _nurse(self, index: int, base: str) -> None:
        assert self.http is not None
        session = await login_nurse(self.http, index)
        wire = await Wire.open(await self.http.ticket_url(session), base, self._on_nurse_frame)
        self.nurses.append(wire)
        for r in range(CHATS_PER_NURSE):
            claimed = await wire.request({"t": "claim_next", "rid": f"relay-{index}-{r}"}, "claimed")
            if not claimed.get("case"):
                return
            await wire.request({"t": "join", "case": claimed["case"]}, "synced")

    def _on_nurse_frame(self, frame: Frame) -> None:
        if frame.get("t") == "msg" and frame.get("role") == "citizen":
            on_receive = self.receivers.get(frame["case"])
            if on_receive is not None:
                on_receive(int(str(frame["text"]).split(" ", 1)[0]))

    async def open_pair(self, index: int, on_receive: OnReceive, payload_bytes: int) -> DirektPair:
        case = self.cases[index]
        self.receivers[case] = on_receive
        return DirektPair(self.citizens[case], case, "x" * payload_bytes)

    async def close(self) -> None:
        for wire in [*self.citizens.values(), *self.nurses]:
            await wire.close()
        if self.http is not None:
            await self.http.aclose()
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)

    def server_pids(self) -> list[int]:
        if self.server is None:
            return []
        root = psutil.Process(self.server.process.pid)
        return [root.pid, *(p.pid for p in root.children(recursive=True))]
