"""The load clients' WebSocket (``wsclient.LeanSocket``, picows) and HTTP pool report what the
scenarios count: a refused handshake's HTTP status and error code, the server's close code (1006 when
the connection just ended), whole messages however the server fragments them; and a client-side
HTTP error is counted by ``actors.guarded``, never raised out of the load process.

The servers are in-process, on loopback: websockets' server for the WebSocket side (a different
implementation from the client's), a raw asyncio server for the keep-alive race.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from http import HTTPStatus

import aiohttp
import orjson
import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from direkt.loadtests.actors import Probe, guarded, refusal_code
from direkt.loadtests.wire import Http, Session
from direkt.loadtests.wsclient import ABNORMAL_CLOSURE, LeanSocket, Refused

REFUSAL = {"error": {"code": "origin_refused", "message": "This origin may not open a socket."}}


async def handler(ws: ServerConnection) -> None:
    """Echo each message; ``/fragments`` first sends one message in three frames; ``/close`` closes with 4001."""
    if ws.request is not None and ws.request.path == "/fragments":
        await ws.send([b"one ", b"two ", b"three"])
    if ws.request is not None and ws.request.path == "/close":
        await ws.close(4001, "the session has ended")
        return
    async for message in ws:
        await ws.send(message)


def refuse_bad_origin(_ws: ServerConnection, request: Request) -> Response | None:
    if request.headers.get("Origin") == "http://evil.example":
        body = orjson.dumps(REFUSAL)
        headers = Headers({"Content-Type": "application/json", "Content-Length": str(len(body))})
        return Response(HTTPStatus.FORBIDDEN, "Forbidden", headers, body)
    return None


def msgpack_if_offered(_ws: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Choose msgpack when offered, else no subprotocol (and accept): the client must notice."""
    return Subprotocol("msgpack") if "msgpack" in offered else None


@pytest.fixture
async def ws_server() -> AsyncIterator[str]:
    server: Server = await serve(
        handler, "127.0.0.1", 0, process_request=refuse_bad_origin, select_subprotocol=msgpack_if_offered,
    )  # fmt: skip
    async with server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


async def test_messages_echo_and_fragments_arrive_whole(ws_server: str) -> None:
    got: asyncio.Queue[bytes] = asyncio.Queue()
    socket = await LeanSocket.open(f"{ws_server}/fragments", got.put_nowait, subprotocol="msgpack")
    assert await got.get() == b"one two three"
    await socket.send(b"\x00" * 70_000)  # beyond one read buffer's worth
    assert await got.get() == b"\x00" * 70_000
    await socket.close()
    assert socket.close_code == 1000


async def test_a_refused_handshake_reports_its_status_and_error_code(ws_server: str) -> None:
    with pytest.raises(Refused) as refused:
        await LeanSocket.open(f"{ws_server}/", print, headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403
    assert refusal_code(refused.value) == "origin_refused"
    assert refusal_code(Refused(401, b"not json")) == "http_401"
    probe = Probe(0.0)
    await guarded(probe, "connect", LeanSocket.open(f"{ws_server}/", print, headers={"Origin": "http://evil.example"}))
    assert probe.errors == {"connect_origin_refused": 1}


async def test_the_servers_close_code_and_a_lost_connection_are_told_apart(ws_server: str) -> None:
    closed = await LeanSocket.open(f"{ws_server}/close", print)
    await asyncio.wait_for(closed.closed.wait(), 10)
    assert closed.close_code == 4001
    dropped = await LeanSocket.open(f"{ws_server}/", print)
    dropped.drop()
    await asyncio.wait_for(dropped.closed.wait(), 10)
    assert dropped.close_code == ABNORMAL_CLOSURE
    with pytest.raises(ConnectionError):
        await dropped.send(b"after the end")


async def test_a_subprotocol_the_server_does_not_choose_is_an_error(ws_server: str) -> None:
    with pytest.raises(ConnectionError, match="subprotocol"):
        await LeanSocket.open(f"{ws_server}/", print, subprotocol="json")


async def test_guarded_counts_client_side_http_errors() -> None:
    async def disconnected() -> None:
        raise aiohttp.ServerDisconnectedError()

    probe = Probe(0.0)
    assert await guarded(probe, "connect", disconnected()) is None
    assert probe.errors == {"connect_ServerDisconnectedError": 1}


async def test_a_ticket_request_on_a_connection_the_server_closed_is_retried_once() -> None:
    """The server hangs up on the first request unanswered (a keep-alive connection it was closing)."""
    requests = 0

    async def serve_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                requests += 1
                if requests == 1:
                    return
                body = b'{"ticket": "t1"}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
                             % (len(body), body))  # fmt: skip
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass  # the client hung up
        finally:
            writer.close()

    server = await asyncio.start_server(serve_http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    http = Http(f"http://127.0.0.1:{port}")
    try:
        url = await http.ticket_url(Session("cookie", "csrf", "uid"))
    finally:
        await http.aclose()
        server.close()
    assert url == f"ws://127.0.0.1:{port}/ws?ticket=t1"
    assert requests == 2
