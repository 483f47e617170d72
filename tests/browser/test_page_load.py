"""A first visit to each page, logged out, in Chromium (issue 20, point 12): the browser's
console stays empty (no 401 from the session probe, no failed request, no script error),
and every page has a meta description."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from support import ServerProcess
from support_browser import DESKTOP

# Each page, and what it shows once its script has run (the apps: once they have asked who is logged in).
PAGES = {
    "/": ("heading", "direkt"),
    "/chat/": ("button", "Logga in med e-legitimation"),
    "/console/": ("button", "Logga in"),
    "/admin/": ("button", "Logga in"),
    "/embed-demo.html?unit=vc-t": ("button", "Chatta med vården"),  # a unit of the test region
}


@pytest.fixture
def fresh_context(browser: Any, server: ServerProcess) -> Iterator[Any]:
    context = browser.new_context(base_url=server.base, viewport=DESKTOP, locale="sv-SE")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.mark.parametrize("path", list(PAGES))
def test_a_first_visit_logs_nothing_in_the_console_and_describes_the_page(fresh_context: Any, path: str) -> None:
    page = fresh_context.new_page()
    logged: list[str] = []
    page.on(
        "console", lambda msg: logged.append(f"{msg.type}: {msg.text}") if msg.type in ("error", "warning") else None
    )
    page.on("pageerror", lambda exc: logged.append(f"page error: {exc}"))
    page.on("response", lambda r: logged.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(path)
    role, name = PAGES[path]
    expect(page.get_by_role(role, name=name, exact=True).first).to_be_visible()  # the apps have asked who is in
    page.wait_for_load_state("networkidle")
    assert logged == [], logged
    description = page.locator('meta[name="description"]')
    expect(description).to_have_count(1)
    assert len(description.get_attribute("content") or "") >= 50
