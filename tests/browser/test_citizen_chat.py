"""The citizen's chat widget (client-demo/chat/) as first users met it (issue 20):
a transfer as the citizen sees it, a chat log that follows new messages, the
composer on a phone, the waiting room's information, and the small things.

A citizen in the widget and staff in the console, each in their own browser
context, through one real server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import (
    PHONE,
    Background,
    axe_check,
    citizen_login,
    claim_next,
    console,
    login,
    screenshot,
    summary,
    widget_waiting,
)
from support_hub import ELSA, ERIK, GUARDIAN, citizen

Opener = Callable[..., Page]
HANDOVER_NOTE = "Behöver läkarbedömning. ÖVERLÄMNING-77."
CHILD_FEVER = {"fever": True, "temperature": 38.5, "fever_days": 1}  # self-care advice for an 8-year-old


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


def transfer(nurse: Page, unit: str, skill: str, note: str) -> None:
    """Chosen by value: the options' labels also say whether a unit is open and its queue's length."""
    nurse.get_by_role("button", name="Flytta", exact=True).click()
    dialog = nurse.get_by_role("dialog", name="Flytta ärendet")
    dialog.get_by_label("Mottagning").select_option(unit)
    dialog.get_by_label("Yrkesroll").select_option(skill)
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
    expect(citizen.get_by_role("status").filter(has_text="Väntar på svar från Nora Nilsson…")).to_be_visible()

    transfer(nurse, "vc-t", "doctor", HANDOVER_NOTE)

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


# -- point 2: the chat log follows new messages, lands on the first unread, offers a way down ----

AT_BOTTOM_JS = (
    "() => { const l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight < 4; }"
)
PHOTOS_LOADED_JS = (
    "n => { const imgs = [...document.querySelectorAll('#log img.photo')];"
    " return imgs.length >= n && imgs.every(i => i.complete && i.naturalWidth > 0); }"
)


def at_bottom(page: Page) -> bool:
    return bool(page.evaluate(AT_BOTTOM_JS))


def fill_the_log(nurse: Page, citizen: Page, tag: str, n: int = 12) -> None:
    for i in range(1, n + 1):
        say(nurse, f"{tag} {i}: en rad som tar plats i chatten.")
    expect(citizen_log(citizen)).to_contain_text(f"{tag} {n}:")


def big_photo(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "hals.png"
    Image.new("RGB", (1200, 1600), (200, 80, 60)).save(path)
    return path


def send_photo(citizen: Page, path: Path) -> None:
    citizen.locator("#photo-input").set_input_files(str(path))
    citizen.get_by_role("button", name="Skicka bild").click()


def test_the_log_keeps_following_past_photos_that_load_late_and_opens_at_the_end(
    open_page: Opener, tmp_path: Path
) -> None:
    citizen, nurse = chat_with_nurse(open_page)
    fill_the_log(nurse, citizen, "RAD")
    citizen.wait_for_function(AT_BOTTOM_JS)
    send_photo(citizen, big_photo(tmp_path))
    citizen.wait_for_function(PHOTOS_LOADED_JS, arg=1)
    citizen.wait_for_function(AT_BOTTOM_JS, timeout=5_000)  # the photo's height came after it was shown
    say(nurse, "Tack för bilden.")
    expect(citizen_log(citizen)).to_contain_text("Tack för bilden.")
    citizen.wait_for_function(AT_BOTTOM_JS, timeout=5_000)

    # opened again, with the photo in the history: the end, after the photo has loaded
    citizen.reload()
    expect(citizen_log(citizen)).to_contain_text("Tack för bilden.")
    citizen.wait_for_function(PHOTOS_LOADED_JS, arg=1)
    citizen.wait_for_function(AT_BOTTOM_JS, timeout=5_000)


def read_all(citizen: Page, nurse: Page, tag: str) -> None:
    """The citizen has read the nurse's last message (the nurse sees "Läst" on it): the server keeps that."""
    citizen.wait_for_function(AT_BOTTOM_JS)
    last = nurse.get_by_role("tabpanel").get_by_role("log").locator(".msg").filter(has_text=f"{tag} 12:")
    expect(last.locator(".status")).to_have_text("✓ Läst")


def lands_on_the_first_unread(citizen: Page) -> None:
    log = citizen_log(citizen)
    expect(log).to_contain_text("NY 12:")
    marker = log.get_by_text("Nya meddelanden", exact=True)
    expect(marker).to_be_visible()
    first_new = log.locator(".msg").filter(has_text="NY 1:")
    expect(first_new).to_be_in_viewport()
    citizen.wait_for_function(
        "() => { const l = document.getElementById('log'), m = [...l.querySelectorAll('.msg')]"
        ".find(e => e.textContent.includes('NY 1:')); const lr = l.getBoundingClientRect(),"
        " mr = m.getBoundingClientRect(); return mr.top >= lr.top - 1 && mr.top < lr.top + lr.height / 2; }",
        timeout=5_000,
    )
    assert not at_bottom(citizen)


