"""The load client's lean ticket request (``loadtests/leanhttp.py``) against a small HTTP server on loopback.

It sends what a browser's fetch sends (cookie, CSRF header, Origin, empty
body), keeps the connection for the next request unless the server says
``connection: close``, and an error answer becomes the API's typed error.
"""

from __future__ import annotations

import asyncio

import pytest

from direkt.loadtests.client import ApiError
from direkt.loadtests.wire import Http, Session


async def serve(answers: list[bytes]) -> tuple[asyncio.Server, list[bytes], list[int]]:
    """A server that answers each request with the next of ``answers``; it records heads and connections."""
    heads: list[bytes] = []
    connections: list[int] = []

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        try:
            while answers:
                heads.append(await reader.readuntil(b"\r\n\r\n"))
                writer.write(answers.pop(0))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(one, "127.0.0.1", 0)
    return server, heads, connections


def ok(ticket: str, close: bool = False) -> bytes:
    body = b'{"ticket": "%b"}' % ticket.encode()
    extra = b"connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n%bcontent-length: %d\r\n\r\n%b" % (
        extra, len(body), body,
    )  # fmt: skip


async def test_tickets_go_over_one_kept_alive_connection_with_what_a_browser_sends() -> None:
    server, heads, connections = await serve([ok("t1"), ok("t2", close=True), ok("t3")])
    port = server.sockets[0].getsockname()[1]
    http = Http(f"http://127.0.0.1:{port}")
    try:
        urls = [await http.ticket_url(Session("c00kie", "csrf-1", "uid")) for _ in range(3)]
    finally:
        await http.aclose()
        server.close()
    assert urls == [f"ws://127.0.0.1:{port}/ws?ticket={t}" for t in ("t1", "t2", "t3")]
    assert len(connections) == 2  # the first two on one connection; the server closed it after the second
    head = heads[0].decode().lower()
    assert head.startswith("post /api/tickets http/1.1\r\n")
    for line in ("cookie: direkt_session=c00kie", "x-csrf-token: csrf-1", f"origin: http://127.0.0.1:{port}",
                 "content-length: 0"):  # fmt: skip
        assert line in head


async def test_an_error_answer_is_the_apis_typed_error() -> None:
    body = b'{"error": {"code": "unauthenticated", "message": "log in again"}}'
    answer = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: %d\r\n\r\n%b" % (len(body), body)
    server, _, _ = await serve([answer])
    http = Http(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        with pytest.raises(ApiError) as refused:
            await http.ticket_url(Session("c", "x", "u"))
    finally:
        await http.aclose()
        server.close()
    assert (refused.value.status, refused.value.code) == (401, "unauthenticated")
