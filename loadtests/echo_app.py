"""A bare Starlette WebSocket echo: the ceiling of the Python stack, no Redis.

Served by uvicorn with the same options as ``direkt serve`` (see
``direkt.server.serve.uvicorn_options``), so a benchmark against it measures
the WebSocket implementation we ship.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await websocket.send_bytes(message["bytes"])
            else:
                await websocket.send_text(message.get("text") or "")
    except WebSocketDisconnect:
        return


app = Starlette(routes=[WebSocketRoute("/echo", echo)])
