"""A stand-in SMS gateway on loopback (a real HTTP server, not a mock object): the tests read what it was sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from support import free_port, serve_in_thread


@dataclass
class SmsReceiver:
    """Records every POST body and says when one came."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle(self, request: Request) -> JSONResponse:
        self.received.append(orjson.loads(await request.body()))
        self.arrived.set()
        return JSONResponse({"status": "queued"})


@contextmanager
def sms_receiver() -> Iterator[SmsReceiver]:
    """The gateway at ``receiver.url`` (``DIREKT_SMS_URL``) while the block runs."""
    port = free_port()
    receiver = SmsReceiver(f"http://127.0.0.1:{port}/sms")
    with serve_in_thread(Starlette(routes=[Route("/sms", receiver.handle, methods=["POST"])]), port, "SMS receiver"):
        yield receiver
