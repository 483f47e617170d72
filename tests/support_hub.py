"""Helpers for the hub tests: real server processes, logged-in clients, cases in the waiting room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import msgpack
import orjson
import pytest
from support import ServerProcess, timeout
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin, Subprotocol

from direkt.loadtests.client import JSON, MSGPACK, Client, Socket
from direkt.queue.scripts import RedisClient
from direkt.server import errors
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.care.transcript import pack_body
from direkt.server.redis import keys

# Every code a refusal may carry: the DirektError tree plus the codec's and the transcript's.
KNOWN_CODES = {
    cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.DirektError)
} | {"bad_frame", "bad_position", "history_lost", "bad_sdp", "bad_candidate"}
KNOWN_CODES |= {"no_call", "not_call_party", "no_consent", "call_state"}  # direkt.signaling.call
KNOWN_CODES.discard("internal")


# Skatteverket test numbers (server/data/test_personnummer.txt), as listed in tests/data/hub_region.toml.
GUARDIAN = "198105102381"  # Maja, guardian of ELSA (8) and LOVA (13)
ELSA = "201801012392"
LOVA = "201212122384"
ERIK = "199108312399"
UNLISTED = "194101012393"  # a test number not in the region file

# Sore throat for ten days, nothing alarming: "within days", nurse, chat.
SORE_THROAT = [
    ["screen.now", ["none"]],
    ["reason", "sore_throat"],
    ["screen.risk", ["none"]],
    ["sore_throat.danger", ["none"]],
    ["sore_throat.medicines", ["none"]],
    ["sore_throat.fever", "no"],
    ["sore_throat.centor", ["cough"]],
    ["sore_throat.ill", "no"],
    ["sore_throat.days", 10],
    ["sore_throat.photo", "skip"],
]


# ``login(pnr=...)`` or ``login(staff_id=...)``: the hub conftest's ``login`` fixture.
Login = Callable[..., Awaitable[Client]]


async def citizen(base: str, pnr: str = ERIK) -> Client:
    client = Client(base)
    try:
        await client.login_citizen(pnr)
    except BaseException:  # a refused login leaves no open connection for a later test's ResourceWarning
        await client.aclose()
        raise
    return client


async def staff(base: str, username: str = "nurse-1") -> Client:
    client = Client(base)
    try:
        await client.login_staff(username)
    except BaseException:
        await client.aclose()
        raise
    return client


# A sore throat with no way to drink: urgent (within an hour), nurse.
CANNOT_DRINK = ("sore_throat", {"cannot_drink": True, "symptom_days": 3})


async def waiting_case(
    client: Client,
    answers: list[list[Any]] | None = None,
    *,
    case: tuple[str, dict[str, Any]] | None = None,
    **start: Any,
) -> str:
    """Triage (sore throat by default; or ``case``: a reason and the findings true of the patient) and submit."""
    if case is not None:
        view = await client.triage_as("seek_care", case[0], case[1], **start)
    else:
        view = await client.triage("seek_care", [tuple(a) for a in (answers or SORE_THROAT)], **start)  # type: ignore[misc]
    submitted = await client.submit(view["id"])
    return str(submitted["case"])


async def refused(call: Any, status: int, code: str) -> Any:
    """Await a client call (an awaitable) that must be refused with a typed JSON error
    ``{"error": {"code", "message"}}`` of ``status`` and ``code``; returns the ``ApiError``."""
    from direkt.loadtests.client import ApiError

    try:
        await call
    except ApiError as exc:
        assert (exc.status, exc.code) == (status, code), exc
        assert exc.message
        return exc
    raise AssertionError(f"expected {status} {code}, but the call succeeded")


async def not_logged_in(http: Any) -> bool:
    """``GET /api/session`` says nobody is logged in: 200 ``{"logged_in": false}`` (an ``httpx.AsyncClient``)."""
    response = await http.get("/api/session")
    return bool(response.status_code == 200 and response.json() == {"logged_in": False})


def error_of(response: Any, status: int, code: str) -> str:
    """The message of a typed JSON error answer (an ``httpx.Response``); asserts status, shape and code."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])


# --- WebSocket helpers (tests/hub/test_ws_*.py) -------------------------------------------------


