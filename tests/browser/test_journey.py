"""The whole journey in two real UIs: a citizen in the chat widget and staff in
the console, each in their own browser context, through one real server.

Login, triage, the waiting room, a claim from the console's list, "your chat
is ready", a chat both ways with a phrase template, a citizen whose network
drops in the middle (nothing lost, nothing twice, in order, including what the
citizen wrote while offline), a transfer to a doctor, a close with an outcome
and a journal note, and the transcript the citizen downloads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from support_browser import axe_check, claim_next, console, login, messages, queue_rows, screenshot, sore_throat

JOURNAL = "Halsont 10 dagar, Centor 2, opåverkad. JOURNAL-7731."
HANDOVER = "Vill ha läkarbedömning. ÖVERLÄMNING-5120."


def composer(page: Any) -> Any:
    return page.get_by_label("Meddelande", exact=True)


def say(page: Any, text: str) -> None:
    box = composer(page)
    box.fill(text)
    box.press("Enter")


def staff_log(page: Any) -> Any:
    return page.get_by_role("tabpanel").get_by_role("log")


def test_citizen_and_nurse_pages_through_the_whole_journey(open_page: Any) -> None:
    # the citizen: e-ID, triage, the waiting room
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    sore_throat(citizen)
    citizen.get_by_role("button", name="Skicka till väntrummet").click()
    expect(citizen.get_by_text("Plats 1 av 1")).to_be_visible()
    expect(citizen.get_by_text("Om du blir sämre och det är fara för liv: ring 112")).to_be_visible()
    screenshot(citizen, "widget-waiting")

    # the nurse sees the case in the live queue and takes it from the list
    nurse = console(open_page)
    rows = queue_rows(nurse)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ont i halsen")
    nurse.get_by_role("button", name=re.compile(r"^Ta ärende: Ont i halsen")).click()
    expect(nurse.get_by_role("tabpanel").get_by_role("region", name="Bedömning")).to_contain_text("Erik Nilsson")

    # the citizen is told, and the chat opens
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    chat = citizen.get_by_role("log", name="Meddelanden")
    expect(chat).to_contain_text("Nora Nilsson på Testby vårdcentral har öppnat chatten.")

    # the nurse greets with a phrase template, filled with the patient's first name
    nurse.get_by_role("button", name="Fraser").click()
    nurse.get_by_role("dialog", name="Fraser").get_by_role("button", name="Hälsning").click()
    greeting = "Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral."
    expect(composer(nurse)).to_have_value(greeting)
    composer(nurse).press("Enter")
    expect(chat).to_contain_text(greeting)

    say(citizen, "Det gör ont att svälja sedan tio dagar.")
    expect(staff_log(nurse)).to_contain_text("Det gör ont att svälja sedan tio dagar.")
    say(nurse, "Har du haft feber?")
    expect(chat).to_contain_text("Har du haft feber?")

    # the citizen's network drops: the nurse goes on writing, the citizen writes offline
    citizen.context.set_offline(True)
    citizen.evaluate("direkt.hub.drop()")
    expect(citizen.get_by_role("status").filter(has_text="Anslutningen bröts. Återansluter…")).to_be_visible()
    while_away = ["Hur hög i så fall?", "Har du svårt att andas?", "Svara när du kan."]
    for text in while_away:
        say(nurse, text)
    expect(staff_log(nurse)).to_contain_text("Svara när du kan.")
    say(citizen, "Ingen feber, och jag andas fint.")
    offline_own = chat.locator(".msg.own").filter(has_text="Ingen feber, och jag andas fint.")
    expect(offline_own.locator(".status")).to_have_text("Skickas…")
    citizen.context.set_offline(False)
    expect(citizen.get_by_text("Anslutningen bröts. Återansluter…")).to_have_count(0, timeout=15_000)
    expect(offline_own.locator(".status")).to_have_text(re.compile("Skickat|Läst"))
    expect(chat).to_contain_text("Svara när du kan.")
    shown = messages(citizen)
    assert [shown.count(t) for t in while_away] == [1, 1, 1], shown
    assert [shown.index(t) for t in while_away] == sorted(shown.index(t) for t in while_away), shown
    expect(staff_log(nurse).get_by_text("Ingen feber, och jag andas fint.")).to_have_count(1)
    screenshot(nurse, "journey-console")

    # the nurse hands over to a doctor at the same centre, with a note the citizen never sees
    nurse.get_by_role("button", name="Flytta", exact=True).click()
    transfer = nurse.get_by_role("dialog", name="Flytta ärendet")
    transfer.get_by_label("Mottagning").select_option("vc-t")
    transfer.get_by_label("Yrkesroll").select_option("doctor")
    transfer.get_by_label("Anteckning (syns inte för patienten)").fill(HANDOVER)
    transfer.get_by_role("button", name="Flytta ärendet").click()
    expect(nurse.get_by_role("tab")).to_have_count(0)

    doctor = console(open_page, "doctor-1", name="doctor")
    expect(queue_rows(doctor)).to_have_count(1)
    claim_next(doctor)
    expect(staff_log(doctor)).to_contain_text("ÖVERLÄMNING-5120")  # the doctor reads the handover
    expect(staff_log(doctor)).to_contain_text("Ingen feber, och jag andas fint.")  # and the whole chat
    say(doctor, "Hej, jag är läkare. Drick varmt, vila, och hör av dig om det blir värre.")
    expect(chat).to_contain_text("jag är läkare")
    expect(chat).not_to_contain_text("ÖVERLÄMNING")

    # the doctor closes with an outcome and a journal note
    doctor.get_by_role("button", name="Avsluta", exact=True).click()
    closing = doctor.get_by_role("dialog", name="Avsluta ärendet")
    closing.get_by_label("Egenvårdsråd").check()
    closing.get_by_label("Journalanteckning").fill(JOURNAL)
    closing.get_by_role("button", name="Avsluta ärendet").click()
    expect(doctor.get_by_role("tab")).to_have_count(0)
    expect(citizen.get_by_role("heading", name="Chatten är avslutad")).to_be_visible()
    axe_check(citizen, "journey-closed")

    # the transcript the citizen downloads: both sides, each message once, no staff notes
    with citizen.expect_download() as download:
        citizen.get_by_role("button", name="Ladda ned samtalet").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    for line in [greeting, "Det gör ont att svälja", *while_away, "Ingen feber, och jag andas fint.", "jag är läkare"]:
        assert text.count(line) == 1, (line, text)
    assert "JOURNAL-7731" not in text and "ÖVERLÄMNING-5120" not in text
