"""The console's "Journalkopia" (issue 24) in Chromium against a real server: beside a returning
patient's chat, the earlier closed contact offers its journal record as a printable page and as a
FHIR file, each opening in a new tab; a case the nurse closes in the console is listed under
"Nyss avslutade" with its record at once; axe at 0 violations on the console and the printed page.

The earlier case is handled by a scripted nurse on an event loop in a background thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import Background, axe_check, claim_next, console, screenshot, tab
from support_hub import ERIK, SORE_THROAT, citizen, staff

from direkt.loadtests.client import Client

JOURNAL = "Halsont 10 dygn, Centor 1. Egenvårdsråd om vila och vätska."
NOW_NOTE = "Åter efter en vecka, fortsatt halsont. Egenvårdsråd, hör av sig om feber."


@pytest.fixture
def bg() -> Iterator[Background]:
    loop = Background()
    yield loop
    loop.stop()


async def submitted(who: Client) -> str:
    view = await who.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    return str((await who.submit(view["id"]))["case"])


async def closed_then_back(base: str) -> str:
    """Erik's sore throat closed by nurse-1 with a journal note; then Erik back in the queue."""
    async with await citizen(base, ERIK) as erik, await staff(base, "nurse-1") as nurse:
        case = await submitted(erik)
        sock = await nurse.socket()
        try:
            assert (await sock.request({"t": "claim_next", "rid": f"c-{case}"}, "claimed"))["case"] == case
        finally:
            await sock.close()
        await nurse.call("POST", f"/api/staff/cases/{case}/close", {"outcome": "self_care_advice", "note": JOURNAL})
        await submitted(erik)
        return case


def test_the_nurse_exports_an_earlier_contacts_journal_record(
    open_page: Callable[..., Page], server: ServerProcess, bg: Background
) -> None:
    case = bg.run(closed_then_back(server.base))
    page = console(open_page)
    claim_next(page)
    expect(tab(page, "Erik")).to_have_attribute("aria-selected", "true")
    contact = page.get_by_role("tabpanel").get_by_role("region", name="Tidigare kontakter").get_by_role("listitem")
    expect(contact).to_contain_text("Journalkopia (exporten loggas)")
    printable = contact.get_by_role("link", name="Utskrift")
    fhir = contact.get_by_role("link", name="FHIR-fil")
    expect(printable).to_have_attribute("href", f"/api/staff/cases/{case}/record.html")
    expect(printable).to_have_attribute("target", "_blank")
    assert axe_check(page, "console-record-links") == []
    screenshot(page, "console-record-links")

    with page.context.expect_page() as opened:
        printable.click()
    record = opened.value
    record.wait_for_load_state()
    expect(record.get_by_role("heading", level=1)).to_contain_text("Journalkopia")
    expect(record.locator("main")).to_contain_text(JOURNAL)
    expect(record.locator("main")).to_contain_text("Egenvårdsråd / Self-care advice")
    expect(record.locator("main")).to_contain_text(ERIK)
    assert axe_check(record, "record-print") == []
    screenshot(record, "record-print")
    record.close()

    with page.context.expect_page() as opened:
        fhir.click()
    bundle_page = opened.value
    bundle_page.wait_for_load_state()
    bundle = json.loads(bundle_page.locator("body").inner_text())
    assert bundle["resourceType"] == "Bundle" and bundle["identifier"]["value"] == case
    bundle_page.close()

    # the case she has open now, closed through the dialog: its record is there at once
    page.get_by_role("button", name="Avsluta", exact=True).click()
    dialog = page.get_by_role("dialog", name="Avsluta ärendet")
    dialog.get_by_label("Egenvårdsråd").check()
    dialog.get_by_label("Journalanteckning").fill(NOW_NOTE)
    dialog.get_by_role("button", name="Avsluta ärendet").click()
    expect(page.get_by_role("tab")).to_have_count(0)
    recent = page.get_by_role("region", name="Nyss avslutade")
    expect(recent.get_by_role("listitem")).to_have_count(1)
    expect(recent).to_contain_text("Erik Nilsson")
    assert axe_check(page, "console-recently-closed") == []
    page.evaluate("document.getElementById('toasts').hidden = true")  # the picture shows the section
    screenshot(page, "console-recently-closed")
    page.evaluate("document.getElementById('toasts').hidden = false")
    with page.context.expect_page() as opened:
        recent.get_by_role("link", name="Utskrift").click()
    record = opened.value
    record.wait_for_load_state()
    expect(record.locator("main")).to_contain_text(NOW_NOTE)
    record.close()
