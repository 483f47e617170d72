"""The citizen's chat widget (client-demo/chat/) as first users met it (issue 20):
a transfer as the citizen sees it, a chat log that follows new messages, the
composer on a phone, the waiting room's information, and the small things.

A citizen in the widget and staff in the console, each in their own browser
context, through one real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from support_browser import axe_check, citizen_login, claim_next, console, login, screenshot, summary, widget_waiting
from support_hub import ERIK

Opener = Callable[..., Page]
HANDOVER_NOTE = "Behöver läkarbedömning. ÖVERLÄMNING-77."


def citizen_log(page: Page) -> object:
    return page.get_by_role("log", name="Meddelanden")


def say(page: Page, text: str) -> None:
    box = page.get_by_label("Meddelande", exact=True)
    box.fill(text)
    box.press("Enter")


def chat_with_nurse(open_page: Opener) -> tuple[Page, Page]:
    """Erik in the widget and nurse-1 in the console, in an open chat."""
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    widget_waiting(citizen)
    nurse = console(open_page)
    claim_next(nurse)
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    return citizen, nurse


def transfer(nurse: Page, unit: str, profession: str, note: str) -> None:
    nurse.get_by_role("button", name="Flytta", exact=True).click()
    dialog = nurse.get_by_role("dialog", name="Flytta ärendet")
    dialog.get_by_label("Mottagning").select_option(label=unit)
    dialog.get_by_label("Yrkesroll").select_option(label=profession)
    dialog.get_by_label("Anteckning (syns inte för patienten)").fill(note)
    dialog.get_by_role("button", name="Flytta ärendet").click()
    expect(nurse.get_by_role("tab")).to_have_count(0)


def fact(page: Page, term: str) -> str:
    """The value beside ``term`` in the console's summary."""
    dl = summary(page).locator("dl.facts")
    return str(dl.locator("dt", has_text=term).locator("xpath=following-sibling::dd[1]").inner_text())


# -- point 3: a transfer, as the citizen sees it -----------------------------------------------


def test_a_transfer_tells_the_citizen_to_whom_keeps_the_chat_and_shows_the_new_profession(
    open_page: Opener,
) -> None:
    citizen, nurse = chat_with_nurse(open_page)
    say(nurse, "Hej från sjuksköterskan, SPÅR-1.")
    expect(citizen_log(citizen)).to_contain_text("SPÅR-1")
    # a call the citizen asked for, still ringing when the case moves: it ends with the transfer
    citizen.get_by_role("button", name="Be om videosamtal").click()
    expect(citizen.get_by_role("status").filter(has_text="Ringer")).to_be_visible()

    transfer(nurse, "Testby vårdcentral", "Läkare", HANDOVER_NOTE)

    # told, in words, that and to whom the case was handed over; the chat so far stays in view
    handed = citizen.get_by_role("heading", name="Ditt ärende har lämnats över")
    expect(handed).to_be_visible()
    expect(handed).to_be_focused()
    expect(citizen.locator("main")).to_contain_text("en läkare på Testby vårdcentral")
    expect(citizen_log(citizen)).to_contain_text("SPÅR-1")
    expect(citizen_log(citizen)).to_be_visible()
    expect(citizen.locator("main")).not_to_contain_text("sjuksköterskan öppnar chatten")
    expect(citizen.locator("main")).to_contain_text("läkaren öppnar chatten")
    expect(citizen.locator("main")).not_to_contain_text("ÖVERLÄMNING")
    axe_check(citizen, "widget-handed-over")
    screenshot(citizen, "widget-handed-over")

    # the same on a page opened afresh: the handover is in the transcript
    again = open_page("/chat/", name="citizen-again")
    citizen_login(again, ERIK)
    expect(again.get_by_role("heading", name="Ditt ärende har lämnats över")).to_be_visible()
    expect(again.locator("main")).to_contain_text("en läkare på Testby vårdcentral")
    expect(citizen_log(again)).to_contain_text("SPÅR-1")
    expect(again.locator("main")).to_contain_text("läkaren öppnar chatten")
    expect(again.locator("main")).not_to_contain_text("ÖVERLÄMNING")

    # the doctor takes it: her summary says the case is for a doctor now
    doctor = console(open_page, "doctor-1", name="doctor")
    claim_next(doctor)
    expect(summary(doctor)).to_contain_text("Erik Nilsson")
    assert fact(doctor, "Yrkesroll") == "Läkare"

    # the citizen's chat names the doctor, and nothing stale of the first chat is left
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    expect(citizen.get_by_role("heading", name=re.compile("Doris Lund"))).to_contain_text("läkare")
    expect(citizen.get_by_role("status").filter(has_text="Samtalet avslutades.")).to_have_count(0)
    expect(citizen.locator(".call-status").first).to_have_text("")
    expect(citizen.locator("main")).not_to_contain_text("Sjuksköterskan väntar")
    expect(citizen_log(citizen)).to_contain_text("SPÅR-1")
    say(doctor, "Hej, jag är läkare.")
    expect(citizen_log(citizen)).to_contain_text("jag är läkare")
    axe_check(citizen, "widget-after-transfer")
