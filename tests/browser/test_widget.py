"""The citizen chat widget in a real browser: login, triage, the waiting room,
a chat with a nurse driven over the real socket, reconnects, photos, the
transcript, languages, phones, keyboards, and the embed on a clinic's page."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import expect
from support import ServerProcess
from support_browser import (
    PHONE,
    Background,
    axe_check,
    choose,
    login,
    messages,
    next_question,
    screenshot,
    sore_throat,
)
from support_hub import citizen, seed_transcript, waiting_case

from direkt.loadtests.client import JSON, Client, Socket
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

ERIK = "199108312399"
MAJA = "198105102381"
T = TypeVar("T")


# -- a nurse on the real socket, driven from the synchronous test ---------------------------


class Nurse:
    """nurse-1 logged in over HTTP with one JSON socket, on an event loop in a thread,
    so the socket (and so the claim) lives while the test drives the browser."""

    def __init__(self, base: str, username: str = "nurse-1") -> None:
        self.bg = Background()
        self.client = Client(base)
        self.run(self.client.login_staff(username))
        self.sock: Socket = self.run(self.client.socket(JSON))
        self.cids = itertools.count(1)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15) -> T:
        return self.bg.run(coro, timeout)

    def claim(self, case: str) -> None:
        claimed = self.run(self.sock.request({"t": "claim", "case": case}, "claimed"))
        assert claimed["t"] == "claimed" and claimed["case"] == case, claimed
        synced = self.run(self.sock.request({"t": "join", "case": case, "epoch": "", "after": ""}, "synced"))
        assert synced["t"] == "synced", synced

    def say(self, case: str, text: str) -> str:
        ack = self.run(
            self.sock.request({"t": "send", "case": case, "cid": f"n{next(self.cids)}", "text": text}, "ack")
        )
        assert ack["t"] == "ack", ack
        return str(ack["id"])

    def send(self, frame: dict[str, Any]) -> None:
        self.run(self.sock.send(frame))

    def request(self, frame: dict[str, Any], reply: str) -> dict[str, Any]:
        return self.run(self.sock.request(frame, reply))

    def message(self, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The next ``msg`` matching ``match`` (also among frames set aside before)."""
        for frame in list(self.sock.skipped):
            if frame.get("t") == "msg" and all(frame.get(k) == v for k, v in match.items()):
                self.sock.skipped.remove(frame)
                return frame
        return self.run(self.sock.expect("msg", timeout, **match), timeout + 5)

    def get(self, path: str) -> Any:
        return self.run(self.client.http.get(path))

    def close(self) -> None:
        try:
            self.run(self.sock.close())
            self.run(self.client.aclose())
        finally:
            self.bg.stop()


@pytest.fixture
def nurse(server: ServerProcess) -> Iterator[Nurse]:
    n = Nurse(server.base)
    yield n
    n.close()


async def seed_long(redis: EmbeddedRedis, case: str, count: int) -> None:
    client = await connect(redis.url)
    try:
        await seed_transcript(client, case, count, " tidigare")
    finally:
        await client.aclose()


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread: Playwright's sync API already runs a loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(30)


async def someone_else_waits(base: str, pnr: str = MAJA) -> str:
    """Another citizen's sore-throat case in the same queue (over HTTP, no browser)."""
    client = await citizen(base, pnr)
    try:
        return await waiting_case(client)
    finally:
        await client.aclose()


# -- steps ----------------------------------------------------------------------------------


SORE_THROAT_JS = """async () => {
  const api = direkt.api;
  let view = await api.call("POST", "/api/triage", {entry: "seek_care"});
  const answers = [["screen.now", ["none"]], ["reason", "sore_throat"], ["screen.risk", ["none"]],
    ["sore_throat.danger", ["none"]],
    ["sore_throat.medicines", ["none"]], ["sore_throat.fever", "no"], ["sore_throat.centor", ["cough"]],
    ["sore_throat.ill", "no"], ["sore_throat.days", 10], ["sore_throat.photo", "skip"]];
  for (const [question, value] of answers)
    view = await api.call("POST", `/api/triage/${view.id}/answer`, {question, value});
  return (await api.call("POST", "/api/cases", {triage: view.id})).case;
}"""


