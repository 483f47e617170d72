"""The nurse console (client-demo/console/) against a real server: login, the
live queue, claiming, parallel chats, phrase templates, transfer, close,
reconnect, keyboard-only use, and axe-core on every screen and dialog.

Citizens are scripted from Python (``direkt.loadtests.client``) on an event
loop in a background thread, so their sockets stay open while the browser works.
"""

from __future__ import annotations

import io
import itertools
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess, timeout
from support_browser import (
    CONSOLE,
    Background,
    axe_check,
    claim_next,
    console,
    queue_rows,
    screenshot,
    staff_login,
    summary,
    tab,
)
from support_hub import ELSA, ERIK, GUARDIAN, SORE_THROAT, citizen

from direkt.loadtests.client import JSON, Client, Socket

# (reason, findings): the deterministic answerer answers the triage as such a patient would.
CANNOT_DRINK = ("sore_throat", {"cannot_drink": True, "symptom_days": 3})  # urgency 2: within an hour
FAINT_AFTER_FOOD = ("allergic_reaction", {"dizziness": True, "reaction_trigger": "food", "reaction_onset": "hours"})
CHILD_FEVER = ("child_fever", {"fever": True, "temperature": 38.5, "fever_days": 1})  # self-care, chat anyway: 5


class Citizen:
    """A logged-in citizen with an optional JSON socket."""

    cids = itertools.count(1)

    def __init__(self, bg: Background, base: str, pnr: str) -> None:
        self.bg = bg
        self.client: Client = bg.run(citizen(base, pnr))
        self.sock: Socket | None = None

    def submit(
        self, case: tuple[str, dict[str, Any]] | None = None, *, chat_anyway: bool = False, unit: str = "", **start: Any
    ) -> str:
        """Triage and submit; ``unit``: the clinic whose page the widget is on (default: the citizen's own)."""

        async def go() -> str:
            if case is None:  # sore throat for ten days: within days
                view = await self.client.triage("seek_care", [tuple(a) for a in SORE_THROAT], **start)  # type: ignore[misc]
            else:
                view = await self.client.triage_as("seek_care", case[0], case[1], **start)
            assert view["result"], view
            body = {"triage": view["id"], "chat_anyway": chat_anyway} | ({"unit": unit} if unit else {})
            return str((await self.client.call("POST", "/api/cases", body))["case"])

        return str(self.bg.run(go()))

    def join(self, case: str) -> None:
        async def go() -> None:
            if self.sock is None:
                self.sock = await self.client.socket(JSON)
            reply = await self.sock.request({"t": "join", "case": case}, "case")
            assert reply["t"] == "case", reply

        self.bg.run(go())

    def say(self, case: str, text: str) -> None:
        assert self.sock is not None
        frame = {"t": "send", "case": case, "cid": f"py-{next(self.cids)}", "text": text}
        reply = self.bg.run(self.sock.request(frame, "ack"))
        assert reply["t"] == "ack", reply

    def photo(self, case: str, text: str, size: tuple[int, int] = (64, 48)) -> None:
        """Upload a PNG (small by default) and send it in the chat."""
        from PIL import Image

        data = io.BytesIO()
        Image.new("RGB", size, (190, 70, 60)).save(data, "PNG")

        async def go() -> None:
            assert self.sock is not None
            headers = {"Content-Type": "image/png", "X-CSRF-Token": self.client.csrf}
            path = f"/api/cases/{case}/photos"
            response = await self.client.http.post(path, content=data.getvalue(), headers=headers)
            assert response.status_code == 201, response.text
            frame = {"t": "send", "case": case, "cid": f"py-{next(self.cids)}", "text": text}
            reply = await self.sock.request(frame | {"photo": response.json()["photo"]}, "ack")
            assert reply["t"] == "ack", reply

        self.bg.run(go())

    def photo_bytes(self, case: str, photo: str) -> bytes:
        """A photo of the case as the citizen's browser would fetch it."""

        async def go() -> bytes:
            response = await self.client.http.get(f"/api/cases/{case}/photos/{photo}")
            assert response.status_code == 200, response.text
            return response.content

        return bytes(self.bg.run(go()))

    def send(self, frame: dict[str, Any]) -> None:
        assert self.sock is not None
        self.bg.run(self.sock.send(frame))

    def next_msg(self, **match: Any) -> dict[str, Any]:
        assert self.sock is not None
        return dict(self.bg.run(self.sock.expect("msg", 10, **match)))

    def transcript(self, case: str) -> dict[str, Any]:
        return dict(self.bg.run(self.client.call("GET", f"/api/cases/{case}/transcript")))

    def close(self) -> None:
        async def go() -> None:
            if self.sock is not None:
                await self.sock.close()
            await self.client.aclose()

        self.bg.run(go())


