"""``/ws`` reaches the hub in front of Starlette (``server/ws/entry.py``); everything else is Starlette's.

A fake hub stands in for the real one (the real hub's checks and refusals are
tests/hub/test_ws_handshake.py's, through a real server): an error in the hub,
before or after accept, ends that socket only (HTTP 500, close code 1011), is
logged by its type without its message (which may hold personal data) and
counted; while the hub is not up (Redis not connected) a socket is closed with
1013; the server's own ``send`` is in the scope for the outbox's writer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from structlog.testing import capture_logs

from direkt.server.ws.entry import HubFirst, route_path
from direkt.server.ws.outbox import SERVER_SEND

SECRET = "19121212-1212"  # a personnummer in an exception's message must not reach the log


class FakeHub:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sends: list[Any] = []

    async def endpoint(self, websocket: WebSocket) -> None:
        self.sends.append(websocket.scope.get(SERVER_SEND))
        if self.behaviour == "fail_before_accept":
            raise RuntimeError(f"lookup failed for {SECRET}")
        if self.behaviour == "client_gone":
            raise WebSocketDisconnect(1006)
        await websocket.accept()
        if self.behaviour == "fail_after_accept":
            raise KeyError(SECRET)
        await websocket.send_text("hub")
        await websocket.close()


class Errors:
    def __init__(self) -> None:
        self.counted: list[tuple[str, str]] = []

    def error(self, code: str, where: str) -> None:
        self.counted.append((code, where))


def app_with(hub: FakeHub | None) -> tuple[HubFirst, Errors]:
    errors = Errors()
    backend = SimpleNamespace(hub=hub, metrics=errors)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {"backend": backend}

    async def hello(_: Request) -> PlainTextResponse:
        return PlainTextResponse("starlette")

    return HubFirst(Starlette(routes=[Route("/hello", hello)], lifespan=lifespan)), errors


def test_the_hub_gets_ws_and_starlette_everything_else() -> None:
    hub = FakeHub("ok")
    app, _ = app_with(hub)
    with TestClient(app) as client:
        assert client.get("/hello").text == "starlette"
        assert client.get("/ws").status_code == 404  # plain HTTP to /ws is Starlette's: not found
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "hub"
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/elsewhere") as ws:
            ws.receive_text()  # Starlette's router closes a WebSocket to an unknown path
    assert len(hub.sends) == 1
    assert hub.sends[0] is not None  # the server's own send, for the outbox's writer


def test_an_error_before_accept_is_a_500_logged_without_its_message() -> None:
    app, errors = app_with(FakeHub("fail_before_accept"))
    with TestClient(app) as client, capture_logs() as logs:
        with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/ws"):
            pass
        assert refused.value.status_code == 500
        assert refused.value.json()["error"]["code"] == "internal"
        assert client.get("/hello").text == "starlette"  # the server goes on
    failures = [line for line in logs if line["event"] == "ws_failed"]
    assert failures == [
        {"event": "ws_failed", "error": "RuntimeError", "code": "internal", "accepted": False, "log_level": "error"}
    ]
    assert SECRET not in repr(logs)
    assert errors.counted == [("internal", "ws")]


def test_an_error_after_accept_closes_with_1011() -> None:
    app, errors = app_with(FakeHub("fail_after_accept"))
    with TestClient(app) as client, capture_logs() as logs:
        with client.websocket_connect("/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1011
    assert [line["error"] for line in logs if line["event"] == "ws_failed"] == ["KeyError"]
    assert SECRET not in repr(logs)
    assert errors.counted == [("internal", "ws")]


def test_before_the_hub_is_up_a_socket_is_told_to_try_again() -> None:
    app, _ = app_with(None)
    with TestClient(app) as client, pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws") as ws:
        ws.receive_text()
    assert closed.value.code == 1013


@pytest.mark.parametrize(
    ("path", "root", "found"),
    [("/ws", "", "/ws"), ("/app/ws", "/app", "/ws"), ("/ws", "/app", "/ws"), ("/wsx", "", "/wsx")],
)
def test_the_path_is_matched_below_the_root_path(path: str, root: str, found: str) -> None:
    assert route_path({"path": path, "root_path": root}) == found


def test_a_client_gone_during_the_handshake_is_no_failure() -> None:
    app, errors = app_with(FakeHub("client_gone"))
    with TestClient(app) as client, capture_logs() as logs:
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws") as ws:
            ws.receive_text()
        assert client.get("/hello").text == "starlette"
    assert not [line for line in logs if line["event"] == "ws_failed"]
    assert errors.counted == []
