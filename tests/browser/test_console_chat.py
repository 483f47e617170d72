"""The nurse console's chat panel against a real server: parallel chats with unread counts,
reconnecting without losing or repeating entries, the message log that follows new entries,
lands on the first unread (also after a reload) and marks new messages, and words, not
internal values, in the chat and the summary.

Citizens are scripted from Python on an event loop in a background thread (the
``people`` fixture, tests/browser/conftest.py). The queue and claiming are in
test_console.py; phrases, photos, transfer and close in test_console_actions.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect
from support import timeout
from support_browser import (
    CANNOT_DRINK,
    CONSOLE,
    Citizen,
    axe_check,
    claim_next,
    console,
    erik_in_a_chat,
    queue_rows,
    screenshot,
    summary,
    tab,
    until,
)
from support_hub import ERIK, GUARDIAN

from direkt.loadtests.client import Socket


def test_parallel_chats_count_unread_in_the_background_tab(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    erik_case = erik.submit()
    maja_case = maja.submit(CANNOT_DRINK)
    page = console(open_page)
    expect(queue_rows(page)).to_have_count(2)

    claim_next(page)  # the earliest deadline: Maja, who cannot drink
    expect(tab(page, "Maja")).to_have_attribute("aria-selected", "true")
    expect(summary(page)).to_contain_text("Maja Andersson")
    expect(summary(page)).to_contain_text("19810510-2381")
    claim_next(page)
    expect(tab(page, "Erik")).to_have_attribute("aria-selected", "true")
    expect(summary(page)).to_contain_text("Ont i halsen")
    expect(summary(page)).to_contain_text("Besvärsduration: 10 dygn")  # a measured finding, in clinical words
    expect(summary(page)).to_contain_text("Besvärsduration ≥ 7 dygn")  # the rule that decided, in clinical words
    expect(page.get_by_role("tabpanel").get_by_role("textbox", name="Meddelande")).to_be_focused()
    expect(page.get_by_role("region", name="Kö")).to_contain_text("0 väntande")

    erik.join(erik_case)
    maja.join(maja_case)
    erik.say(erik_case, "Hej! Det gör ont att svälja.")
    log = page.get_by_role("tabpanel").get_by_role("log")
    expect(log).to_contain_text("Det gör ont att svälja.")
    page.get_by_role("tabpanel").get_by_role("textbox", name="Meddelande").fill("Hej Erik, har du feber?")
    page.get_by_role("button", name="Skicka").click()
    expect(log.locator(".msg.own")).to_contain_text("Hej Erik, har du feber?")
    question = erik.next_msg(text="Hej Erik, har du feber?")
    assert question["role"] == "nurse"
    erik.send({"t": "read", "case": erik_case, "id": question["id"]})
    expect(log.locator(".msg.own")).to_contain_text("Läst")
    erik.send({"t": "typing", "case": erik_case, "on": True})
    expect(page.get_by_role("tabpanel").get_by_text("Patienten skriver…")).to_be_visible()
    erik.say(erik_case, "Nej, ingen feber.")
    expect(log).to_contain_text("Nej, ingen feber.")
    expect(page.get_by_role("tabpanel").get_by_text("Patienten skriver…")).to_have_count(0)

    maja.say(maja_case, "Jag har fått feber nu också.")  # Maja's tab is in the background
    expect(tab(page, "Maja")).to_have_accessible_name(re.compile("1 oläst"))
    expect(page).to_have_title("(1) Vården direkt – konsol")
    expect(page.get_by_role("status").filter(has_text="Nytt meddelande från Maja")).to_be_visible()
    assert axe_check(page, "console-chat") == []  # the new summary too: 0 violations
    screenshot(page, "console-chat")

    # arrow keys move between tabs (automatic activation) and reading clears the count
    tab(page, "Erik").focus()
    page.keyboard.press("ArrowLeft")
    expect(tab(page, "Maja")).to_be_focused()
    expect(tab(page, "Maja")).to_have_attribute("aria-selected", "true")
    expect(tab(page, "Maja")).not_to_have_accessible_name(re.compile("oläst"))
    expect(page).to_have_title("Vården direkt – konsol")
    expect(page.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Jag har fått feber nu också.")

    # the whole console follows the language switch, chats included
    page.get_by_role("button", name="English").click()
    assessment = page.get_by_role("tabpanel").get_by_role("region", name="Assessment")
    expect(assessment).to_contain_text("Sore throat")
    expect(assessment.get_by_role("heading", name="Present")).to_be_visible()  # findings in clinical words
    expect(assessment).to_contain_text("Cannot drink, keeps no fluids down")
    expect(page.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Jag har fått feber nu också.")
    expect(page.get_by_role("button", name="Take next")).to_be_visible()
    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("tabpanel").get_by_role("region", name="Bedömning")).to_be_visible()


def test_reconnect_shows_the_state_and_delivers_the_gap_once(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, case, page = erik_in_a_chat(open_page, people)
    erik.say(case, "Första meddelandet")
    log = page.get_by_role("tabpanel").get_by_role("log")
    expect(log).to_contain_text("Första meddelandet")

    page.context.set_offline(True)
    page.evaluate("direkt.hub.drop()")
    expect(page.locator("#conn")).to_have_text("Återansluter…")
    erik.say(case, "Medan du var borta")
    page.get_by_role("tabpanel").get_by_role("textbox", name="Meddelande").fill("Skickat utan nät")
    page.keyboard.press("Enter")
    expect(log.locator(".msg.pending")).to_contain_text("Skickas…")
    page.context.set_offline(False)
    expect(page.locator("#conn")).to_have_text("Ansluten", timeout=15_000)
    expect(log.get_by_text("Medan du var borta")).to_have_count(1)
    expect(log.get_by_text("Skickat utan nät")).to_have_count(1)
    expect(log.locator(".msg.pending")).to_have_count(0)
    assert erik.next_msg(text="Skickat utan nät")
    expect(log.get_by_text("Första meddelandet")).to_have_count(1)


LOG_AT_END_JS = """() => {
  const log = document.querySelector('[role=tabpanel]:not([hidden]) [role=log]');
  return log.scrollHeight - log.scrollTop - log.clientHeight < 2;
}"""
PHOTOS_LOADED_JS = """() => [...document.querySelectorAll('[role=tabpanel]:not([hidden]) img.photo')]
  .every(img => img.complete && img.naturalWidth > 0)"""
# Scrolls the shown log to the top as the nurse would, resolving once the page has seen the scroll.
SCROLL_UP_JS = """log => new Promise(done => {
  log.addEventListener('scroll', () => done(log.scrollTop), { once: true });
  log.scrollTop = 0;
})"""


def test_the_log_follows_past_photos_lands_on_the_first_unread_and_marks_new_messages(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    erik_case = erik.submit()
    maja_case = maja.submit(CANNOT_DRINK)
    page = console(open_page)
    claim_next(page)  # Maja: the earlier deadline
    expect(tab(page, "Maja")).to_have_attribute("aria-selected", "true")
    claim_next(page)
    expect(tab(page, "Erik")).to_have_attribute("aria-selected", "true")
    erik.join(erik_case)
    maja.join(maja_case)
    panel = page.get_by_role("tabpanel")
    log = panel.get_by_role("log")
    for i in range(1, 9):
        erik.say(erik_case, f"Rad {i}")
    expect(log).to_contain_text("Rad 8")

    # A phone photo arrives; its bytes come after its message is on screen (held back here).
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/photos/*", hold)
    erik.photo(erik_case, "Så här ser halsen ut", size=(640, 480))
    expect(log.get_by_role("img")).to_have_count(1)
    page.wait_for_function(LOG_AT_END_JS)
    until(page, lambda: bool(held), "the photo requested")
    held[0].continue_()
    page.unroute("**/photos/*", hold)
    page.wait_for_function(PHOTOS_LOADED_JS)
    erik.say(erik_case, "Efter bilden")
    expect(log.get_by_text("Efter bilden")).to_be_in_viewport()
    page.wait_for_function(LOG_AT_END_JS)

    # The nurse scrolls up to read: a new message does not pull the log down; a button leads to it.
    assert log.evaluate(SCROLL_UP_JS) == 0
    erik.say(erik_case, "Medan du läste")
    jump = panel.get_by_role("button", name="↓ 1 nytt meddelande")
    expect(jump).to_be_visible()
    assert log.evaluate("log => log.scrollTop") == 0
    expect(log.get_by_text("Medan du läste")).not_to_be_in_viewport()
    jump.click()
    expect(log.get_by_text("Medan du läste")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # Maja writes much while her tab is in the background: opening it lands on her first unread entry.
    for i in range(1, 21):
        maja.say(maja_case, f"Maja {i}")
    expect(tab(page, "Maja")).to_have_accessible_name(re.compile("20 olästa"))
    tab(page, "Maja").click()
    log = page.get_by_role("tabpanel").get_by_role("log")
    expect(log.get_by_text("Nya meddelanden", exact=True)).to_be_in_viewport()
    expect(log.get_by_text("Maja 1", exact=True)).to_be_in_viewport()
    expect(log.get_by_text("Maja 20", exact=True)).not_to_be_in_viewport()
    axe_check(page, "console-chat-unread")
    screenshot(page, "console-chat-unread")
    maja.say(maja_case, "Maja 21")
    expect(page.get_by_role("tabpanel").get_by_role("button", name="↓ 1 nytt meddelande")).to_be_visible()


def test_after_a_reload_the_chat_opens_on_the_first_unread_entry_with_the_marker(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    """The first unread entry is known from the server's read position, not only within one page's life."""
    erik, case, page = erik_in_a_chat(open_page, people)
    log = page.get_by_role("tabpanel").get_by_role("log")
    assert erik.sock is not None
    for i in range(1, 15):
        erik.say(case, f"FÖRE {i}: läst i konsolen.")
    last = erik.bg.run(erik.sock.request({"t": "send", "case": case, "cid": "före-15", "text": "FÖRE 15."}, "ack"))
    expect(log).to_contain_text("FÖRE 15.")
    erik.bg.run(read_up_to(erik.sock, last["id"]))  # the console has told the server it read them

    page.goto("about:blank")  # a reload, with the patient writing on meanwhile
    for i in range(1, 16):
        erik.say(case, f"NY {i}: skrivet medan konsolen var stängd.")
    page.goto(CONSOLE)
    log = page.get_by_role("tabpanel").get_by_role("log")
    expect(log).to_contain_text("NY 15:")
    marker = log.get_by_text("Nya meddelanden", exact=True)
    expect(marker).to_be_in_viewport()
    expect(log.locator(".msg").filter(has_text="NY 1:")).to_be_in_viewport()
    expect(log.locator(".msg").filter(has_text="NY 15:")).not_to_be_in_viewport()
    assert log.evaluate("l => l.querySelector('.unread-divider').nextElementSibling.textContent").find("NY 1:") >= 0
    axe_check(page, "console-reload-unread")


async def read_up_to(sock: Socket, position: str) -> None:
    """Until the other side has read up to ``position`` (a ``read`` frame on ``sock``)."""

    def order(stream_id: str) -> tuple[int, int]:
        ms, seq = stream_id.split("-")
        return int(ms), int(seq)

    frames = list(sock.skipped)
    while not any(f.get("t") == "read" and order(f["id"]) >= order(position) for f in frames):
        frames = [await sock.recv(timeout(10))]


def test_the_chat_and_the_summary_show_words_not_internal_values(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    _, _, page = erik_in_a_chat(open_page, people)
    assessment = summary(page)
    assessment.get_by_text("Frågor och svar, som patienten såg dem").click()
    photo_answer = assessment.locator("dt", has_text="ta en bild av halsen").locator("xpath=following-sibling::dd[1]")
    expect(photo_answer).to_have_text("Ingen bild i bedömningen – kan skickas i chatten")  # not "skip", not "–"

    page.get_by_role("button", name="Fraser").click()
    page.get_by_role("dialog", name="Fraser").get_by_role("button", name="Hälsning").click()
    page.keyboard.press("Enter")
    log = page.get_by_role("tabpanel").get_by_role("log")
    phrase = log.locator(".msg.own .tpl")
    expect(phrase).to_have_text("· fras: Hälsning")  # the phrase's title, not its id
    expect(log).not_to_contain_text("greeting")
    page.reload()  # named from the phrase list too, not only from the phrase just chosen
    expect(phrase).to_have_text("· fras: Hälsning")
    page.get_by_role("button", name="English").click()
    expect(phrase).to_have_text("· phrase: Hälsning")
    in_english = page.get_by_role("tabpanel").get_by_role("region", name="Assessment")
    in_english.get_by_text("Questions and answers").click()
    photo_dt = in_english.locator("dt", has_text="take a photo of your throat")
    photo_dd = photo_dt.locator("xpath=following-sibling::dd[1]")
    expect(photo_dd).to_have_text("No photo in the assessment – can be sent in the chat")
    page.get_by_role("button", name="Svenska").click()
