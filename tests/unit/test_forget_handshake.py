"""An open socket keeps no handshake headers (memory per socket, issue 25)."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket
from websockets.datastructures import Headers
from websockets.http11 import Request

from direkt.server.ws.connection import forget_handshake
from direkt.server.ws.outbox import SERVER_SEND


class FakeProtocol:
    def __init__(self, request: Request) -> None:
        self.request = request

    async def send(self, message: Any) -> None:
        pass


async def receive() -> Any:
    return {}


async def send(message: Any) -> None:
    pass


def test_the_scope_and_the_parsed_request_lose_their_headers() -> None:
    request = Request("/ws?ticket=t", Headers([("Origin", "http://x"), ("Cookie", "sid=secret")]))
    scope = {"type": "websocket", "headers": [(b"origin", b"http://x"), (b"cookie", b"sid=secret")]}
    scope[SERVER_SEND] = FakeProtocol(request).send
    scope["query_string"] = b"ticket=t"
    websocket = WebSocket(scope, receive, send)
    assert websocket.headers.get("origin") == "http://x"  # read before accept, as the hub does
    assert websocket.query_params.get("ticket") == "t"

    forget_handshake(websocket)

    assert not {"_headers", "_query_params"} & set(vars(websocket))  # Starlette's parsed copies are gone
    assert websocket.query_params.get("ticket") == "t"  # read again, it is parsed from the scope
    assert scope["headers"] == []
    assert list(request.headers.raw_items()) == []
    assert websocket.headers.get("origin") is None


def test_other_servers_scopes_are_left_alone() -> None:
    websocket = WebSocket({"type": "websocket", "headers": ((b"origin", b"http://x"),)}, receive, send)
    forget_handshake(websocket)  # no list, no websockets-sansio protocol: nothing to empty, no error
    assert websocket.scope["headers"] == ((b"origin", b"http://x"),)
