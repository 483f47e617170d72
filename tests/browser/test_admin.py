"""The administration page (client-demo/admin/) against two real server processes on one Redis:
an administrator adds a staff member and changes a unit's hours and closure days on process A,
and within seconds process B lets the new staff member log in and shows the unit closed today."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import Background, axe_check, screenshot, staff_login, until

from direkt.loadtests.client import ApiError, Client
from direkt.server.care.triageflow import stockholm_date
from direkt.server.redis.embedded import EmbeddedRedis

ADMIN = "/admin/"


@pytest.fixture
def process_b(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """A second server process on the same Redis (the module's server is process A)."""
    other = ServerProcess(standalone_redis.url)
    yield other
    other.stop()


@pytest.fixture
def bg() -> Iterator[Background]:
    loop = Background()
    yield loop
    loop.stop()


def on_b(bg: Background, base: str, username: str, password: str, path: str) -> Any:
    """Log in on process B and GET ``path``; None while B refuses the login."""

    async def visit() -> Any:
        client = Client(base)
        try:
            await client.login_staff(username, password)
            return await client.call("GET", path)
        except ApiError:
            return None
        finally:
            await client.aclose()

    return bg.run(visit())


def test_an_edit_on_one_process_is_live_on_the_other_within_seconds(
    open_page: Callable[..., Page], process_b: ServerProcess, bg: Background
) -> None:
    page = open_page(ADMIN, name="admin")
    expect(page.get_by_role("heading", name="Logga in som administratör")).to_be_visible()
    assert axe_check(page, "admin-login") == []
    staff_login(page, "nurse-1")  # a nurse is not an administrator
    expect(page.get_by_role("alert")).to_have_text("Du är inloggad men har inte rollen administratör.")
    page.context.clear_cookies()
    page.reload()
    staff_login(page, "admin-1")
    expect(page.get_by_role("heading", name="Personal", level=1)).to_be_visible()
    expect(page.get_by_role("row", name="Nora Nilsson")).to_contain_text("Testby vårdcentral")
    assert axe_check(page, "admin-staff-list") == []

    # a new nurse: first without a unit, which the server refuses naming the field
    page.get_by_role("button", name="Lägg till personal").click()
    expect(page.get_by_role("heading", name="Ny personal")).to_be_focused()
    page.get_by_label("Användarnamn (id)").fill("nurse-9")
    page.get_by_label("Namn", exact=True).fill("Nina Nyström")
    page.get_by_label("Max antal chattar samtidigt").fill("3")
    page.get_by_label("Nytt lösenord (demo-inloggning)").fill("hemligt9")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("alert")).to_contain_text("Kontrollera fältet ”Enheter”")
    units = page.get_by_role("group", name="Enheter")
    expect(units).to_contain_text("a staff member serves at least one unit")
    assert axe_check(page, "admin-staff-error") == []
    units.get_by_label("Testby vårdcentral").check()
    screenshot(page, "admin-staff")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status")).to_have_text("Sparat. Ändringen gäller nu på alla servrar.")
    expect(page.get_by_role("row", name="Nina Nyström")).to_contain_text("Aktiv")
    expect(page.get_by_text("Version 2 av konfigurationen")).to_be_visible()

    # the unit: other hours, and closed today
    page.get_by_role("link", name="Enheter").click()
    page.get_by_role("button", name="Redigera Testby vårdcentral").click()
    page.get_by_label("Tider, rad 1").fill("06:00-23:00")
    today = stockholm_date(int(time.time() * 1000)).isoformat()
    page.get_by_label("Ny stängd dag").fill(today)
    page.get_by_role("button", name="Lägg till stängd dag").click()
    expect(page.get_by_role("group", name="Stängda dagar")).to_contain_text(today)
    assert axe_check(page, "admin-unit") == []
    screenshot(page, "admin-unit")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("row", name="Testby vårdcentral")).to_contain_text(today)

    # process B: the new nurse logs in, and Testby is closed today
    def b_units() -> Any:
        return on_b(bg, process_b.base, "nurse-9", "hemligt9", "/api/staff/units")

    until(page, lambda: b_units() is not None, "the new staff member logs in on process B", 10)
    vc = next(u for u in b_units()["units"] if u["unit"] == "vc-t")
    assert vc["open"] is False
    config = on_b(bg, process_b.base, "admin-1", "demo", "/api/admin/config")
    unit = next(u for u in config["units"] if u["id"] == "vc-t")
    assert unit["hours"]["daily"] == "06:00-23:00" and unit["closed_days"] == [today]
