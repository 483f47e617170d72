"""The way in for ``/ws``: WebSocket handshakes go straight to the hub, past Starlette.

Through Starlette a WebSocket open went through its error and exception
middleware, the router (which tries every HTTP route before ``/ws``), the
route's session wrapper and its exception wrapper around ``send``: about a
twentieth of the hub's CPU in a reconnect storm, none of it doing anything for
a WebSocket (the hub answers its own refusals, ``refusals.deny``). ``HubFirst``
sits in front of the Starlette application and hands ``/ws`` to the hub itself;
everything else (HTTP, lifespan, any other WebSocket path) goes to Starlette
as before.

What Starlette's wrappers gave, kept here:

* the lifespan's state: ``scope["state"]`` holds the backend (uvicorn and
  Starlette's TestClient copy it into every connection's scope);
* ``RecordServerSend``: the server's own ``send`` is kept in the scope (the
  outbox's writer finds uvicorn's protocol through it), and this is the
  outermost application, so ``send`` is the server's;
* an error in the hub never reaches uvicorn, which would log its traceback
  (exception messages may hold personal data): it is logged by type, counted,
  and the socket ends with HTTP 500 before accept or close code 1011 after.

uvicorn's proxy-header middleware stays in front of everything: the client
address in the scope is the same as before.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from direkt.server.errors import DirektError
from direkt.server.ws.outbox import SERVER_SEND
from direkt.server.ws.refusals import CLOSE_INTERNAL_ERROR, CLOSE_TRY_AGAIN, deny

log = structlog.get_logger("direkt.hub")

HUB_PATH = "/ws"


class SocketFailed(DirektError):
    """A socket ended by an unexpected error in the server: 500 before accept."""

    code = "internal"
    status = 500


class HubFirst:
    """ASGI: WebSockets to ``HUB_PATH`` go to the hub; everything else to ``app`` (Starlette)."""

    __slots__ = ("app", "path")

    def __init__(self, app: ASGIApp, path: str = HUB_PATH) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and route_path(scope) == self.path:
            scope[SERVER_SEND] = send
            await open_socket(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The path below the application's root path, as Starlette's router matches it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def open_socket(websocket: WebSocket) -> None:
    """One socket's whole life in the hub; an error in it ends this socket only."""
    backend = (websocket.scope.get("state") or {}).get("backend")
    hub = getattr(backend, "hub", None)
    try:
        if hub is None:
            await websocket.close(CLOSE_TRY_AGAIN)  # Redis not connected yet: try again later
            return
        await hub.endpoint(websocket)
    except WebSocketDisconnect:
        await end_failed(websocket)  # the client left during the handshake: no failure to log or count
    except Exception as exc:  # noqa: BLE001 - one socket's failure must not reach the server
        failed(websocket, backend, exc)
        await end_failed(websocket)


def failed(websocket: WebSocket, backend: Any, exc: Exception) -> None:
    """Log and count a socket's unexpected error: its type only (a message may hold personal data)."""
    code = exc.code if isinstance(exc, DirektError) else "internal"
    log.error("ws_failed", error=type(exc).__name__, code=code, accepted=accepted(websocket))
    metrics = getattr(backend, "metrics", None)
    if metrics is not None:
        metrics.error(code, "ws")


def accepted(websocket: WebSocket) -> bool:
    return websocket.client_state is not WebSocketState.CONNECTING


async def end_failed(websocket: WebSocket) -> None:
    """HTTP 500 before accept, close code 1011 after; nothing if the socket is gone already."""
    with contextlib.suppress(Exception):  # the client may be gone, or the close already sent
        if not accepted(websocket):
            await deny(websocket, SocketFailed("the server could not open the socket; try again"))
        elif websocket.application_state is WebSocketState.CONNECTED:
            await websocket.close(CLOSE_INTERNAL_ERROR)
