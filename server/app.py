"""The Starlette application: routes, lifespan and typed state.

Health, the HTTP API (``api.py``, ``auth.py``), ``/openapi.json`` and the
browser clients (``static.py``) are Starlette's; the WebSocket hub (``/ws``) is
reached in front of it (``ws/entry.py``: a handshake skips Starlette's stack).
The triage knowledge base is loaded once per process, here, before the first request.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypedDict

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from direkt.server.care.catalogue import load_catalogue
from direkt.server.errors import DirektError, Unauthenticated, as_direkt_errors
from direkt.server.http.openapi import openapi_document
from direkt.server.http.requests import OrjsonResponse, error_response, on_direkt_error
from direkt.server.http.routes import ENDPOINTS
from direkt.server.http.static import client_app
from direkt.server.identity.auth import AUTH_ROUTES
from direkt.server.lifecycle import Backend
from direkt.server.metrics import CONTENT_TYPE, Metrics, check_scraper
from direkt.server.region import RegionConfig, check_brand_files, load_region_config
from direkt.server.settings import Settings
from direkt.server.ws.entry import HubFirst
from direkt.triage.kbcache import load_for_server


class State(TypedDict):
    backend: Backend


async def metrics_text(request: Request) -> Response:
    """The Prometheus exposition, for a scraper holding ``DIREKT_METRICS_TOKEN``; 404 while no token is set."""
    backend: Backend = request.state.backend
    try:
        check_scraper(request.headers.get("authorization", ""), backend.settings.metrics_token)
    except Unauthenticated as exc:
        backend.metrics.error(exc.code, "http")
        refused = error_response(exc)
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'  # RFC 6750
        return refused
    census, now = await backend.waiting_census()
    return Response(backend.metrics.exposition(census, now), media_type=CONTENT_TYPE)


async def healthz(_: Request) -> Response:
    """Alive: the process answers. Says nothing about Redis."""
    return OrjsonResponse({"status": "alive"})


async def readyz(request: Request) -> Response:
    """Ready: Redis reachable and the waiting-room scripts loaded."""
    readiness = await request.state.backend.readiness()
    if readiness.ready:
        return OrjsonResponse({"status": "ready"})
    return OrjsonResponse({"status": "not_ready", "problem": readiness.problem}, status_code=503)


def create_app(settings: Settings, config: RegionConfig | None = None) -> HubFirst:
    """Build the application; the region configuration is validated here, at start.

    Raises:
        ConfigError: the region configuration is invalid (or its logo is not in the client directory).
    """
    config = config or load_region_config(settings.region_config)
    load_catalogue(settings.catalogue)  # checked here, at start: a bad catalogue stops the server with its error
    with as_direkt_errors():
        kb = load_for_server(settings.data_dir, validate_paths=settings.triage_validate)
    document = orjson.dumps(openapi_document(kb.version))

    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        backend = Backend(settings, config, kb, metrics)
        await backend.start()
        try:
            with tuned_gc():
                yield {"backend": backend}
        finally:
            await backend.stop()

    async def openapi(_: Request) -> Response:
        return Response(document, media_type="application/json")

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz), Route("/openapi.json", openapi)]
    routes.append(Route("/metrics", metrics_text))
    routes += [Route(path, handler, methods=[method]) for method, path, handler, _, _ in AUTH_ROUTES]
    routes += [Route(e.path, e.handler, methods=[e.method]) for e in ENDPOINTS]
    client = client_app(settings)
    if client is not None:
        check_brand_files(config, settings.client_dir)
        routes.append(Mount("/", app=client, name="client"))  # last: the API's paths win
    handlers = {DirektError: on_direkt_error, HTTPException: on_http_error}
    return HubFirst(Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers))


# The cyclic garbage collector while serving: the young generation's size (CPython's default
# is 700) and how many middle-generation collections may pass before a full one (default 10).
GC_YOUNG = 10_000
GC_OLD = 100


@contextmanager
def tuned_gc() -> Iterator[None]:
    """The garbage collector as a server with many live objects wants it; restored afterwards.

    Everything made at start (the triage knowledge base, routes, modules) is
    frozen out of collections, and the young generation is larger. With
    CPython's defaults a reconnect storm of 2,050 sockets ran seven full
    collections of about 240 ms each, a quarter of the hub's CPU; with these,
    none, and about 5 ms per young collection.

    Full collections are rarer too: each one walks every live object, and with
    10,000 sockets that took 1.1-1.8 s, three times while they resumed after a
    storm. A closed socket that lived long is cyclic garbage (uvicorn's protocol
    and transport objects and the hub's connection hold reference cycles), freed
    only by a full collection: these come about ten times less often and hold
    that garbage longer (a 10,000-socket storm's peak RSS 640 MB, not 500 MB).
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, before[1], GC_OLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer with the same typed JSON error as everything else."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    request.state.backend.metrics.error(code, "http")
    return OrjsonResponse({"error": {"code": code, "message": str(exc.detail)}}, status_code=exc.status_code)


def app_from_env() -> HubFirst:
    """uvicorn factory for worker processes: settings come from the environment."""
    return create_app(Settings.from_env(os.environ))