@pytest.fixture
def people(server: ServerProcess) -> Iterator[Callable[[str], Citizen]]:
    bg = Background()
    made: list[Citizen] = []

    def make(pnr: str) -> Citizen:
        made.append(Citizen(bg, server.base, pnr))
        return made[-1]

    yield make
    for person in made:
        person.close()
    bg.stop()


def erik_in_a_chat(open_page: Callable[..., Page], people: Callable[[str], Citizen]) -> tuple[Citizen, str, Page]:
    """Erik's case claimed by nurse-1 in the console, with Erik's socket joined to the chat."""
    erik = people(ERIK)
    case = erik.submit()
    page = console(open_page)
    claim_next(page)
    expect(summary(page)).to_contain_text("Erik Nilsson")
    erik.join(case)
    return erik, case, page


# -- tests ---------------------------------------------------------------------------------


def test_login_refuses_a_wrong_password_then_logs_in(open_page: Callable[..., Page]) -> None:
    page = open_page(CONSOLE, name="login")
    expect(page.get_by_label("Användarnamn")).to_be_focused()
    axe_check(page, "console-login")
    screenshot(page, "console-login")
    staff_login(page, "nurse-1", "wrong")
    expect(page.get_by_role("alert")).to_have_text("Fel användarnamn eller lösenord.")
    staff_login(page, "nurse-1")
    expect(page.locator("#conn")).to_have_text("Ansluten")
    header = page.get_by_role("banner")
    expect(header).to_contain_text("Nora Nilsson")
    expect(header).to_contain_text("Sjuksköterska")
    expect(header).to_contain_text("Testby vårdcentral")
    expect(page.get_by_role("region", name="Kö")).to_contain_text("0 väntande")
    expect(page.get_by_text("Inga pågående chattar")).to_be_visible()
    axe_check(page, "console-queue-empty")
    # a reload keeps the staff session: no login form
    page.reload()
    expect(page.locator("#conn")).to_have_text("Ansluten")
    expect(page.get_by_label("Användarnamn")).to_have_count(0)
    # English and back
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("region", name="Queue")).to_be_visible()
    expect(page.locator("#conn")).to_have_text("Connected")
    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("region", name="Kö")).to_be_visible()


def test_a_citizen_session_is_told_the_console_is_for_staff(open_page: Callable[..., Page]) -> None:
    page = open_page("/", name="citizen")
    assert page.request.post("/auth/test-eid", data={"pnr": ERIK}).ok
    page.goto(CONSOLE)
    expect(page.get_by_role("alert")).to_contain_text("Den här konsolen är för vårdpersonal")
    expect(page.get_by_label("Användarnamn")).to_have_count(0)


