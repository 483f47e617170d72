"""`direkt serve` says where to open the apps once it is ready (issue 20, point 10):
the real process's output names the citizen chat and the staff console at its own address,
once, and only after /readyz answers."""

from __future__ import annotations

import time
import urllib.request

import pytest
from support import ServerProcess, timeout

from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow


def announced(server: ServerProcess, seconds: float = 10) -> str:
    deadline = time.monotonic() + timeout(seconds)
    while "direkt is ready" not in (output := server.output()):
        assert time.monotonic() < deadline, f"no ready banner in the output:\n{output[-2000:]}"
        time.sleep(0.05)
    return output


def test_serve_prints_the_citizen_and_console_urls_once_when_ready(standalone_redis: EmbeddedRedis) -> None:
    server = ServerProcess(standalone_redis.url, workers=2)
    try:
        output = announced(server)
        assert f"Citizen chat:  http://127.0.0.1:{server.port}/chat/" in output
        assert f"Staff console: http://127.0.0.1:{server.port}/console/" in output
        assert output.count("direkt is ready") == 1  # once, however many workers
        for path in ("/chat/", "/console/"):  # the printed addresses are the apps
            with urllib.request.urlopen(server.url(path), timeout=timeout(5)) as page:
                assert page.status == 200 and b"<!doctype html>" in page.read().lower()
    finally:
        server.stop()
