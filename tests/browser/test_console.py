"""The nurse console (client-demo/console/) against a real server: login, the live queue and
claiming, keyboard-only use, capacity, alerts for arriving cases, toasts and availability, with
axe-core on every screen and dialog.

Citizens are scripted from Python (``direkt.loadtests.client``) on an event loop
in a background thread, so their sockets stay open while the browser works (the
``people`` fixture, tests/browser/conftest.py). The chat panel is tested in
test_console_chat.py; phrases, photos, transfer and close in test_console_actions.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect
from support_browser import (
    CANNOT_DRINK,
    CHILD_FEVER,
    CONSOLE,
    FAINT_AFTER_FOOD,
    Citizen,
    axe_check,
    claim_next,
    console,
    queue_rows,
    screenshot,
    staff_login,
    summary,
    tab,
    until,
)
from support_hub import ELSA, ERIK, GUARDIAN


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
    expect(page).to_have_title("Nytt ärende i kön – Vården direkt – konsol")
    spy = alert_spy(page)
    assert len(spy["notes"]) == 1, spy
    note = spy["notes"][0]
    assert note["title"] == "Nytt ärende i din kö"
    assert "Ont i halsen" in note["body"] and "Testby vårdcentral" in note["body"]
    assert "Maja" not in note["body"] and not note["requireInteraction"]
    ordinary_tones = len(spy["tones"])
    assert ordinary_tones >= 2, spy
    page.locator("body").click(position={"x": 5, "y": 5})  # the nurse is at the console: acknowledged
    expect(page).to_have_title("Vården direkt – konsol")

    erik.submit(FAINT_AFTER_FOOD)  # urgency 1: insists
    expect(queue_rows(page)).to_have_count(2)
    expect(page).to_have_title("⚠ Brådskande ärende i kön (prio 1) – Vården direkt – konsol")
    spy = alert_spy(page)
    assert len(spy["notes"]) == 2, spy
    urgent = spy["notes"][1]
    assert urgent["title"] == "Brådskande ärende i din kö (prio 1)"
    assert urgent["body"].startswith("Prio 1 · Omgående") and urgent["requireInteraction"]
    assert len(spy["tones"]) - ordinary_tones > ordinary_tones  # a longer, sharper pattern
    page.locator("body").click(position={"x": 5, "y": 5})
    expect(page).to_have_title("⚠ Brådskande ärende i kön (prio 1) – Vården direkt – konsol")  # stays until taken

    claim_next(page)  # takes the urgent case
    expect(page.get_by_role("tab")).to_have_count(1)
    expect(page).to_have_title("Vården direkt – konsol")
    page.get_by_role("button", name="Lämna tillbaka").click()  # back in the queue from this console: no alert
    expect(queue_rows(page)).to_have_count(2)
    expect(page).to_have_title("Vården direkt – konsol")
    assert len(alert_spy(page)["notes"]) == 2
    # the choice survives a reload
    page.reload()
    expect(page.get_by_label("Skrivbordsnotiser om nya ärenden")).to_be_checked()


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
    # shown, not only on hover; with a day before the time once the deadline is past midnight
    # (Playwright runs the pattern as a JavaScript one: its \w is ASCII only, and "mån" is not)
    expect(picked).to_contain_text(re.compile(r"Kontakt senast (\S+\s+\d+\s+\S+\s+)?\d\d:\d\d"))
    expect(in_turn).to_contain_text("Kontakt senast")
    expect(picked.get_by_role("button", name=re.compile("^Ta ärende"))).to_be_visible()
    expect(in_turn.get_by_role("button")).to_have_count(0)
    expect(in_turn.get_by_text("Tas i tur")).to_have_accessible_description(
        re.compile("^1177 Test: ärendena tas i tur efter senaste kontakttid")
    )
    expect(page.get_by_role("region", name="Kö")).to_contain_text("Använd ”Ta nästa”.")
    axe_check(page, "console-queue-in-turn")
    screenshot(page, "console-queue-in-turn")


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
    expect(page).to_have_title("Nytt ärende i kön – Vården direkt – konsol")
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
    tablet = open_page(CONSOLE, name="tablet")  # her second console, on another device
    staff_login(tablet, "nurse-1")
    tablet_status = tablet.get_by_role("banner").get_by_label("Status")
    expect(tablet_status).to_have_value("paused")
    status.select_option("away")
    expect(take).to_have_accessible_description(re.compile("^Du är borta"))
    expect(tablet_status).to_have_value("away")  # told at once, not at its next reload
    erik.submit(FAINT_AFTER_FOOD)  # away: not even an urgent case sounds
    expect(queue_rows(page)).to_have_count(3)
    expect(page).to_have_title("⚠ Brådskande ärende i kön (prio 1) – Vården direkt – konsol")
    assert alert_spy(page)["tones"] == []
    axe_check(page, "console-away")
    screenshot(page, "console-away")
    status.select_option("available")
    expect(take).not_to_have_attribute("aria-disabled", "true")
    expect(tablet_status).to_have_value("available")
    claim_next(page)
    expect(page.get_by_role("tab")).to_have_count(1)
