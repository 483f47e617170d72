"""How the socket says no: close codes, the refusal before accept, and error frames.

Every refusal of a frame is an ``error`` frame with a stable code, mapped from
``DirektError`` in one place (``error_frame``); no internals go on the wire.
An error outside any frame ends the socket with the close code that tells the
client what to do next (``close_code_for``).
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from direkt.server.care.transcript import HistoryLost
from direkt.server.errors import DirektError, RedisUnavailable, Unauthenticated
from direkt.server.metrics import Metrics

log = structlog.get_logger("direkt.hub")

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN = 1013
CLOSE_SESSION_ENDED = 4001
CLOSE_RIGHTS_CHANGED = 4002  # the staff member's units or rights changed: reconnect to get the new ones


def close_code_for(exc: DirektError) -> int:
    """Ending a socket on an error outside any frame: 4001 log in again, 1013 retry later, 1008 otherwise."""
    if isinstance(exc, Unauthenticated):
        return CLOSE_SESSION_ENDED
    if isinstance(exc, RedisUnavailable):
        return CLOSE_TRY_AGAIN
    return CLOSE_POLICY


async def deny(websocket: WebSocket, exc: DirektError) -> None:
    """Refuse before accept: HTTP status and a JSON reason where the server can send one."""
    status = getattr(exc, "status", 403)
    log.info("ws_refused", code=exc.code)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": {"code": exc.code, "message": exc.message}}
        await websocket.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await websocket.close(CLOSE_POLICY)


def error_frame(exc: DirektError, ref: str, metrics: Metrics) -> dict[str, Any]:
    """The one place where errors become frames: a stable code and a plain message (counted by code)."""
    metrics.error(exc.code, "ws")
    frame: dict[str, Any] = {"t": "error", "code": exc.code, "message": exc.message}
    if ref:
        frame["ref"] = ref
    if isinstance(exc, HistoryLost):
        frame["epoch"] = exc.epoch
    return frame