def test_the_log_opens_on_the_first_unread_entry(open_page: Opener) -> None:
    citizen, nurse = chat_with_nurse(open_page)
    fill_the_log(nurse, citizen, "LÄST")
    read_all(citizen, nurse, "LÄST")

    citizen.goto("about:blank")  # away, while the nurse writes on
    for i in range(1, 13):
        say(nurse, f"NY {i}: skrivet medan du var borta.")
    citizen.goto("/chat/")
    lands_on_the_first_unread(citizen)
    axe_check(citizen, "widget-first-unread")


def test_on_another_device_the_log_opens_on_the_first_unread_entry(open_page: Opener) -> None:
    """The read position is the server's (the join's synced), not the browser's."""
    citizen, nurse = chat_with_nurse(open_page)
    fill_the_log(nurse, citizen, "LÄST")
    read_all(citizen, nurse, "LÄST")

    citizen.goto("about:blank")
    for i in range(1, 13):
        say(nurse, f"NY {i}: skrivet medan du var borta.")
    phone = open_page("/chat/", name="citizen-phone")  # a browser of its own: nothing kept in it
    citizen_login(phone, ERIK)
    lands_on_the_first_unread(phone)


def test_new_messages_while_scrolled_up_offer_a_way_down_and_do_not_move_the_log(open_page: Opener) -> None:
    citizen, nurse = chat_with_nurse(open_page)
    fill_the_log(nurse, citizen, "FÖRE")
    citizen.wait_for_function(AT_BOTTOM_JS)
    log = citizen_log(citizen)
    log.hover()
    citizen.mouse.wheel(0, -5000)
    citizen.wait_for_function("() => document.getElementById('log').scrollTop < 5")

    say(nurse, "EFTER: ett nytt meddelande.")
    down = citizen.get_by_role("button", name=re.compile("Nya meddelanden"))
    expect(down).to_be_visible()
    assert citizen.evaluate("() => document.getElementById('log').scrollTop") < 5  # not pulled away from reading
    axe_check(citizen, "widget-new-messages")
    screenshot(citizen, "widget-new-messages")
    down.click()
    citizen.wait_for_function(AT_BOTTOM_JS, timeout=5_000)
    expect(down).to_be_hidden()
    expect(log.get_by_text("EFTER: ett nytt meddelande.")).to_be_in_viewport()


# -- point 6: the phone ---------------------------------------------------------------------------

COMPOSER_IN_VIEW_JS = """() => {
  const box = document.getElementById('message').getBoundingClientRect();
  const send = document.querySelector('.composer button.send').getBoundingClientRect();
  return {scrollY: window.scrollY, top: box.top, bottom: Math.max(box.bottom, send.bottom), height: innerHeight};
}"""


def test_on_a_phone_the_composer_is_in_view_when_the_chat_opens_and_enter_is_not_offered(open_page: Opener) -> None:
    citizen = open_page("/chat/", name="citizen", viewport=PHONE, has_touch=True, is_mobile=True)
    login(citizen)
    widget_waiting(citizen)
    nurse = console(open_page)
    claim_next(nurse)
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    say(nurse, "Hej! Hur mår du?")
    expect(citizen_log(citizen)).to_contain_text("Hur mår du?")
    screenshot(citizen, "widget-phone-chat")
    place = citizen.evaluate(COMPOSER_IN_VIEW_JS)
    assert place["scrollY"] == 0 and place["top"] >= 0 and place["bottom"] <= place["height"], place
    expect(citizen_log(citizen)).to_be_in_viewport()  # and some of the chat above it
    assert citizen.evaluate("() => document.getElementById('log').clientHeight") >= 120
    expect(citizen.get_by_text("Enter skickar", exact=False)).to_have_count(0)
    axe_check(citizen, "widget-phone-chat")
    # the call buttons are still there, in less room
    expect(citizen.get_by_role("button", name="Be om videosamtal")).to_be_attached()


# -- point 12: the smaller things -----------------------------------------------------------------

FOCUSED_RING_JS = """() => { const a = document.activeElement, s = getComputedStyle(a);
  return {tag: a.tagName, text: a.textContent.trim().slice(0, 40), outline: s.outlineStyle, shadow: s.boxShadow}; }"""