def waiting_in_browser(page: Any) -> str:
    """A logged-in citizen's case through the page's own API; the reload shows the waiting room."""
    case = str(page.evaluate(SORE_THROAT_JS))
    page.reload()
    expect(page.get_by_role("heading", name="Du är i kön")).to_be_visible()
    expect(page.locator("#conn")).to_have_attribute("data-hub", "open")
    return case


def no_horizontal_scroll(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


# -- tests ----------------------------------------------------------------------------------


def test_login_triage_with_a_step_back_and_the_waiting_room(open_page: Any, server: ServerProcess) -> None:
    page = open_page("/chat/", name="citizen")
    expect(page.get_by_role("heading", name="Chatta med vården", exact=True).last).to_be_visible()
    expect(page.get_by_text("TESTMILJÖ", exact=False)).to_be_visible()
    axe_check(page, "widget-start")
    screenshot(page, "widget-start")

    login(page)
    expect(page.get_by_role("button", name="Logga ut")).to_be_visible()
    expect(page.get_by_role("radiogroup", name="Vem gäller det?")).to_be_visible()
    axe_check(page, "widget-entry")

    sore_throat(page, with_back_step=True)
    expect(page.get_by_role("heading", name="Vår bedömning")).to_be_focused()
    expect(page.get_by_text("Besvär: Ont i halsen")).to_be_visible()
    result = page.locator("section.result")
    expect(result).to_contain_text("Du behöver kontakt med vården inom några dagar – det behöver inte vara i dag.")
    expect(result).to_contain_text("Skicka din bedömning till väntrummet, så chattar en sjuksköterska med dig.")
    expect(result).to_contain_text("Varför: Ont i halsen i mer än en vecka bör undersökas.")
    expect(result.get_by_role("heading", name="Hör av dig igen")).to_be_visible()
    expect(result).to_contain_text("Ring 112 om du får svårt att andas")
    for code in ("within_days", "self_care", "nurse", "chat_today", "(days)"):
        expect(result).not_to_contain_text(code)  # no internal code reaches the citizen
    assert axe_check(page, "widget-result-chat") == []
    page.get_by_role("button", name="Skicka till väntrummet").click()

    expect(page.get_by_role("heading", name="Du är i kön")).to_be_focused()
    expect(page.get_by_text("Plats 1 av 1", exact=True)).to_be_visible()
    expect(page.get_by_text("Om du blir sämre och det är fara för liv: ring 112", exact=True)).to_be_visible()
    expect(
        page.get_by_text(
            re.compile(
                r"^(Beräknad väntetid: .+|Vi kan inte uppskatta väntetiden just nu"
                r"|Ingen väntetid kan beräknas förrän någon svarar i kön\.)$"
            )
        )
    ).to_be_visible()
    axe_check(page, "widget-waiting")
    screenshot(page, "widget-waiting")

    # reload-safe: the open case brings the citizen straight back to the waiting room
    page.reload()
    expect(page.get_by_text("Plats 1 av 1", exact=True)).to_be_visible()

    # the queue grows behind us: a position frame updates the text in place
    run_async(someone_else_waits(server.base))
    expect(page.get_by_text("Plats 1 av 2", exact=True)).to_be_visible()

    # leaving asks first
    page.get_by_role("button", name="Lämna kön").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Ja, lämna kön").click()
    expect(page.get_by_role("heading", name="Du har lämnat kön")).to_be_visible()


def test_the_112_path_sends_the_citizen_to_112_and_never_to_the_queue(open_page: Any) -> None:
    page = open_page("/chat/", name="citizen")
    login(page)
    page.get_by_role("button", name="Söka vård").click()
    choose(page, "Plötsliga tecken på stroke (sned mun, svag arm, sluddrigt tal)")
    page.get_by_role("button", name="Nästa").click()
    alert = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="Ring 112 nu."))
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Plötsliga tecken på stroke kräver vård direkt")
    expect(alert.get_by_role("heading", name="Gör så här nu")).to_be_visible()
    expect(alert).to_contain_text("Notera klockslaget när symtomen började.")
    call = page.get_by_role("link", name="Ring 112")
    expect(call).to_have_attribute("href", "tel:112")
    expect(page.get_by_role("button", name="Skicka till väntrummet")).to_have_count(0)
    expect(page.get_by_role("button", name="Chatta ändå")).to_have_count(0)
    assert axe_check(page, "widget-result-112") == []
    screenshot(page, "widget-112")


