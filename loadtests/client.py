"""A scripted direkt client speaking the real protocol: HTTP login, triage,
one-time tickets, and the WebSocket with either subprotocol.

Used by the test suite and by the load tests; everything a browser does,
minus the browser.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

import httpx
import msgpack
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

MSGPACK = "direkt.v1.msgpack"
JSON = "direkt.v1.json"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, text: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.text = text or {}  # the citizen's words by language, where the server gives them


RISK = ("screen.risk", "screen.pregnant")  # the risk modifiers asked after the reason


class Client:
    """One logged-in user over HTTP (cookies and CSRF token kept)."""

    def __init__(self, base_url: str, *, origin: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = origin or self.base_url
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=10.0, headers={"Origin": self.origin})
        self.csrf = ""
        self.me: dict[str, Any] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(self, method: str, path: str, body: Any = None, *, expect: Iterable[int] = (200, 201, 204)) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        content = orjson.dumps(body) if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        response = await self.http.request(method, path, content=content, headers=headers)
        if response.status_code not in tuple(expect):
            raise api_error(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def login_citizen(self, pnr: str) -> dict[str, Any]:
        self.me = await self.call("POST", "/auth/test-eid", {"pnr": pnr})
        self.csrf = self.me["csrf"]
        return self.me

    async def login_staff(self, username: str, password: str = "demo") -> dict[str, Any]:
        self.me = await self.call("POST", "/auth/staff/login", {"username": username, "password": password})
        self.csrf = self.me["csrf"]
        return self.me

    async def ticket(self) -> str:
        return str((await self.call("POST", "/api/tickets"))["ticket"])

    async def triage(self, entry: str, answers: list[tuple[str, Any]], **start: Any) -> dict[str, Any]:
        """Run a whole triage; returns the final view (with its result).

        A risk modifier the script does not name (pregnancy is asked of women only) is
        answered "none" or "no", so one script serves every patient.
        """
        view = await self.call("POST", "/api/triage", {"entry": entry, **start})
        for question, value in answers:
            while (pending := view["question"]) and pending["id"] in RISK and pending["id"] != question:
                plain = ["none"] if pending["kind"] == "checklist" else "no"
                view = await self.call(
                    "POST", f"/api/triage/{view['id']}/answer", {"question": pending["id"], "value": plain}
                )
            view = await self.call("POST", f"/api/triage/{view['id']}/answer", {"question": question, "value": value})
        return dict(view)

    async def triage_as(self, entry: str, reason: str, findings: dict[str, Any], **start: Any) -> dict[str, Any]:
        """Run a whole triage as a patient of whom ``findings`` are true (the deterministic answerer)."""
        from direkt.triage.answerer import MAX_QUESTIONS, choose

        view = await self.call("POST", "/api/triage", {"entry": entry, **start})
        for _ in range(MAX_QUESTIONS):
            if view["question"] is None:
                break
            value = choose(view["question"], findings, reason)
            view = await self.call(
                "POST", f"/api/triage/{view['id']}/answer", {"question": view["question"]["id"], "value": value}
            )
        return dict(view)

    async def submit(self, triage_id: str, *, chat_anyway: bool = False) -> dict[str, Any]:
        return dict(await self.call("POST", "/api/cases", {"triage": triage_id, "chat_anyway": chat_anyway}))

    async def socket(self, subprotocol: str = MSGPACK, **kwargs: Any) -> Socket:
        ticket = await self.ticket()
        return await Socket.open(self.ws_url(ticket), self.origin, subprotocol, **kwargs)

    def ws_url(self, ticket: str) -> str:
        return self.base_url.replace("http", "ws", 1) + f"/ws?ticket={ticket}"


def api_error(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, error["code"], error["message"], error.get("text"))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "http", response.text[:200])


class Socket:
    """A WebSocket speaking direkt frames; received frames queue up by type."""

    def __init__(self, ws: ClientConnection, subprotocol: str) -> None:
        self.ws = ws
        self.binary = subprotocol == MSGPACK
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.refs = itertools.count(1)
        self._reader = asyncio.create_task(self._read())
        self.closed = asyncio.Event()
        self.close_code: int | None = None

    @classmethod
    async def open(cls, url: str, origin: str, subprotocol: str = MSGPACK, **kwargs: Any) -> Socket:
        offered = [Subprotocol(subprotocol)]
        kwargs.setdefault("proxy", None)  # the server is on loopback: never through a proxy from the environment
        ws = await connect(url, origin=Origin(origin), subprotocols=offered, compression=None, max_size=2**20, **kwargs)
        return cls(ws, subprotocol)

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                frame = msgpack.unpackb(data) if isinstance(data, bytes) else orjson.loads(data)
                await self.frames.put(frame)
        except Exception:  # noqa: BLE001, S110 - the socket died; close_code tells how
            pass
        finally:
            self.close_code = self.ws.close_code
            self.closed.set()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(msgpack.packb(frame) if self.binary else orjson.dumps(frame).decode())

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def expect(self, kind: str, timeout: float = 5.0, /, **match: Any) -> dict[str, Any]:
        """The next frame of ``kind`` (matching ``match``); other frames are kept in ``skipped``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame.get("t") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.skipped.append(frame)

    @property
    def skipped(self) -> list[dict[str, Any]]:
        if not hasattr(self, "_skipped"):
            self._skipped: list[dict[str, Any]] = []
        return self._skipped

    async def request(self, frame: dict[str, Any], reply: str, timeout: float = 5.0) -> dict[str, Any]:
        """Send a frame with a fresh ref; the reply of type ``reply`` or the error for that ref."""
        ref = f"r{next(self.refs)}"
        await self.send({**frame, "ref": ref})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = await self.recv(max(0.01, deadline - loop.time()))
            if got.get("ref") == ref and got.get("t") in (reply, "error"):
                return got
            self.skipped.append(got)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
