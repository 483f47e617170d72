"""The console's "Tidigare kontakter" (issue 20) in Chromium against a real server: a returning
patient's earlier contact beside the chat, its transcript opened on request, and the empty state;
axe at 0 violations on the section and on the transcript view.

The earlier case is handled by a scripted nurse (``direkt.loadtests.client``) on an event loop in a
background thread before the console opens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import Background, axe_check, claim_next, console, screenshot, summary, tab
from support_hub import ERIK, GUARDIAN, SORE_THROAT, citizen, staff

from direkt.loadtests.client import Client

CANNOT_DRINK = ("sore_throat", {"cannot_drink": True, "symptom_days": 3})  # urgency 2: claimed before Erik's
SAID = "Drick varmt, vila rösten och hör av dig om det inte går över."
JOURNAL = "Halsont 10 dygn, Centor 1. Egenvårdsråd."


@pytest.fixture
def bg() -> Iterator[Background]:
    loop = Background()
    yield loop
    loop.stop()


async def submitted(who: Client, case: tuple[str, dict[str, Any]] | None = None) -> str:
    if case is None:
        view = await who.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    else:
        view = await who.triage_as("seek_care", case[0], case[1])
    return str((await who.submit(view["id"]))["case"])


async def an_earlier_contact(base: str) -> str:
    """Erik's sore throat, handled and closed by nurse-1 a while ago: a message and a journal note."""
    async with await citizen(base, ERIK) as erik, await staff(base, "nurse-1") as nurse:
        case = await submitted(erik)
        sock = await nurse.socket()
        try:
            assert (await sock.request({"t": "claim_next", "rid": f"c-{case}"}, "claimed"))["case"] == case
            assert (await sock.request({"t": "join", "case": case}, "case"))["t"] == "case"
            assert (await sock.request({"t": "send", "case": case, "cid": "e1", "text": SAID}, "ack"))["t"] == "ack"
        finally:
            await sock.close()
        await nurse.call("POST", f"/api/staff/cases/{case}/close", {"outcome": "self_care_advice", "note": JOURNAL})
        return case


async def returning(base: str) -> None:
    """Maja (no history) with an urgent case, then Erik again with a sore throat."""
    async with await citizen(base, GUARDIAN) as maja, await citizen(base, ERIK) as erik:
        await submitted(maja, CANNOT_DRINK)
        await submitted(erik)


def earlier(page: Page) -> Any:
    return page.get_by_role("tabpanel").get_by_role("region", name="Tidigare kontakter")


def test_the_nurse_sees_a_returning_patients_earlier_contact_and_opens_its_transcript(
    open_page: Callable[..., Page], server: ServerProcess, bg: Background
) -> None:
    bg.run(an_earlier_contact(server.base))
    bg.run(returning(server.base))
    page = console(open_page)

    claim_next(page)  # Maja: no earlier contacts here
    expect(summary(page)).to_contain_text("Maja Andersson")
    expect(earlier(page)).to_contain_text("Inga tidigare kontakter här.")
    axe_check(page, "console-earlier-none")

    claim_next(page)  # Erik, who was here before
    expect(tab(page, "Erik")).to_have_attribute("aria-selected", "true")
    section = earlier(page)
    contact = section.get_by_role("listitem")
    expect(contact).to_have_count(1)
    heading = contact.get_by_role("heading", level=4)
    expect(heading).to_contain_text("Ont i halsen")
    expect(heading).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"))  # date and time
    for words in ("Testby vårdcentral", "Inom några dagar", "Egenvårdsråd", "Nora Nilsson (Sjuksköterska)"):
        expect(contact).to_contain_text(words)
    expect(section).to_contain_text("Varje läsning loggas.")
    assert axe_check(page, "console-earlier") == []
    screenshot(page, "console-earlier")

    show = contact.get_by_role("button", name="Visa chatten")
    show.click()
    dialog = page.get_by_role("dialog", name=re.compile("^Tidigare kontakt .*Ont i halsen"))
    expect(dialog).to_be_visible()
    chat = dialog.get_by_role("region", name=re.compile("^Chatten "))
    expect(chat).to_contain_text(SAID)
    expect(chat).to_contain_text(JOURNAL)  # staff read the journal note too
    expect(chat).to_contain_text("Journalanteckning")
    expect(chat).to_contain_text("Chatten är avslutad.")
    expect(dialog).to_contain_text("Endast läsning")
    expect(dialog.get_by_role("textbox")).to_have_count(0)  # read only
    assert axe_check(page, "console-earlier-transcript") == []
    screenshot(page, "console-earlier-transcript")
    dialog.get_by_role("button", name="Stäng").click()
    expect(dialog).to_be_hidden()
    expect(show).to_be_focused()

    page.get_by_role("button", name="English").click()
    in_english = page.get_by_role("tabpanel").get_by_role("region", name="Earlier contacts")
    expect(in_english).to_contain_text("Self-care advice")
    page.get_by_role("button", name="Svenska").click()
