"""The mobile number for the chat-ready SMS in the citizen's widget (issue 23, point 7): the waiting
room offers the number from the profile, sends it only with the box ticked, refuses a number that is
not a Swedish mobile in plain words, and can take it back; axe finds nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect
from support_browser import axe_check, login, screenshot, widget_waiting


def test_the_waiting_room_takes_changes_and_removes_the_sms_number(open_page: Callable[..., Any]) -> None:
    page = open_page("/chat/", name="citizen")
    login(page)  # Erik, whose demo profile has a mobile number
    case = widget_waiting(page)
    number = page.get_by_label("Mobilnummer")
    expect(number).to_have_value("+46701740606")  # offered, not used until he says yes
    expect(page.get_by_text("Inget sms skickas.")).to_be_visible()
    consent = page.get_by_label("Ja, skicka ett sms till mig när chatten är redo")
    expect(consent).not_to_be_checked()

    number.fill("08-123 456 78")
    consent.check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_role("alert").filter(has_text="inte ett svenskt mobilnummer")).to_be_visible()
    expect(number).to_have_attribute("aria-invalid", "true")

    number.fill("070-111 22 33")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Vi skickar ett sms till +46701112233 när chatten är redo.")).to_be_visible()
    expect(number).not_to_have_attribute("aria-invalid", "true")
    assert axe_check(page, "sms-phone") == []
    page.locator("form.sms-phone").scroll_into_view_if_needed()
    screenshot(page, "sms-phone")
    status = page.request.get(f"/api/cases/{case}").json()
    assert status["sms_phone"] == "+46701112233"

    page.reload()  # the number given is what the form shows again
    expect(page.get_by_label("Mobilnummer")).to_have_value("+46701112233")
    expect(page.get_by_label("Ja, skicka ett sms till mig när chatten är redo")).to_be_checked()
    page.get_by_label("Ja, skicka ett sms till mig när chatten är redo").uncheck()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("Inget sms skickas.")).to_be_visible()
    assert page.request.get(f"/api/cases/{case}").json()["sms_phone"] is None
