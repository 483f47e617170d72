"""The ceiling of the Python stack for ``direkt load compare``: a bare Starlette
relay, no Redis, no protocol, served by uvicorn exactly as direkt is.

Side B connects to ``/relay/{pair}/b`` and is registered under the pair id;
every binary frame side A sends to ``/relay/{pair}/a`` is forwarded unchanged
to B. The frame carries the seq in its first 8 bytes (big-endian). Anything
direkt does on top of this (auth, Redis streams, fan-out) costs throughput;
the ratio to this app says how much.
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from direkt.loadtests.relay import OnReceive, UvicornProcess
from direkt.loadtests.wsclient import LeanSocket

SEQ_BYTES = 8
MAX_FRAME = 2**16

# Server side: one uvicorn worker, so a module-level registry is the whole state.
RECEIVERS: dict[int, WebSocket] = {}


async def receiver(websocket: WebSocket) -> None:
    """Side B: registered before the handshake completes, so a client whose
    connect returned can be relayed to at once."""
    pair = int(websocket.path_params["pair"])
    RECEIVERS[pair] = websocket
    try:
        await websocket.accept()
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        if RECEIVERS.get(pair) is websocket:
            del RECEIVERS[pair]


async def sender(websocket: WebSocket) -> None:
    """Side A: forward each frame to B; a frame with no B is dropped (and shows as lost)."""
    pair = int(websocket.path_params["pair"])
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        target = RECEIVERS.get(pair)
        if data is not None and target is not None:
            await target.send_bytes(data)


app = Starlette(routes=[WebSocketRoute("/relay/{pair:int}/b", receiver), WebSocketRoute("/relay/{pair:int}/a", sender)])


# Client side.


class BarePair:
    """A sends, B receives; a dropped connection shows as lost messages."""

    def __init__(self, a: LeanSocket, b: LeanSocket, payload_bytes: int) -> None:
        self.a, self.b = a, b
        self.padding = b"x" * max(payload_bytes - SEQ_BYTES, 0)

    async def send(self, seq: int) -> None:
        await self.a.send(seq.to_bytes(SEQ_BYTES, "big") + self.padding)

    async def close(self) -> None:
        await self.a.close()
        await self.b.close()


def _ignore(_data: bytes) -> None:
    """Side A receives nothing."""


class BareTarget:
    """``RelayTarget`` for the bare app."""

    name = "bare"

    def __init__(self) -> None:
        self.server = UvicornProcess("direkt.loadtests.relay_bare:app")
        self.pairs: list[BarePair] = []

    async def start(self) -> None:
        await self.server.start()

    async def open_pair(self, index: int, on_receive: OnReceive, payload_bytes: int) -> BarePair:
        base = f"{self.server.ws_url}/relay/{index}"
        b = await LeanSocket.open(
            f"{base}/b", lambda data: on_receive(int.from_bytes(data[:SEQ_BYTES], "big")), max_size=MAX_FRAME
        )
        a = await LeanSocket.open(f"{base}/a", _ignore, max_size=MAX_FRAME)
        pair = BarePair(a, b, payload_bytes)
        self.pairs.append(pair)
        return pair

    async def close(self) -> None:
        pairs, self.pairs = self.pairs, []
        await asyncio.gather(*(pair.close() for pair in pairs), return_exceptions=True)
        await self.server.stop()

    def server_pids(self) -> list[int]:
        return self.server.pids()
