"""The application in-process (Starlette TestClient runs the lifespan)."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from starlette.testclient import TestClient
from support import free_port, short_tmpdir, timeout

from direkt.server.app import GC_OLD, GC_YOUNG, create_app
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.settings import Settings


def wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + timeout(10)
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").json()
        time.sleep(0.05)


def readiness_until(client: TestClient, condition: Callable[[dict[str, str]], bool]) -> dict[str, str]:
    """Ask /readyz until its answer meets ``condition`` (a 503 when not ready); the answer."""
    deadline = time.monotonic() + timeout(10)
    while True:
        response = client.get("/readyz")
        body: dict[str, str] = response.json()
        if condition(body):
            assert response.status_code == (200 if body["status"] == "ready" else 503), body
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_health_and_readiness_with_redis(standalone_redis: EmbeddedRedis) -> None:
    # No walk of every triage path at start (about 50 s): test_serve starts a server that makes it.
    app = create_app(Settings(redis_url=standalone_redis.url, triage_validate=False))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "alive"}
        wait_ready(client)
        assert client.get("/readyz").json() == {"status": "ready"}


def test_while_serving_the_start_up_objects_are_frozen_out_of_collections_and_put_back_after() -> None:
    before = gc.get_threshold()
    app = create_app(Settings(redis_url=f"redis://127.0.0.1:{free_port()}", triage_validate=False))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == (GC_YOUNG, before[1], GC_OLD)  # rarer full collections too
        assert gc.get_freeze_count() > 10_000  # the knowledge base, routes and modules
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_readiness_names_the_problem_when_redis_is_unreachable() -> None:
    port = free_port()  # nothing listens here
    app = create_app(Settings(redis_url=f"redis://127.0.0.1:{port}", triage_validate=False))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        body = readiness_until(client, lambda body: "cannot reach" in body["problem"])  # a failed attempt
        assert body["status"] == "not_ready"
        assert f"127.0.0.1:{port}" in body["problem"]


def test_readiness_recovers_when_redis_comes_back() -> None:
    port = free_port()
    app = create_app(Settings(redis_url=f"redis://127.0.0.1:{port}", reap_interval_seconds=0.1, triage_validate=False))
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 503
        with EmbeddedRedis(short_tmpdir("dk-late-"), port=port):
            wait_ready(client)
            assert client.get("/readyz").json() == {"status": "ready"}
        assert "unavailable" in readiness_until(client, lambda body: body["status"] == "not_ready")["problem"].lower()
