"""Browser fixtures: Debian's headless Chromium driven by Playwright, pages of
a real ``direkt serve`` on the embedded Redis, axe-core in the page, and
screenshots in ``var/screenshots``.

Each person gets their own browser context (own cookies), so a citizen and a
nurse can work side by side. Any JavaScript error or console error on a page
fails the test that opened it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import ServerProcess, reseeded
from support_browser import CHROMIUM, CHROMIUM_FLAGS, DESKTOP, Background, Citizen

from direkt.server.redis.embedded import EmbeddedRedis

EXPECTED_401 = ("/auth/staff/login",)  # a wrong password; a logged-out page's session probe is a 200
pytestmark = [pytest.mark.slow, pytest.mark.browser]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    reason = (
        "browser tests skipped: /usr/bin/chromium is missing (Debian's chromium package; "
        "`make test` installs it when run as root or with sudo, see scripts/ensure-chromium)"
    )
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Module scope, not session: Playwright's sync API runs an event
    loop in this thread while it is started, which the asyncio tests of later modules cannot share."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, DIREKT_POSITION_INTERVAL_SECONDS="0.5")
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def clean_redis(standalone_redis: EmbeddedRedis) -> None:
    import redis

    client = redis.Redis.from_url(standalone_redis.url)
    client.flushall()
    client.close()
    reseeded(standalone_redis.url)


@pytest.fixture
def open_page(browser: Any, server: ServerProcess) -> Iterator[Callable[..., Any]]:
    """open_page(path, viewport=DESKTOP) -> a Page in a fresh context (own cookies)."""
    contexts: list[Any] = []
    errors: list[tuple[str, str]] = []

    def opener(path: str = "/", *, viewport: dict[str, int] = DESKTOP, name: str = "page", **options: Any) -> Any:
        context = browser.new_context(
            base_url=server.base, viewport=viewport, locale="sv-SE", timezone_id="Europe/Stockholm", **options
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append((name, f"page error: {exc}")))
        page.on("console", lambda msg: _console(msg, name, errors))
        page.goto(path)
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"errors in the browser: {errors}"


def _console(message: Any, name: str, errors: list[tuple[str, str]]) -> None:
    if message.type != "error":
        return
    text, url = message.text, message.location.get("url", "?")
    # Chromium logs a dropped socket, an offline request and every 401 as errors; the tests that drop
    # sockets or go offline expect the first two, and a wrong password gets 401.
    if any(s in text for s in ("WebSocket connection", "ERR_CONNECTION_REFUSED", "ERR_INTERNET_DISCONNECTED")):
        return
    if "status of 401" in text and url.endswith(EXPECTED_401):
        return
    if any(f"status of {n}" in text for n in (403, 409, 422)) and "/api/admin/" in url:  # the admin page's refusals
        return
    if "status of 415" in text and url.endswith("/photos"):  # a photo refused: the tests that send one check the words
        return
    errors.append((name, f"console error: {text} at {url}"))


@pytest.fixture
def people(server: ServerProcess) -> Iterator[Callable[[str], Citizen]]:
    """people(pnr) -> a scripted citizen (tests/support_browser.py) on the module's server, closed after the test."""
    bg = Background()
    made: list[Citizen] = []

    def make(pnr: str) -> Citizen:
        made.append(Citizen(bg, server.base, pnr))
        return made[-1]

    yield make
    for person in made:
        person.close()
    bg.stop()