def test_queue_is_sorted_by_deadline_and_updates_live_then_pick_from_list(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    maja.submit(CANNOT_DRINK)  # urgency 2: within an hour
    erik.submit(FAINT_AFTER_FOOD)  # urgency 1: a later arrival with an earlier deadline
    page = console(open_page)
    rows = queue_rows(page)
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Prio 1 · Omgående")
    expect(rows.nth(0)).to_contain_text(re.compile(r"Bråttom: 1[45] min kvar"))
    expect(rows.nth(1)).to_contain_text("Prio 2 · Inom en timme")
    expect(rows.nth(1)).to_contain_text("Väntat < 1 min")
    expect(rows.nth(1)).to_contain_text("Testby vårdcentral")
    expect(rows.nth(1)).not_to_contain_text("Bråttom")

    maja.submit(CHILD_FEVER, chat_anyway=True, child=ELSA)  # arrives while the console is open
    expect(rows).to_have_count(3)
    expect(page.get_by_role("region", name="Kö")).to_contain_text("3 väntande")
    expect(rows.nth(2)).to_contain_text("Prio 5")
    expect(rows.nth(2)).to_contain_text("8 år, barn")
    axe_check(page, "console-queue")
    screenshot(page, "console-queue")

    # vc-t lets staff pick from the list: take the child's case, not the most urgent one
    page.get_by_role("button", name=re.compile("^Ta ärende: .*8 år, barn")).click()
    expect(page.get_by_role("tab")).to_have_count(1)
    expect(summary(page)).to_contain_text("Elsa Andersson")
    expect(summary(page)).to_contain_text("Vårdnadshavare")
    expect(summary(page)).to_contain_text("19810510-2381")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("region", name="Kö")).to_contain_text("2 väntande")


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
    expect(page).to_have_title("(1) direkt konsol")
    expect(page.get_by_role("status").filter(has_text="Nytt meddelande från Maja")).to_be_visible()
    assert axe_check(page, "console-chat") == []  # the new summary too: 0 violations
    screenshot(page, "console-chat")

    # arrow keys move between tabs (automatic activation) and reading clears the count
    tab(page, "Erik").focus()
    page.keyboard.press("ArrowLeft")
    expect(tab(page, "Maja")).to_be_focused()
    expect(tab(page, "Maja")).to_have_attribute("aria-selected", "true")
    expect(tab(page, "Maja")).not_to_have_accessible_name(re.compile("oläst"))
    expect(page).to_have_title("direkt konsol")
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
    expect(dialog.get_by_role("button")).to_have_count(2)  # Avbryt and the greeting
    dialog.get_by_label("Sök fras").press("Enter")
    expect(dialog.get_by_role("button")).to_have_count(2)
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


def test_keyboard_only_claim_and_send(open_page: Callable[..., Page], people: Callable[[str], Citizen]) -> None:
    erik = people(ERIK)
    case = erik.submit()
    page = console(open_page)
    expect(queue_rows(page)).to_have_count(1)
    expect(page.get_by_role("heading", name="Kö")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Ta nästa")).to_be_focused()
    page.keyboard.press("Enter")
    composer = page.get_by_role("tabpanel").get_by_role("textbox", name="Meddelande")
    expect(composer).to_be_focused()
    erik.join(case)
    page.keyboard.type("Hej, jag läser det du skrev.")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Återkommer strax.")
    page.keyboard.press("Enter")
    assert erik.next_msg()["text"] == "Hej, jag läser det du skrev.\nÅterkommer strax."
    expect(page.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Återkommer strax.")
    # the phrase picker by keyboard: Tab to "Fraser", open, arrow to a phrase, Enter
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Fraser")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Sök fras")).to_be_focused()
    page.keyboard.type("häls")
    expect(page.get_by_role("dialog").get_by_role("button", name="Hälsning")).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(composer).to_be_focused()
    expect(composer).to_have_value(re.compile("^Hej Erik!"))