def test_a_heading_focused_after_a_step_shows_a_ring_only_to_keyboard_users(open_page: Opener) -> None:
    page = open_page("/chat/", name="citizen")
    login(page)  # a click on the e-ID page, then a fresh page load: no click on this page yet
    focused = page.evaluate(FOCUSED_RING_JS)
    assert (focused["tag"], focused["text"]) == ("H2", "Vad gäller det?"), focused
    assert (focused["outline"], focused["shadow"]) == ("none", "none"), focused
    page.get_by_role("button", name="Söka vård").click()  # a mouse user's step
    expect(page.get_by_text("Fråga 1", exact=True)).to_be_visible()
    focused = page.evaluate(FOCUSED_RING_JS)
    assert focused["tag"] == "H2" and (focused["outline"], focused["shadow"]) == ("none", "none"), focused

    # a keyboard user's step: the heading shows where focus went
    page.get_by_label("Inget av detta", exact=True).check()
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Nästa":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_text("Fråga 2", exact=True)).to_be_visible()
    focused = page.evaluate(FOCUSED_RING_JS)
    assert focused["tag"] == "H2" and focused["outline"] == "solid", focused


def test_asking_for_a_call_says_whose_answer_the_citizen_waits_for(open_page: Opener) -> None:
    citizen, _ = chat_with_nurse(open_page)
    citizen.get_by_role("button", name="Be om videosamtal").click()
    expect(citizen.get_by_role("heading", name="Du har bett om ett videosamtal")).to_be_visible()
    expect(citizen.locator(".call-status").first).to_have_text("Väntar på svar från Nora Nilsson…")


# -- point 8: no internal case id where a person reads ------------------------------------------


def test_the_transcript_says_when_where_and_what_and_gives_the_case_id_only_as_a_reference(
    open_page: Opener,
) -> None:
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    case = widget_waiting(citizen)
    nurse = console(open_page)
    claim_next(nurse)
    say(nurse, "Hej, ett första svar.")
    expect(citizen_log(citizen)).to_contain_text("Hej, ett första svar.")
    expect(citizen.locator("body")).not_to_contain_text(case)
    expect(nurse.locator("body")).not_to_contain_text(case)

    with citizen.expect_download() as download:
        citizen.get_by_role("button", name="Ladda ned samtalet").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    header = lines[: lines.index("")]
    assert header[0] == "Vården direkt – samtal", header
    assert re.fullmatch(r"Kontakten började: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", header[1]), header
    assert "Mottagning: Testby vårdcentral" in header and "Kontaktorsak: Ont i halsen" in header, header
    # the id once, at the end, named as what it is for
    assert [line for line in lines if case in line] == [f"Referens om du kontaktar supporten: {case}"], lines
    assert lines[-1] == f"Referens om du kontaktar supporten: {case}", lines


def test_a_guardians_result_names_the_child(open_page: Opener, server: ServerProcess) -> None:
    bg = Background()

    async def triage_for_elsa() -> str:
        maja = await citizen(server.base, GUARDIAN)
        try:
            view = await maja.triage_as("seek_care", "child_fever", CHILD_FEVER, child=ELSA)
        finally:
            await maja.aclose()
        assert view["result"], view
        return str(view["id"])

    try:
        tid = bg.run(triage_for_elsa(), 30)
    finally:
        bg.stop()
    page = open_page("/chat/", name="guardian")
    login(page, GUARDIAN)
    page.evaluate("tid => sessionStorage.setItem('direkt.triage', tid)", tid)
    page.reload()
    expect(page.get_by_role("heading", name="Råd om egenvård för Elsa")).to_be_visible()
    expect(page.locator("section.result")).to_contain_text("Bedömningen gäller Elsa, 8 år, utifrån dina svar.")
    axe_check(page, "widget-result-guardian")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Self-care advice for Elsa")).to_be_visible()


def test_english_matches_of_equal_weight_follow_the_english_alphabet(open_page: Opener) -> None:
    page = open_page("/chat/", name="citizen")
    login(page)
    page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="Seek care").click()
    page.get_by_label("None of these", exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Question 2", exact=True)).to_be_visible()
    page.locator("#reason-search").fill("skin")
    labels = page.locator("#reason-list label")
    expect(labels.first).to_have_text("Rash or skin problems")  # the best match first
    shown = labels.all_inner_texts()
    # "A mole or skin change" and "Boil, abscess or infected skin" match "skin" equally well:
    # in English order (they came in the Swedish order of "Böld…" and "Födelsemärke…")
    assert shown.index("A mole or skin change") < shown.index("Boil, abscess or infected skin"), shown


CLS_JS = """() => new Promise(resolve => { let sum = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) sum += e.value; })
    .observe({type: 'layout-shift', buffered: true});
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(sum))); })"""


def test_the_page_does_not_shift_as_it_loads_on_a_slow_phone(open_page: Opener) -> None:
    page = open_page("about:blank", name="phone", viewport=PHONE, has_touch=True, is_mobile=True)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")  # a slow mobile network: the API answers after the first paint
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 300, "downloadThroughput": 200_000, "uploadThroughput": 100_000},
    )
    page.goto("/chat/")
    expect(page.get_by_role("button", name="Logga in med e-legitimation")).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle", timeout=30_000)
    assert page.evaluate(CLS_JS) < 0.01
    citizen_login(page, ERIK)
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle", timeout=30_000)
    assert page.evaluate(CLS_JS) < 0.01