def test_self_care_advice_offers_a_chat_anyway(open_page: Any) -> None:
    page = open_page("/chat/", name="citizen")
    login(page)
    sore_throat(page, days=3)
    expect(page.get_by_role("heading", name="Råd om egenvård")).to_be_visible()
    expect(page.get_by_text("Du kan troligen ta hand om det här själv hemma.", exact=True)).to_be_visible()
    expect(page.get_by_text("Ont i halsen beror oftast på virus", exact=False)).to_be_visible()
    expect(page.get_by_text("Vill du ändå prata med någon kan du chatta med vården", exact=False)).to_be_visible()
    expect(page.locator("section.result")).not_to_contain_text("sjuksköterska")  # self-care: no "nurse, chat"
    expect(page.get_by_role("button", name="Skicka till väntrummet")).to_have_count(0)
    assert axe_check(page, "widget-result-selfcare") == []
    page.get_by_role("button", name="Chatta ändå").click()
    expect(page.get_by_text("Plats 1 av 1", exact=True)).to_be_visible()


def test_a_guardian_is_asked_about_the_child_by_name_and_numbers_are_checked(open_page: Any) -> None:
    """Questions in the guardian form, "not measured", whole days, a plausible range, and the
    emergency-department result with what to do on the way, in plain Swedish, with no queue."""
    page = open_page("/chat/", name="guardian-triage")
    login(page, MAJA)
    page.get_by_role("radiogroup", name="Vem gäller det?").get_by_role("radio", name="Elsa Andersson, 8 år").check()
    page.get_by_role("button", name="Söka vård").click()
    expect(page.get_by_role("heading", name="Har Elsa något av detta just nu?")).to_be_visible()
    expect(page.get_by_label("Slapp i kroppen (orkar inte hålla upp huvudet, hänger som en trasa)")).to_be_visible()
    expect(page.get_by_text("Tryck över bröstet", exact=False)).to_have_count(0)  # an adult's sign, not a child's
    choose(page, "Inget av detta")
    next_question(page, 2)
    choose(page, "Feber hos barn")
    next_question(page, 3)
    expect(page.get_by_role("group", name="Stämmer något av detta in på Elsa?")).to_be_visible()  # risk, once
    expect(page.get_by_text("Har fött barn", exact=False)).to_have_count(0)  # an adult's modifier, not a child's
    choose(page, "Inget av detta")
    next_question(page, 4)
    expect(page.get_by_role("heading", name="Vilken är den högsta temperaturen du har mätt på Elsa?")).to_be_visible()
    page.get_by_role("spinbutton").fill("47")
    page.get_by_role("button", name="Nästa").click()
    expect(page.get_by_text("Skriv ett tal mellan 34 och 43.", exact=True)).to_be_visible()
    axe_check(page, "widget-number-invalid")
    page.get_by_label("Inte mätt", exact=True).check()
    expect(page.get_by_role("spinbutton")).to_be_disabled()
    next_question(page, 5)
    expect(page.get_by_role("heading", name="Hur många dygn har Elsa haft feber?")).to_be_visible()
    page.get_by_role("spinbutton").fill("38.9")  # a temperature typed into the days field
    page.get_by_role("button", name="Nästa").click()
    expect(page.get_by_text("Skriv ett helt tal.", exact=True)).to_be_visible()
    page.get_by_role("spinbutton").fill("2")
    next_question(page, 6)
    choose(page, "Grymtar vid varje utandning")
    next_question(page, 7)
    expect(page.get_by_role("heading", name="Har Elsa fått utslag på huden?")).to_be_visible()  # can still mean 112
    choose(page, "Nej")
    page.get_by_role("button", name="Nästa").click()
    alert = page.get_by_role("alert").filter(
        has=page.get_by_role("heading", name=re.compile("^Åk till en akutmottagning"))
    )
    expect(alert).to_contain_text("Åk till en akutmottagning med Elsa nu. Ring 112 om Elsa blir sämre på vägen.")
    expect(alert).to_contain_text("Elsa andas ansträngt med feber")
    expect(alert.get_by_role("heading", name="Gör så här nu")).to_be_visible()
    expect(alert).to_contain_text("Låt Elsa sitta upp i famnen under resan.")
    expect(page.get_by_role("button", name="Skicka till väntrummet")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("emergency_department")
    assert axe_check(page, "widget-result-emergency-department") == []
    screenshot(page, "widget-emergency-department")


def test_a_guardian_can_act_for_a_young_child_only(open_page: Any) -> None:
    page = open_page("/chat/", name="guardian")
    login(page, MAJA)
    group = page.get_by_role("radiogroup", name="Vem gäller det?")
    expect(group.get_by_role("radio", name="Elsa Andersson, 8 år")).to_be_visible()
    expect(group.get_by_text("Lova", exact=False)).to_have_count(0)  # 13: over the limit for a guardian
    expect(group.get_by_role("radio")).to_have_count(2)
    group.get_by_role("radio", name="Elsa Andersson, 8 år").check()
    page.get_by_role("button", name="Söka vård").click()
    expect(page.get_by_text("Fråga 1", exact=True)).to_be_visible()
    assert page.evaluate("direkt.app.screen.view.patient.for_child") is True


def test_a_chat_with_a_nurse_with_a_reconnect_a_photo_and_the_transcript(
    open_page: Any, nurse: Nurse, tmp_path: Path, standalone_redis: EmbeddedRedis
) -> None:
    page = open_page("/chat/", name="citizen")
    login(page)
    case = waiting_in_browser(page)

    # the nurse opens the chat: notice, title, chat screen
    nurse.claim(case)
    expect(page.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    log = page.get_by_role("log", name="Meddelanden")
    expect(log).to_be_visible()
    expect(log).to_contain_text("Nora Nilsson på Testby vårdcentral har öppnat chatten.")

    # both ways, with sent and read marks and the typing indicator
    nurse.send({"t": "typing", "case": case, "on": True})
    expect(page.get_by_text("Sjuksköterskan skriver…")).to_be_visible()
    nurse.say(case, "Hej Erik! Jag heter Nora. Hur länge har du haft ont?")
    expect(log.locator(".msg.other").filter(has_text="Hur länge har du haft ont?")).to_contain_text("Sjuksköterska")
    expect(page.get_by_text("Sjuksköterskan skriver…")).to_have_count(0)
    box = page.get_by_label("Meddelande", exact=True)
    box.fill("I tio dagar nu.")
    box.press("Enter")
    own = log.locator(".msg.own").filter(has_text="I tio dagar nu.")
    expect(own.locator(".status")).to_have_text("Skickat")
    reply = nurse.message(text="I tio dagar nu.")
    assert reply["role"] == "citizen" and reply["name"] == "Erik Nilsson"
    nurse.send({"t": "read", "case": case, "id": reply["id"]})
    expect(own.locator(".status")).to_have_text("Läst")
    box.fill("Och ont när jag sväljer.")
    page.get_by_role("button", name="Skicka", exact=True).click()
    nurse.message(text="Och ont när jag sväljer.")
    nurse.say(case, "Har du haft feber över 38,5 grader?")
    expect(log).to_contain_text("Har du haft feber")
    box.fill("Nej, ingen feber.")
    box.press("Enter")
    expect(log.locator(".msg.own").filter(has_text="Nej, ingen feber.").locator(".status")).to_have_text("Skickat")
    page.evaluate("window.scrollTo(0, 0)")
    axe_check(page, "widget-chat")
    screenshot(page, "widget-chat")

    # a reconnect: nothing lost, nothing twice, in order
    page.context.set_offline(True)
    page.evaluate("direkt.hub.drop()")
    expect(page.get_by_role("status").filter(has_text="Anslutningen bröts. Återansluter…")).to_be_visible()
    sent = ["Första medan du var borta.", "Andra medan du var borta.", "Tredje medan du var borta."]
    for text in sent:
        nurse.say(case, text)
    page.context.set_offline(False)
    expect(page.get_by_text("Anslutningen bröts. Återansluter…")).to_have_count(0, timeout=15_000)
    expect(log.locator(".msg").filter(has_text="Tredje medan du var borta.")).to_be_visible()
    shown = messages(page)
    assert [shown.count(text) for text in sent] == [1, 1, 1], shown
    assert [shown.index(text) for text in sent] == sorted(shown.index(text) for text in sent)

    # a photo: chosen, previewed, sent, and the nurse can fetch it
    from PIL import Image

    picture = tmp_path / "hals.png"
    Image.new("RGB", (64, 48), (200, 80, 80)).save(picture)
    page.get_by_label("Bifoga bild").set_input_files(str(picture))
    preview = page.get_by_role("img", name="Förhandsvisning av bilden du valt")
    expect(preview).to_be_visible()
    assert page.evaluate("document.querySelector('figure.preview img').src.startsWith('blob:')")
    page.get_by_role("button", name="Skicka bild").click()
    expect(preview).to_have_count(0)
    expect(log.get_by_role("img", name="Bild som du skickade")).to_be_visible()
    photo_msg = nurse.message(k="photo")
    fetched = nurse.get(f"/api/cases/{case}/photos/{photo_msg['photo']}")
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    nurse.say(case, "Tack för bilden. Det ser ut som en vanlig halsinfektion.")
    expect(log).to_contain_text("Tack för bilden.")
    axe_check(page, "widget-chat-photo")

    # the transcript as a text file, with both sides, and every page of it (600 more entries: two pages)
    run_async(seed_long(standalone_redis, case, 600))
    with page.expect_download() as download:
        page.get_by_role("button", name="Ladda ned samtalet").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.endswith(".txt")
    for line in ["Hur länge har du haft ont?", "I tio dagar nu.", "Tredje medan du var borta.", "Erik Nilsson (Du)"]:
        assert line in text, text
    assert [line.rsplit(": ", 1)[1] for line in text.splitlines() if "tidigare" in line] == [
        f"{i} tidigare" for i in range(600)
    ]

    # the nurse closes: the end, the outcome, the transcript stays
    done = nurse.request({"t": "close", "case": case, "outcome": "self_care_advice", "note": "Halsont."}, "done")
    assert done["state"] == "closed", done
    expect(page.get_by_role("heading", name="Chatten är avslutad")).to_be_visible()
    expect(page.get_by_text("Resultat: Du har fått råd om egenvård")).to_be_visible()
    expect(page.get_by_label("Meddelande", exact=True)).to_have_count(0)
    expect(log).to_contain_text("I tio dagar nu.")
    expect(page.get_by_role("button", name="Ladda ned samtalet")).to_be_visible()
    axe_check(page, "widget-closed")


def test_english_changes_every_heading(open_page: Any) -> None:
    page = open_page("/chat/", name="citizen")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Chat with healthcare").first).to_be_visible()
    expect(page.get_by_role("button", name="Log in with e-ID")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_role("button", name="Log in with e-ID").click()
    page.locator(f'button[name="pnr"][value="{ERIK}"]').click()
    expect(page.get_by_role("heading", name="What is it about?")).to_be_visible()
    page.get_by_role("button", name="Seek care").click()
    expect(page.get_by_role("heading", name="Do you have any of this right now?")).to_be_visible()
    page.get_by_role("button", name="Svenska").click()
    expect(page.get_by_role("heading", name="Har du något av detta just nu?")).to_be_visible()
    expect(page.get_by_text("Fråga 1", exact=True)).to_be_visible()


def test_a_phone_sized_screen_has_no_horizontal_scroll(open_page: Any, nurse: Nurse) -> None:
    page = open_page("/chat/", viewport=PHONE, name="phone")
    no_horizontal_scroll(page)
    login(page)
    no_horizontal_scroll(page)
    page.get_by_role("button", name="Söka vård").click()
    choose(page, "Inget av detta")
    next_question(page, 2)
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_focused()
    page.evaluate("window.scrollTo(0, 0)")
    no_horizontal_scroll(page)
    axe_check(page, "widget-phone")
    screenshot(page, "widget-phone-triage")
    choose(page, "Ont i halsen")
    next_question(page, 3)
    no_horizontal_scroll(page)

    # the waiting room and the chat on the phone: one column, the composer within reach
    page.get_by_role("button", name="Tillbaka").click()
    page.get_by_role("button", name="Tillbaka").click()
    page.get_by_role("button", name="Tillbaka").click()  # back to the entry screen
    case = waiting_in_browser(page)
    no_horizontal_scroll(page)
    nurse.claim(case)
    nurse.say(case, "Hej! Berätta gärna lite mer om hur det känns, så hjälper jag dig vidare.")
    box = page.get_by_label("Meddelande", exact=True)
    box.scroll_into_view_if_needed()
    expect(box).to_be_in_viewport()
    expect(page.get_by_role("button", name="Skicka", exact=True)).to_be_visible()
    no_horizontal_scroll(page)
    box.fill("Det gör ont att svälja.")
    box.press("Enter")
    nurse.message(text="Det gör ont att svälja.")


def test_keyboard_only_from_the_entry_into_the_triage(open_page: Any) -> None:
    page = open_page("/chat/", name="keyboard")
    login(page)

    def tab_to(predicate: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const el = document.activeElement; return {predicate}; }})()"):
                return
        raise AssertionError(f"Tab never reached {predicate}")

    tab_to("el.textContent === 'Söka vård'")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Fråga 1", exact=True)).to_be_visible()
    axe_check(page, "widget-question")
    tab_to("el.type === 'checkbox' && el.value === 'none'")
    page.keyboard.press("Space")
    tab_to("el.textContent === 'Nästa'")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Fråga 2", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_focused()
    # an answer is needed: the error is said, focus goes to the answers
    tab_to("el.textContent === 'Nästa'")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Välj ett svar för att gå vidare.")).to_be_visible()


def test_the_widget_on_a_clinic_page_opens_the_chat(open_page: Any) -> None:
    page = open_page("/embed-demo.html?unit=vc-t", name="clinic")
    expect(page.get_by_role("heading", name="Välkommen till Testby vårdcentral")).to_be_visible()
    launcher = page.get_by_role("button", name="Chatta med vården")
    expect(launcher).to_be_visible()
    launcher.click()
    frame_el = page.locator('iframe[title="Vården direkt – chatt"]')
    expect(frame_el).to_be_visible()
    src = frame_el.get_attribute("src") or ""
    assert "/chat/?" in src and "unit=vc-t" in src and "embed=1" in src
    chat = page.frame_locator('iframe[title="Vården direkt – chatt"]')
    expect(chat.get_by_role("heading", name="Chatta med Testby vårdcentral").first).to_be_visible()
    expect(chat.get_by_role("button", name="Logga in med e-legitimation")).to_be_visible()
    assert frame_el.element_handle().content_frame().evaluate("direkt.app.unit") == "vc-t"
    screenshot(page, "widget-embed")
    axe_check(page, "widget-embed")
    page.keyboard.press("Escape")
    expect(frame_el).to_be_hidden()
    expect(launcher).to_be_focused()
    assert launcher.get_attribute("aria-expanded") == "false"


@pytest.mark.parametrize("unit", ["%3Cscript%3Ealert(1)%3C/script%3E", "..%2F..%2Fapi%2Fsession", "x" * 300, ""])
def test_malformed_unit_values_do_not_break_the_page(open_page: Any, unit: str) -> None:
    page = open_page(f"/chat/?unit={unit}&embed=1", name="malformed")
    expect(page.get_by_role("button", name="Logga in med e-legitimation")).to_be_visible()
    expect(page.get_by_role("heading", name="Chatta med vården", exact=True).first).to_be_visible()
    assert page.evaluate("direkt.app.unit") == ""
