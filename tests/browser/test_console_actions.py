"""What a nurse does in a chat in the console, against a real server: phrase templates (the
picker and ``/`` in the composer), photos (opened full size with zoom, and one sent cleaned of
its metadata), transfer to a doctor, and close with an outcome and a journal note that stays
with staff.

Citizens are scripted from Python on an event loop in a background thread (the
``people`` fixture, tests/browser/conftest.py). The queue and claiming are in
test_console.py; the chat panel in test_console_chat.py.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from support_browser import (
    Citizen,
    axe_check,
    claim_next,
    console,
    erik_in_a_chat,
    queue_rows,
    screenshot,
    summary,
)
from support_hub import ERIK


def test_template_picker_fills_the_first_name_and_sends_a_template_message(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, _, page = erik_in_a_chat(open_page, people)
    reads: list[str] = []  # filling a phrase reads the case, an audited access
    page.on("request", lambda r: reads.append(r.url) if "/api/staff/templates" in r.url else None)

    page.get_by_role("button", name="Fraser").click()
    dialog = page.get_by_role("dialog", name="Fraser")
    expect(dialog.get_by_label("Sök fras")).to_be_focused()
    expect(dialog.get_by_role("button", name="Hälsning")).to_be_visible()
    axe_check(page, "console-templates")
    screenshot(page, "console-templates")
    dialog.get_by_label("Sök fras").press_sequentially("häls", delay=300)  # slower than the search's debounce
    expect(dialog.get_by_role("button")).to_have_count(3)  # Redigera frasbanken, Avbryt and the greeting
    dialog.get_by_label("Sök fras").press("Enter")
    expect(dialog.get_by_role("button")).to_have_count(3)
    assert len(reads) == 1, reads  # one read per opening of the dialog, not one per key
    dialog.get_by_role("button", name="Hälsning").click()
    expect(dialog).to_be_hidden()
    composer = page.get_by_role("tabpanel").get_by_role("textbox", name="Meddelande")
    expect(composer).to_be_focused()
    expect(composer).to_have_value("Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral.")
    composer.press("End")
    composer.press_sequentially(" Hur mår du?")
    composer.press("Enter")
    got = erik.next_msg(k="template")
    assert got["tpl"] == "greeting"
    assert got["text"] == "Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral. Hur mår du?"
    expect(page.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Hur mår du?")
    expect(composer).to_have_value("")

    # Escape closes the dialog and focus returns to the button
    page.get_by_role("button", name="Fraser").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Fraser")).to_be_focused()


def test_transfer_to_a_doctor_closes_the_tab_and_reaches_the_doctors_queue(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik = people(ERIK)
    case = erik.submit()
    nurse = console(open_page)
    doctor = console(open_page, "doctor-1", name="doctor")
    expect(doctor.get_by_role("region", name="Kö")).to_contain_text("0 väntande")
    claim_next(nurse)
    expect(summary(nurse)).to_contain_text("Erik Nilsson")

    nurse.get_by_role("button", name="Flytta", exact=True).click()
    dialog = nurse.get_by_role("dialog", name="Flytta ärendet")
    expect(dialog.get_by_label("Mottagning")).to_be_focused()
    axe_check(nurse, "console-transfer-dialog")
    screenshot(nurse, "console-transfer-dialog")
    # only the clinics that see a 35-year-old (not child health care), by name, open or not
    units = dialog.get_by_label("Mottagning")
    expect(units.get_by_role("option")).to_have_text(
        ["1177 Test (öppen)", "Annanby vårdcentral (öppen)", "Testby vårdcentral (öppen)"]
    )
    expect(dialog).to_contain_text("Mottagningar som tar emot en patient på 35 år, i bokstavsordning.")
    expect(units).to_have_accessible_description("Öppen nu. Väntar i kö: administratör 0, läkare 0, sjuksköterska 0.")
    # the professions offered follow the unit (GET /api/staff/units), each with its queue's length
    units.select_option("vc-other")
    expect(dialog.get_by_label("Yrkesroll").get_by_role("option")).to_have_text(["Sjuksköterska (0 väntande)"])
    units.select_option("vc-t")
    expect(dialog.get_by_label("Yrkesroll").get_by_role("option")).to_have_count(3)
    dialog.get_by_label("Yrkesroll").select_option("doctor")
    dialog.get_by_label("Anteckning (syns inte för patienten)").fill("Behöver bedömning av läkare, ÖVERLÄMNING-42.")
    dialog.get_by_role("button", name="Flytta ärendet").click()
    expect(nurse.get_by_role("tab")).to_have_count(0)
    expect(nurse.locator("#toasts")).to_contain_text("flyttades till Testby vårdcentral (Läkare)")
    expect(nurse.get_by_role("button", name="Ta nästa")).to_be_focused()

    rows = queue_rows(doctor)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ont i halsen")
    claim_next(doctor)
    log = doctor.get_by_role("tabpanel").get_by_role("log")
    expect(log).to_contain_text("Intern anteckning (syns inte för patienten)")
    expect(log).to_contain_text("ÖVERLÄMNING-42")
    transcript = erik.transcript(case)
    assert "ÖVERLÄMNING-42" not in str(transcript)


def test_close_with_an_outcome_keeps_the_journal_note_from_the_citizen(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, case, page = erik_in_a_chat(open_page, people)
    erik.photo(case, "Så här ser halsen ut")
    erik.say(case, "Tack för hjälpen!")
    log = page.get_by_role("tabpanel").get_by_role("log")
    expect(log).to_contain_text("Tack för hjälpen!")
    photo = log.get_by_role("img", name="Bild från Erik Nilsson")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") == 64

    page.get_by_role("button", name="Avsluta", exact=True).click()
    dialog = page.get_by_role("dialog", name="Avsluta ärendet")
    expect(dialog.get_by_role("group", name="Utfall").get_by_role("radio")).to_have_count(6)
    axe_check(page, "console-close-dialog")
    screenshot(page, "console-close-dialog")
    dialog.get_by_role("button", name="Avsluta ärendet").click()
    expect(dialog.get_by_role("alert")).to_have_text("Välj ett utfall.")
    dialog.get_by_label("Egenvårdsråd").check()
    dialog.get_by_label("Journalanteckning").fill("Halsont 10 dagar, Centor 2. JOURNAL-HEMLIG-7.")
    dialog.get_by_role("button", name="Avsluta ärendet").click()
    expect(page.get_by_role("tab")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("är avslutat")

    transcript = erik.transcript(case)
    texts = [m.get("text", "") for m in transcript["messages"]]
    assert "Tack för hjälpen!" in texts
    assert not any("JOURNAL-HEMLIG-7" in t for t in texts)


VIEWER_IMG_JS = """() => {
  const img = document.querySelector('dialog[open] .viewer-img');
  return img && img.complete && img.naturalWidth === 1600;
}"""


def phone_jpeg(size: tuple[int, int]) -> bytes:
    """A JPEG as a phone writes it: camera make and model, and where it was taken (GPS)."""
    from PIL import Image

    picture = Image.new("RGB", size, (40, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Fonmaker"  # Make
    exif[0x0110] = "Fon 12"  # Model
    exif[0x8825] = {1: "N", 2: (59.0, 19.0, 42.0), 3: "E", 4: (18.0, 4.0, 7.0)}  # GPSInfo
    data = io.BytesIO()
    picture.save(data, "JPEG", exif=exif)
    return data.getvalue()


def test_a_photo_opens_full_size_with_zoom_and_staff_send_one_cleaned(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    from PIL import Image

    erik, case, page = erik_in_a_chat(open_page, people)
    erik.photo(case, "Så här ser halsen ut", size=(1600, 1200))
    panel = page.get_by_role("tabpanel")
    log = panel.get_by_role("log")
    thumbnail = log.get_by_role("button", name="Bild från Erik Nilsson, öppna i full storlek")
    thumbnail.click()
    viewer = page.get_by_role("dialog", name="Bild från Erik Nilsson")
    page.wait_for_function(VIEWER_IMG_JS)
    picture = viewer.get_by_role("img", name="Bild från Erik Nilsson")
    width = "img => img.getBoundingClientRect().width"
    fitted = picture.evaluate(width)
    assert 320 < fitted < 1600, fitted  # larger than the thumbnail, the whole photo in the window
    zoom = viewer.get_by_role("status")
    expect(zoom).to_have_text(f"{round(fitted / 16)} %")
    viewer.get_by_role("button", name="Verklig storlek").click()
    expect(zoom).to_have_text("100 %")
    assert picture.evaluate(width) == 1600
    stage = viewer.get_by_role("group", name="Bilden – rulla för att se allt")
    assert stage.evaluate("s => s.scrollWidth > s.clientWidth && s.scrollHeight > s.clientHeight")
    viewer.get_by_role("button", name="Förstora").click()
    expect(zoom).to_have_text("150 %")
    stage.focus()
    page.keyboard.press("0")  # back to fitting the window
    expect(zoom).to_have_text(f"{round(fitted / 16)} %")
    axe_check(page, "console-photo-viewer")
    screenshot(page, "console-photo-viewer")
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(thumbnail).to_be_focused()

    # the nurse sends a photo from her phone's camera roll, with a caption; it arrives without its metadata
    attach = panel.get_by_label("Bifoga bild")
    attach.set_input_files(files=[{"name": "kontroll.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4"}])
    expect(panel.get_by_role("alert")).to_have_text("Bilden måste vara JPEG, PNG eller WebP och högst 8 MB.")
    # a file that calls itself a JPEG but is not one: the server refuses it, said in Swedish
    attach.set_input_files(files=[{"name": "trasig.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8 not a jpeg"}])
    panel.get_by_role("button", name="Skicka bilden").click()
    expect(panel.get_by_role("alert")).to_have_text(
        "Bilden gick inte att läsa. Den kan vara skadad; välj en annan bild (JPEG, PNG eller WebP)."
    )
    attach.set_input_files(files=[{"name": "sar.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg((800, 600))}])
    expect(panel.get_by_role("img", name="Bilden du valt")).to_be_visible()
    expect(panel.get_by_role("alert")).to_have_count(0)
    panel.get_by_role("textbox", name="Meddelande").fill("Så här ska det se ut när det läker.")
    axe_check(page, "console-photo-attach")
    panel.get_by_role("button", name="Skicka bilden").click()
    got = erik.next_msg(k="photo", role="nurse")
    assert got["text"] == "Så här ska det se ut när det läker."
    sent = Image.open(io.BytesIO(erik.photo_bytes(case, got["photo"])))
    assert sent.size == (800, 600) and not dict(sent.getexif())  # no camera, no GPS position
    expect(log.get_by_role("button", name="Bild du skickade, öppna i full storlek")).to_be_visible()
    expect(panel.get_by_role("img", name="Bilden du valt")).to_have_count(0)
    expect(panel.get_by_role("textbox", name="Meddelande")).to_have_value("")


def test_a_slash_in_the_composer_offers_phrases_inline(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, _, page = erik_in_a_chat(open_page, people)
    panel = page.get_by_role("tabpanel")
    composer = panel.get_by_role("textbox", name="Meddelande")
    phrases = panel.get_by_role("listbox", name="Fraser")
    reads: list[str] = []  # filling a phrase reads the case, an audited access
    page.on("request", lambda r: reads.append(r.url) if "/api/staff/templates" in r.url else None)
    composer.press_sequentially("/häl", delay=250)  # slower than the list's debounce
    expect(phrases.get_by_role("option")).to_have_count(1)
    assert len(reads) == 1, reads  # one read each time the list opens, not one per key
    greeting = phrases.get_by_role("option", name=re.compile("^Hälsning"))
    expect(greeting).to_have_attribute("aria-selected", "true")
    expect(composer).to_have_attribute("aria-activedescendant", str(greeting.get_attribute("id")))
    expect(panel.get_by_role("status").filter(has_text="1 fraser")).to_have_count(1)
    axe_check(page, "console-inline-phrases")
    screenshot(page, "console-inline-phrases")
    composer.press("Enter")  # inserts, does not send
    expect(phrases).to_be_hidden()
    expect(composer).to_have_value("Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral.")
    expect(panel.get_by_text("Fras vald: Hälsning")).to_be_visible()
    composer.press_sequentially(" Hur mår du?")
    composer.press("Enter")
    got = erik.next_msg(k="template")
    assert got["tpl"] == "greeting"
    assert got["text"] == "Hej Erik! Jag heter Nora Nilsson på Testby vårdcentral. Hur mår du?"

    composer.press_sequentially("och/eller")  # a slash inside a word is just a slash
    composer.press_sequentially(" /")  # a slash starting a word offers every phrase
    expect(phrases.get_by_role("option")).to_have_count(1)
    composer.press("Escape")  # closes, keeps the text
    expect(phrases).to_be_hidden()
    expect(composer).to_have_value("och/eller /")
