"""Small WebSocket client helpers for benchmarks and tests.

``count_pings`` speaks the protocol through websockets' sans-I/O
``ClientProtocol`` so that it can see (and choose not to answer) the server's
keepalive pings, which a normal client answers silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri


async def count_pings(url: str, seconds: float, *, answer: bool = True) -> tuple[int, bool]:
    """Stay connected for ``seconds``; return (pings received, closed by server).

    With ``answer=False`` pongs are never sent, as from a dead peer.
    """
    uri = parse_uri(url)
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    protocol = ClientProtocol(uri)
    protocol.send_request(protocol.connect())
    _flush(protocol, writer, send=True)
    pings, closed = 0, False
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                break
            if not data:
                closed = True
                break
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.PING:
                    pings += 1
            _flush(protocol, writer, send=answer)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return pings, closed


def _flush(protocol: ClientProtocol, writer: asyncio.StreamWriter, *, send: bool) -> None:
    for chunk in protocol.data_to_send():
        if send and chunk:
            writer.write(chunk)
