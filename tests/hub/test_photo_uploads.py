"""Real phone photos uploaded to a real ``direkt serve`` (issue 20, point 1).

A 4000x3000 JPEG of about 4 MB, EXIF and GPS included, sent again and again over
one kept-alive connection and over fresh ones, and written in one piece (head
and body in the same read): each is stored, scaled down and stripped. The
request-head guard counts the head only; what it refuses is a typed JSON
error, like every other refusal the apps show.
"""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest
from PIL import Image
from support import ServerProcess, timeout
from support_hub import error_of, waiting_case
from support_photo import phone_photo

from direkt.loadtests.client import Client
from direkt.server.http.headguard import MAX_REQUEST_HEAD

pytestmark = pytest.mark.slow

ROUNDS = 4  # uploads per kind of connection


def stored_as_photo(response: httpx.Response) -> str:
    """The id of a photo stored scaled to the longest side of 2048 (the upload really was decoded)."""
    assert response.status_code == 201, (response.status_code, response.text[:300])
    assert (response.json()["width"], response.json()["height"]) == (2048, 1536)
    return str(response.json()["photo"])


def photo_headers(client: Client) -> dict[str, str]:
    return {"X-CSRF-Token": client.csrf, "Content-Type": "image/jpeg"}


def no_head_refusal(server: ServerProcess) -> None:
    assert "Request head" not in server.output()


async def test_phone_photos_upload_over_kept_alive_and_fresh_connections(server: ServerProcess, erik: Client) -> None:
    case = await waiting_case(erik)
    data = phone_photo()
    stored = []
    for _ in range(ROUNDS):  # one connection, kept alive between uploads
        response = await erik.http.post(f"/api/cases/{case}/photos", content=data, headers=photo_headers(erik))
        stored.append(stored_as_photo(response))
    for _ in range(ROUNDS):  # a new connection for each
        async with httpx.AsyncClient(
            base_url=server.base, cookies=erik.http.cookies, headers={"Origin": erik.origin}, timeout=timeout(30)
        ) as fresh:
            response = await fresh.post(f"/api/cases/{case}/photos", content=data, headers=photo_headers(erik))
            stored.append(stored_as_photo(response))
    no_head_refusal(server)
    shown = Image.open(io.BytesIO((await erik.http.get(f"/api/cases/{case}/photos/{stored[-1]}")).content))
    assert shown.size == (2048, 1536) and not shown.getexif()  # no GPS position, no camera


# -- the head in two pieces, as a network may deliver it ------------------------------------------
# The first TCP segment ends inside the head; the next carries the rest of the head and the
# first ~64 KiB of the body. The guard must count the head's bytes only.


def upload_request(server: ServerProcess, client: Client, case: str, data: bytes) -> tuple[bytes, bytes]:
    """The request line and Host header; then the rest of the head and the whole body."""
    cookies = "; ".join(f"{name}={value}" for name, value in client.http.cookies.items())
    first = f"POST /api/cases/{case}/photos HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    rest = (
        f"Origin: {client.origin}\r\nCookie: {cookies}\r\nX-CSRF-Token: {client.csrf}\r\n"
        f"Content-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return first.encode(), rest.encode() + data


async def send_in_pieces(writer: asyncio.StreamWriter, *pieces: bytes) -> None:
    """Write each piece as its own segment; a server that refused and closed ends the sending."""
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
    except ConnectionError:
        pass


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer with a content-length: status, headers (lower-case names), body."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout(30))
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout(30))
    return int(status_line.split()[1]), headers, body


async def test_a_photo_whose_head_arrives_in_two_pieces_is_stored(server: ServerProcess, erik: Client) -> None:
    case = await waiting_case(erik)
    first, rest = upload_request(server, erik, case, phone_photo())
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for _ in range(ROUNDS):  # on one kept-alive connection
            sending = asyncio.create_task(send_in_pieces(writer, first, rest))
            status, headers, body = await read_answer(reader)  # a refusal is read even if sending broke off
            await sending
            assert status == 201, (status, body[:300])
            assert headers.get("connection") != "close"
    finally:
        writer.close()
        await writer.wait_closed()
    no_head_refusal(server)


async def test_an_oversized_head_is_a_typed_json_refusal(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MAX_REQUEST_HEAD + b"\r\n\r\n")
        await writer.drain()
        status, headers, body = await read_answer(reader)
    finally:
        writer.close()
    response = httpx.Response(status, headers=headers, content=body)
    error_of(response, 431, "head_too_large")
    assert headers["connection"] == "close"


async def test_a_malformed_request_is_a_typed_json_refusal(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n")  # a header line without its colon
        await writer.drain()
        status, headers, body = await read_answer(reader)
    finally:
        writer.close()
    error_of(httpx.Response(status, headers=headers, content=body), 400, "bad_request")