async def frames_until(sock: Socket, kind: str, seconds: float = 5.0, /, **match: Any) -> list[dict[str, Any]]:
    """Every frame received up to and including the first ``kind`` frame matching ``match``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    got: list[dict[str, Any]] = []
    while True:
        frame = await sock.recv(max(0.01, deadline - loop.time()))
        got.append(frame)
        if frame.get("t") == kind and all(frame.get(k) == v for k, v in match.items()):
            return got


async def barrier(sock: Socket) -> list[dict[str, Any]]:
    """Ping and wait for the pong: every frame the server queued before it, pong last."""
    ref = f"barrier-{next(sock.refs)}"
    await sock.send({"t": "ping", "n": 7, "ref": ref})
    return await frames_until(sock, "pong", ref=ref)


def kinds(frames: list[dict[str, Any]], kind: str, /, **match: Any) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("t") == kind and all(f.get(k) == v for k, v in match.items())]


@dataclass
class Chat:
    """A citizen and a nurse in one open chat, both sockets following the case."""

    case: str
    citizen: Client
    nurse: Client
    cs: Socket
    ns: Socket


@asynccontextmanager
async def open_chat(
    base: str, *, pnr: str = ERIK, nurse: str = "nurse-1", subprotocol: str = MSGPACK
) -> AsyncIterator[Chat]:
    """Citizen submits and joins, the nurse claims and joins; yields once the citizen has joined the chat."""
    async with AsyncExitStack() as stack:
        who = await citizen(base, pnr)
        stack.push_async_callback(who.aclose)
        case = await waiting_case(who)
        cs = await who.socket(subprotocol)
        stack.push_async_callback(cs.close)
        await frames_until(cs, "case", case=case, ref=await _join(cs, case))
        staff_client = await staff(base, nurse)
        stack.push_async_callback(staff_client.aclose)
        ns = await staff_client.socket(subprotocol)
        stack.push_async_callback(ns.close)
        claimed = await ns.request({"t": "claim_next", "rid": f"open-{case}"}, "claimed")
        assert claimed["case"] == case, claimed
        assert (await ns.request({"t": "join", "case": case}, "case"))["t"] == "case"
        await frames_until(cs, "case", case=case, state="joined")
        yield Chat(case, who, staff_client, cs, ns)


async def _join(sock: Socket, case: str) -> str:
    ref = f"join-{next(sock.refs)}"
    await sock.send({"t": "join", "case": case, "ref": ref})
    return ref


async def welcomed(client: Client) -> Socket:
    sock = await client.socket()
    assert (await sock.recv(timeout(5)))["t"] == "welcome"
    return sock


async def ask(sock: Socket, frame: dict[str, Any], reply: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send ``frame`` with a fresh ref: the reply (or error), and every frame that arrived before it."""
    ref = f"ask-{next(sock.refs)}"
    await sock.send({**frame, "ref": ref})
    frames = [await sock.recv(timeout(5))]
    while frames[-1].get("ref") != ref or frames[-1]["t"] not in (reply, "error"):
        frames.append(await sock.recv(timeout(5)))
    return frames[-1], frames[:-1]


async def find(sock: Socket, frames: list[dict[str, Any]], kind: str, /, **match: Any) -> dict[str, Any]:
    """The first matching frame among ``frames``, already received, or else the next to arrive."""
    found = kinds(frames, kind, **match)
    return found[0] if found else (await frames_until(sock, kind, **match))[-1]


MADE_UP_CASE = "t.01J00000000000000000000000"  # the shape of a case id, but no case


async def audit_of(redis: RedisClient, pnr: str) -> list[AuditRecord]:
    return await AuditLog(redis, None).for_patient(pnr)


async def audit_log(redis: RedisClient) -> list[dict[str, str]]:
    entries: Any = await redis.xrange(keys.AUDIT_STREAM)
    return [{k.decode(): v.decode() for k, v in data.items()} for _, data in entries]


async def queue_row(sock: Socket, case: str) -> dict[str, Any] | None:
    """The case's row in a fresh queue snapshot of a console, or None when it is not waiting."""
    snapshot = await sock.request({"t": "watch"}, "queue")
    return next((row for row in snapshot["cases"] if row["case"] == case), None)