def test_capacity_reload_and_return_to_the_queue(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    erik.submit()
    maja.submit(CANNOT_DRINK)
    maja.submit(CHILD_FEVER, chat_anyway=True, child=ELSA)
    page = open_page(CONSOLE, name="nurse-2", viewport={"width": 1024, "height": 768})
    staff_login(page, "nurse-2")  # Olle Ek may hold two chats
    expect(queue_rows(page)).to_have_count(3)
    claim_next(page)
    expect(page.get_by_role("tab")).to_have_count(1)
    claim_next(page)
    expect(page.get_by_role("tab")).to_have_count(2)
    take = page.get_by_role("button", name="Ta nästa")
    expect(take).to_have_attribute("aria-disabled", "true")
    expect(take).to_have_accessible_description(re.compile("Du har 2 av 2 chattar"))
    expect(page.get_by_role("button", name=re.compile("^Ta ärende:"))).to_have_attribute("aria-disabled", "true")
    take.focus()
    page.keyboard.press("Enter")  # still focusable, explains itself, does nothing
    expect(page.get_by_role("tab")).to_have_count(2)
    screenshot(page, "console-narrow")

    page.reload()  # the held cases come back as tabs
    expect(page.get_by_role("tab")).to_have_count(2)
    expect(summary(page)).to_contain_text("Bedömning")
    expect(queue_rows(page)).to_have_count(1)
    page.get_by_role("button", name="Lämna tillbaka").click()
    expect(page.get_by_role("tab")).to_have_count(1)
    expect(queue_rows(page)).to_have_count(2)
    expect(page.locator("#toasts")).to_contain_text("lämnades tillbaka till kön")
    expect(take).not_to_have_attribute("aria-disabled", "true")
    expect(page.get_by_role("tab")).to_be_focused()

    # the server says the lease was lost (the socket was gone longer than the lease): the tab says so
    held = page.evaluate("[...direkt.hub.cursors.keys()][0]")
    page.evaluate("c => direkt.hub.onFrame({t: 'done', case: c, state: 'lost'})", held)
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("Du håller inte längre det här ärendet")
    expect(panel.get_by_role("textbox", name="Meddelande")).to_be_disabled()
    expect(page.get_by_role("tab")).to_have_accessible_name(re.compile("förlorat"))
    expect(take).not_to_have_attribute("aria-disabled", "true")
    panel.get_by_role("button", name="Stäng fliken").click()
    expect(page.get_by_role("tab")).to_have_count(0)


# Records the tones the page plays and the desktop notifications it makes: window.alertSpy.
ALERT_SPY_JS = """(() => {
  const spy = { tones: [], notes: [] };
  Object.defineProperty(window, "alertSpy", { value: spy });
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    spy.tones.push(this.frequency.value);
    return start.apply(this, args);
  };
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      spy.notes.push({ title, ...options });
      super(title, options);
    }
  };
})();"""


def alert_spy(page: Page) -> dict[str, list[Any]]:
    return dict(page.evaluate("() => JSON.parse(JSON.stringify(window.alertSpy))"))


def test_a_case_arriving_in_my_queues_alerts_and_an_urgent_one_insists(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    page = open_page(CONSOLE, name="nurse", permissions=["notifications"])
    page.add_init_script(ALERT_SPY_JS)
    page.reload()
    staff_login(page, "nurse-1")
    queue = page.get_by_role("region", name="Kö")
    expect(queue).to_contain_text("0 väntande")
    notify = page.get_by_label("Skrivbordsnotiser om nya ärenden")
    expect(notify).not_to_be_checked()  # only with the staff member's say-so
    notify.check()
    expect(notify).to_be_checked()
    axe_check(page, "console-queue-alerts")

    erik.submit(unit="vc-other")  # Annanby's queue: not nurse-1's, never alerts
    maja.submit()  # sore throat for ten days, in nurse-1's queue: an ordinary arrival
    expect(queue_rows(page)).to_have_count(1)
    expect(page).to_have_title("Nytt ärende i kön – direkt konsol")
    spy = alert_spy(page)
    assert len(spy["notes"]) == 1, spy
    note = spy["notes"][0]
    assert note["title"] == "Nytt ärende i din kö"
    assert "Ont i halsen" in note["body"] and "Testby vårdcentral" in note["body"]
    assert "Maja" not in note["body"] and not note["requireInteraction"]
    ordinary_tones = len(spy["tones"])
    assert ordinary_tones >= 2, spy
    page.locator("body").click(position={"x": 5, "y": 5})  # the nurse is at the console: acknowledged
    expect(page).to_have_title("direkt konsol")

    erik.submit(FAINT_AFTER_FOOD)  # urgency 1: insists
    expect(queue_rows(page)).to_have_count(2)
    expect(page).to_have_title("⚠ Brådskande ärende i kön (prio 1) – direkt konsol")
    spy = alert_spy(page)
    assert len(spy["notes"]) == 2, spy
    urgent = spy["notes"][1]
    assert urgent["title"] == "Brådskande ärende i din kö (prio 1)"
    assert urgent["body"].startswith("Prio 1 · Omgående") and urgent["requireInteraction"]
    assert len(spy["tones"]) - ordinary_tones > ordinary_tones  # a longer, sharper pattern
    page.locator("body").click(position={"x": 5, "y": 5})
    expect(page).to_have_title("⚠ Brådskande ärende i kön (prio 1) – direkt konsol")  # stays until taken

    claim_next(page)  # takes the urgent case
    expect(page.get_by_role("tab")).to_have_count(1)
    expect(page).to_have_title("direkt konsol")
    page.get_by_role("button", name="Lämna tillbaka").click()  # back in the queue from this console: no alert
    expect(queue_rows(page)).to_have_count(2)
    expect(page).to_have_title("direkt konsol")
    assert len(alert_spy(page)["notes"]) == 2
    # the choice survives a reload
    page.reload()
    expect(page.get_by_label("Skrivbordsnotiser om nya ärenden")).to_be_checked()


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


def until(page: Page, check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    """Let the page run until ``check()`` holds, or fail after ``seconds``."""
    deadline = time.monotonic() + timeout(seconds)
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        page.wait_for_timeout(50)


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


def test_queue_rows_show_the_deadline_and_why_some_cases_are_taken_in_turn(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    erik.submit(unit="1177-t")  # 1177 serves its cases in deadline order only
    maja.submit(CANNOT_DRINK)  # Testby vårdcentral lets staff pick from the list
    page = console(open_page)
    rows = queue_rows(page)
    expect(rows).to_have_count(2)
    picked, in_turn = rows.filter(has_text="Testby vårdcentral"), rows.filter(has_text="1177 Test")
    expect(picked).to_contain_text(re.compile(r"Kontakt senast \d\d:\d\d"))  # shown, not only on hover
    expect(in_turn).to_contain_text("Kontakt senast")
    expect(picked.get_by_role("button", name=re.compile("^Ta ärende"))).to_be_visible()
    expect(in_turn.get_by_role("button")).to_have_count(0)
    expect(in_turn.get_by_text("Tas i tur")).to_have_accessible_description(
        re.compile("^1177 Test: ärendena tas i tur efter senaste kontakttid")
    )
    expect(page.get_by_role("region", name="Kö")).to_contain_text("Använd ”Ta nästa”.")
    axe_check(page, "console-queue-in-turn")
    screenshot(page, "console-queue-in-turn")


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


def test_toasts_collapse_and_do_not_stack_over_the_queue(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    erik_case, maja_case = erik.submit(), maja.submit(CANNOT_DRINK)
    page = console(open_page)
    claim_next(page)
    claim_next(page)  # two "Chatt öppnad" toasts
    expect(tab(page, "Erik")).to_have_attribute("aria-selected", "true")
    erik.join(erik_case)
    maja.join(maja_case)
    for i in range(1, 6):
        maja.say(maja_case, f"Fråga {i}")  # Maja's tab is in the background: a toast each
    expect(tab(page, "Maja")).to_have_accessible_name(re.compile("5 olästa"))
    toasts = page.locator("#toasts .toast")
    expect(toasts.filter(has_text="Nytt meddelande från Maja")).to_have_text("Nytt meddelande från Maja (5)")
    expect(toasts).to_have_count(2)
    screenshot(page, "console-toasts")


def test_availability_pauses_take_next_quiets_alerts_and_survives_a_reload(
    open_page: Callable[..., Page], people: Callable[[str], Citizen]
) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    page = open_page(CONSOLE, name="nurse")
    page.add_init_script(ALERT_SPY_JS)
    page.reload()
    staff_login(page, "nurse-1")
    expect(page.get_by_role("region", name="Kö")).to_contain_text("0 väntande")
    status = page.get_by_role("banner").get_by_label("Status")
    expect(status).to_have_value("available")
    status.select_option("paused")
    take = page.get_by_role("button", name="Ta nästa")
    expect(take).to_have_attribute("aria-disabled", "true")
    expect(take).to_have_accessible_description(re.compile("^Du har paus"))

    maja.submit()  # an ordinary arrival on a pause: the title tells, no sound
    expect(queue_rows(page)).to_have_count(1)
    expect(page).to_have_title("Nytt ärende i kön – direkt konsol")
    assert alert_spy(page)["tones"] == []
    erik.submit(FAINT_AFTER_FOOD)  # an urgent one sounds even on a pause
    expect(queue_rows(page)).to_have_count(2)
    until(page, lambda: bool(alert_spy(page)["tones"]), "the urgent arrival's sound")

    page.reload()  # the server keeps the status
    status = page.get_by_role("banner").get_by_label("Status")
    expect(status).to_have_value("paused")
    expect(take).to_have_attribute("aria-disabled", "true")
    take.focus()
    page.keyboard.press("Enter")  # explains itself, takes nothing
    expect(page.get_by_role("tab")).to_have_count(0)
    status.select_option("away")
    expect(take).to_have_accessible_description(re.compile("^Du är borta"))
    erik.submit(FAINT_AFTER_FOOD)  # away: not even an urgent case sounds
    expect(queue_rows(page)).to_have_count(3)
    expect(page).to_have_title("⚠ Brådskande ärende i kön (prio 1) – direkt konsol")
    assert alert_spy(page)["tones"] == []
    axe_check(page, "console-away")
    screenshot(page, "console-away")
    status.select_option("available")
    expect(take).not_to_have_attribute("aria-disabled", "true")
    claim_next(page)
    expect(page.get_by_role("tab")).to_have_count(1)


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
