"""The console's phrase editor (client-demo/console/phraseeditor.js): a nurse edits her own phrases
and her unit's, until an administrator lets the unit keep its phrases (staff_edit_phrases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import Background, Citizen, axe_check, erik_in_a_chat, screenshot

from direkt.loadtests.client import Client


@pytest.fixture
def bg() -> Iterator[Background]:
    loop = Background()
    yield loop
    loop.stop()


def keep_unit_phrases(bg: Background, base: str, unit_id: str) -> None:
    """An administrator turns off staff editing of the unit's phrases (HTTP, as the admin page does)."""

    async def edit() -> None:
        admin = Client(base)
        try:
            await admin.login_staff("admin-1")
            config = await admin.call("GET", "/api/admin/config")
            unit = next(u for u in config["units"] if u["id"] == unit_id)
            body = {k: v for k, v in unit.items() if k != "id"} | {"staff_edit_phrases": False}
            headers = {"X-CSRF-Token": admin.csrf, "If-Match": str(config["version"])}
            response = await admin.http.put(f"/api/admin/units/{unit_id}", json=body, headers=headers)
            assert response.status_code == 200, response.text
        finally:
            await admin.aclose()

    bg.run(edit())


def test_a_nurse_edits_her_phrases_and_her_units_where_the_unit_allows_it(
    open_page: Callable[..., Page], people: Callable[[str], Citizen], server: ServerProcess, bg: Background
) -> None:
    _, _, page = erik_in_a_chat(open_page, people)
    page.get_by_role("button", name="Fraser", exact=True).click()
    page.get_by_role("button", name="Redigera frasbanken").click()
    dialog = page.get_by_role("dialog", name="Mina fraser")
    expect(dialog).to_contain_text("Du får ändra fraser för: Testby vårdcentral, 1177 Test.")
    dialog.get_by_role("button", name="Ny fras").click()
    page.get_by_label("Rubrik").fill("Vår hälsning")
    page.get_by_label("Text på svenska").fill("Hej {first_name}, välkommen till {unit}!")
    page.get_by_label("Text på engelska").fill("Hi {first_name}, welcome to {unit}!")
    page.get_by_label("Gäller").select_option(label="Hela Testby vårdcentral")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("status").filter(has_text="Frasen är sparad.")).to_be_visible()
    expect(page.get_by_role("dialog")).to_contain_text("Hela Testby vårdcentral")
    assert axe_check(page, "console-phrases") == []
    screenshot(page, "console-phrases")
    page.get_by_role("button", name="Stäng").click()

    keep_unit_phrases(bg, server.base, "vc-t")
    page.get_by_role("button", name="Fraser", exact=True).click()
    page.get_by_role("button", name="Redigera frasbanken").click()
    dialog = page.get_by_role("dialog", name="Mina fraser")
    expect(dialog).to_contain_text("Fraserna för Testby vårdcentral ändras av en administratör.")
    expect(dialog).to_contain_text("Du får ändra fraser för: 1177 Test.")
    expect(dialog.get_by_role("button", name="Ändra Vår hälsning")).to_have_count(0)  # the unit keeps it now
    dialog.get_by_role("button", name="Ny fras").click()
    expect(page.get_by_label("Gäller").locator("option")).to_have_text(["Bara mig (personlig)", "Hela 1177 Test"])
    page.get_by_label("Rubrik").fill("Min uppföljning")
    page.get_by_label("Text på svenska").fill("Jag ringer dig i morgon.")
    page.get_by_label("Text på engelska").fill("I will call you tomorrow.")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("dialog")).to_contain_text("Bara mig (personlig)")
    assert axe_check(page, "console-phrases-unit-kept") == []