async def until_waiting(sock: Socket, case: str, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while (row := await queue_row(sock, case)) is None:
        assert loop.time() < deadline, f"{case} did not come back to the queue"
        await asyncio.sleep(0.2)
    return row


async def send(sock: Socket, case: str, cid: str, text: str) -> dict[str, Any]:
    ack = await sock.request({"t": "send", "case": case, "cid": cid, "text": text}, "ack")
    assert ack["t"] == "ack", ack
    return ack


@asynccontextmanager
async def joined_again(
    client: Client, case: str, **position: str
) -> AsyncIterator[tuple[Socket, list[dict[str, Any]]]]:
    """A new socket joining ``case`` (resuming from ``position``) and its frames up to ``synced`` or the error."""
    sock = await welcomed(client)
    try:
        await sock.send({"t": "join", "case": case, "ref": "rejoin", **position})
        frames = [await sock.recv(timeout(5))]
        while frames[-1].get("ref") != "rejoin" or frames[-1]["t"] not in ("synced", "error"):
            frames.append(await sock.recv(timeout(5)))
        yield sock, frames
    finally:
        await sock.close()


async def rejoin(client: Client, case: str, **position: str) -> list[dict[str, Any]]:
    async with joined_again(client, case, **position) as (_, frames):
        return frames


# The server of tests/hub/test_ws_delivery.py and test_ws_workflow.py (their SERVER_ENV): positions
# every 0.5 s, 5 s leases reaped every 0.2 s, and a message rate a nurse typing fast stays under.
DELIVERY_SERVER_ENV = {
    "DIREKT_POSITION_INTERVAL_SECONDS": "0.5",
    "DIREKT_LEASE_SECONDS": "5",
    "DIREKT_REAP_INTERVAL_SECONDS": "0.2",
    "DIREKT_MESSAGE_RATE": "1000",
}


# --- raw handshakes and sockets ------------------------------------------------------------------

# The server of tests/hub/test_ws_handshake.py, test_ws_frames.py and test_ws_throttling.py (their
# SERVER_ENV): a generous frame rate, as fuzzing and floods from the other side are the point there.
PROTOCOL_SERVER_ENV = {"DIREKT_MESSAGE_RATE": "100000"}

FRAME_LIMIT = 64 * 1024
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
CLOSE_SESSION_ENDED = 4001
A_CASE = "t.01JDQ4ZP2Y3KX8V7N6M5R4T3S2"  # well-formed, never submitted


@asynccontextmanager
async def opened(client: Client, subprotocol: str = MSGPACK) -> AsyncIterator[Socket]:
    """A socket past its ``welcome`` frame."""
    sock = await client.socket(subprotocol)
    try:
        assert (await sock.recv(timeout(5)))["t"] == "welcome"
        yield sock
    finally:
        await sock.close()


def ws_url(server: ServerProcess, ticket: str | None) -> str:
    url = server.base.replace("http", "ws", 1) + "/ws"
    return url if ticket is None else f"{url}?ticket={ticket}"


def raw(url: str, origin: str | None, offered: list[str], **options: Any) -> Any:
    return connect(
        url,
        origin=Origin(origin) if origin is not None else None,
        subprotocols=[Subprotocol(p) for p in offered] or None,
        compression=None,
        open_timeout=timeout(5),
        proxy=None,
        **options,
    )


async def refusal(url: str, origin: str | None, offered: list[str] | None = None) -> tuple[int, dict[str, Any]]:
    """The HTTP answer to a handshake that must not be accepted."""
    with pytest.raises(InvalidStatus) as raised:
        async with raw(url, origin, [JSON] if offered is None else offered):
            pass
    response = raised.value.response
    return response.status_code, orjson.loads(response.body)


async def await_close(sock: Socket) -> int | None:
    await asyncio.wait_for(sock.closed.wait(), timeout(5))
    return sock.close_code


def decode(data: str | bytes) -> dict[str, Any]:
    frame: dict[str, Any] = msgpack.unpackb(data) if isinstance(data, bytes) else orjson.loads(data)
    return frame


# --- long transcripts ----------------------------------------------------------------------------

LONG_TRANSCRIPT = 10_100  # entries: more than the 10,000 a replay and the HTTP transcript were once cut at


async def seed_transcript(redis: RedisClient, case: str, count: int, text: str = "") -> list[str]:
    """``count`` nurse messages written straight into the case's stream, as the append script
    stores them (one pipeline: far faster than sending them); their stream ids, in order."""
    pipe = redis.pipeline(transaction=False)
    for i in range(count):
        body = {"k": "text", "from": "s-nurse-1", "role": "nurse", "name": "Nora Nilsson", "cid": f"seed{i}"}
        pipe.xadd(keys.chat(case), {"m": pack_body(body | {"text": f"{i}{text}"})})
    return [stream_id.decode() for stream_id in await pipe.execute()]
