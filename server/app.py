"""The Starlette application: routes, lifespan and typed state.

Only health endpoints so far; the HTTP API and the WebSocket hub mount here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from direkt.server.backend import Backend
from direkt.server.region import RegionConfig, load_region_config
from direkt.server.settings import Settings


class State(TypedDict):
    backend: Backend


class OrjsonResponse(JSONResponse):
    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


async def healthz(_: Request) -> Response:
    """Alive: the process answers. Says nothing about Redis."""
    return OrjsonResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    """Ready: Redis reachable and the waiting-room scripts loaded."""
    readiness = await request.state.backend.readiness()
    if readiness.ready:
        return OrjsonResponse({"status": "ready"})
    return OrjsonResponse({"status": "not_ready", "problem": readiness.problem}, status_code=503)


def create_app(settings: Settings, config: RegionConfig | None = None) -> Starlette:
    """Build the application; the region configuration is validated here, at start.

    Raises:
        ConfigError: the region configuration is invalid.
    """
    config = config or load_region_config(settings.region_config)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        backend = Backend(settings, config)
        await backend.start()
        try:
            yield {"backend": backend}
        finally:
            await backend.stop()

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz)],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """uvicorn factory for worker processes: settings come from the environment."""
    return create_app(Settings.from_env(os.environ))
