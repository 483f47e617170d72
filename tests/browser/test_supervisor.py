"""The supervisor view in Chromium on the real server (issue 22, "Supervisor view").

Siv supervises Testby vårdcentral. She sees a waiting case and a nurse's open
chat; she closes intake and a waiting citizen reads her message; she posts a
notice and the waiting room shows it; she moves a chat from Nora to Olle and
both consoles follow. Two server processes on one Redis: intake closed through
one is refused by the other, and a citizen waiting on the other is told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import (
    WIDGET_CASE_JS,
    Background,
    Citizen,
    axe_check,
    citizen_login,
    claim_next,
    console,
    login,
    screenshot,
    sore_throat,
    staff_login,
    tab,
)
from support_hub import GUARDIAN, citizen, waiting_case

from direkt.loadtests.client import ApiError
from direkt.server.redis.embedded import EmbeddedRedis

Opener = Callable[..., Page]
BUSY = "Hög belastning: vi tar inte emot nya ärenden i chatten just nu."
NOTICE = "Många söker i dag. Tack för ditt tålamod!"


def supervisor(open_page: Opener) -> Page:
    page = open_page("/supervisor/", name="supervisor")
    staff_login(page, "super-vc")
    expect(page.get_by_role("heading", name="Arbetsledning", level=1)).to_be_visible()
    return page


def unit(page: Page) -> Any:
    return page.get_by_role("region", name="Testby vårdcentral")


def waiting_in_widget(page: Page) -> str:
    """Erik logs in in the widget and sends his sore-throat case; the reload shows the waiting room."""
    login(page)
    case = str(page.evaluate(WIDGET_CASE_JS))
    page.reload()
    expect(page.get_by_role("heading", name="Du är i kön")).to_be_visible()
    return case


def test_the_supervisor_sees_the_queue_and_steers_the_waiting_room(
    open_page: Opener, people: Callable[[str], Citizen]
) -> None:
    maja = people(GUARDIAN)
    chat_case = maja.submit()
    nurse = console(open_page)
    claim_next(nurse)
    expect(tab(nurse, "Maja")).to_be_visible()
    erik = open_page("/chat/", name="citizen")
    waiting = waiting_in_widget(erik)

    boss = supervisor(open_page)
    board = unit(boss)
    expect(board.locator(f'table.cases tr[data-case="{waiting}"]')).to_contain_text("Ont i halsen")
    expect(board.locator('table.queues tr[data-skill="nurse"] .depth')).to_have_text("1")
    expect(board.locator('table.staff tr[data-staff="nurse-1"]')).to_contain_text("Tillgänglig")
    expect(board.locator('table.staff tr[data-staff="nurse-1"]')).to_contain_text(chat_case)
    expect(board.locator(f'li.chat[data-case="{chat_case}"]')).to_contain_text("Nora Nilsson")
    expect(boss.get_by_role("link", name="Statistik", exact=True)).to_have_attribute("href", "/stats/")
    expect(boss.get_by_role("link", name="Konsolen")).to_have_attribute("href", "/console/")
    unit_stats = board.get_by_role("link", name="Statistik och diagram för Testby vårdcentral")
    expect(unit_stats).to_have_attribute("href", "/stats/?unit=vc-t")
    axe_check(boss, "supervisor-board")
    screenshot(boss, "supervisor-board")

    # intake closed for an hour: Erik, waiting, reads her message
    board.get_by_label("Meddelande till invånarna").fill(BUSY)
    board.get_by_label("Stäng i").select_option("60")
    board.get_by_role("button", name="Stäng intaget").click()
    expect(board.locator(".intake-state")).to_contain_text("Intaget är stängt till kl.")
    intake = erik.locator("#unit-intake")
    expect(intake).to_contain_text(BUSY)
    expect(intake).to_contain_text("Nya ärenden tas emot igen kl.")

    # a notice to the waiting room
    board.get_by_label("Meddelande", exact=True).fill(NOTICE)
    board.get_by_role("button", name="Publicera meddelandet").click()
    expect(erik.locator("#unit-notice")).to_have_text(f"Meddelande från mottagningen: {NOTICE}")
    expect(board.locator(".notice-state")).to_contain_text(NOTICE)
    axe_check(boss, "supervisor-steering")
    screenshot(boss, "supervisor-steering")
    axe_check(erik, "widget-waiting-intake-closed")
    screenshot(erik, "widget-waiting-intake-closed")

    # opened again and the notice taken down: the waiting room is as before
    board.get_by_role("button", name="Öppna intaget igen").click()
    expect(intake).to_be_hidden()
    board.get_by_role("button", name="Ta bort meddelandet").click()
    expect(erik.locator("#unit-notice")).to_be_hidden()
    expect(board.locator(".intake-state")).to_have_text("Intaget är öppet.")


def test_a_chat_moved_by_the_supervisor_leaves_one_console_for_the_other(
    open_page: Opener, people: Callable[[str], Citizen]
) -> None:
    maja = people(GUARDIAN)
    case = maja.submit()
    nora = console(open_page)
    claim_next(nora)
    expect(tab(nora, "Maja")).to_be_visible()
    maja.join(case)
    olle = console(open_page, "nurse-2", name="olle")
    expect(nora.locator("#supervisor-link")).to_have_count(0)  # a nurse has no supervisor link

    boss = supervisor(open_page)
    chat = unit(boss).locator(f'li.chat[data-case="{case}"]')
    expect(chat.get_by_label("Ge till")).to_be_visible(timeout=15_000)  # Olle online: he can take it
    chat.get_by_label("Ge till").select_option("nurse-2")
    chat.get_by_role("button", name="Flytta chatten").click()
    expect(tab(olle, "Maja")).to_be_visible()
    expect(tab(nora, "Maja")).to_have_count(0)
    expect(unit(boss).locator(f'li.chat[data-case="{case}"]')).to_contain_text("Olle Ek")
    screenshot(boss, "supervisor-reassigned")
    maja.say(case, "Hej igen")
    expect(olle.get_by_role("tabpanel")).to_contain_text("Hej igen")


def test_the_console_links_a_supervisor_to_the_supervisor_view(open_page: Opener) -> None:
    page = open_page("/console/", name="console")
    staff_login(page, "super-vc")
    link = page.get_by_role("link", name="Arbetsledning")
    expect(link).to_have_attribute("href", "/supervisor/")
    link.click()
    expect(page.get_by_role("heading", name="Arbetsledning", level=1)).to_be_visible()  # the same login


def test_a_nurse_is_told_the_view_is_for_supervisors(open_page: Opener) -> None:
    page = open_page("/supervisor/", name="nurse")
    staff_login(page, "nurse-1")
    expect(page.get_by_role("alert")).to_contain_text("inte rollen arbetsledare")
    axe_check(page, "supervisor-not-supervisor")


# -- two server processes on one Redis ------------------------------------------------------------


@pytest.fixture
def second_server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, DIREKT_POSITION_INTERVAL_SECONDS="0.5")
    yield process
    process.stop()


def test_intake_closed_on_one_process_is_live_on_the_other(
    open_page: Opener, browser: Any, second_server: ServerProcess
) -> None:
    """Siv works on process A; Maja waits and Erik arrives on process B."""
    contexts = [
        browser.new_context(base_url=second_server.base, locale="sv-SE", timezone_id="Europe/Stockholm")
        for _ in range(2)
    ]
    bg = Background()

    async def arrive() -> ApiError | str:
        arriving = await citizen(second_server.base, GUARDIAN)
        try:
            return await waiting_case(arriving)
        except ApiError as refused:
            return refused
        finally:
            await arriving.aclose()

    try:
        bg.run(arrive())  # Maja's case waits; her browser on process B finds it
        maja = contexts[0].new_page()
        maja.goto("/chat/")
        citizen_login(maja, GUARDIAN)
        expect(maja.get_by_role("heading", name="Du är i kön")).to_be_visible()

        boss = supervisor(open_page)
        board = unit(boss)
        board.get_by_label("Meddelande till invånarna").fill(BUSY)
        board.get_by_role("button", name="Stäng intaget").click()
        expect(board.locator(".intake-state")).to_contain_text("Intaget är stängt")
        expect(maja.locator("#unit-intake")).to_contain_text(BUSY)  # told through process B

        refusal = bg.run(arrive())
        assert isinstance(refusal, ApiError) and (refusal.status, refusal.code) == (409, "intake_closed")
        assert refusal.text is not None and BUSY in refusal.text["sv"]

        # Erik arrives in the browser on process B: his case is refused with her message
        erik = contexts[1].new_page()
        erik.goto("/chat/")
        login(erik)
        sore_throat(erik)
        erik.get_by_role("button", name="Skicka till väntrummet").click()
        refused_text = erik.get_by_role("alert")
        expect(refused_text).to_contain_text(BUSY)
        expect(refused_text).to_contain_text("Mottagningen tar emot nya ärenden igen kl.")
        axe_check(erik, "widget-intake-closed")
        screenshot(erik, "widget-intake-closed")

        board.get_by_role("button", name="Öppna intaget igen").click()
        expect(maja.locator("#unit-intake")).to_be_hidden()
        erik.get_by_role("button", name="Skicka till väntrummet").click()  # process B takes cases again
        expect(erik.get_by_role("heading", name="Du är i kön")).to_be_visible()
    finally:
        bg.stop()
        for context in contexts:
            context.close()


def test_a_closure_day_added_on_the_board_is_live_and_can_be_taken_back(open_page: Opener) -> None:
    """The form posts to the administration's closure-day endpoint; the board reads the unit's
    hours from the live configuration, so the day shows once it is in force."""
    day = (dt.datetime.now(ZoneInfo("Europe/Stockholm")).date() + dt.timedelta(days=20)).isoformat()
    boss = supervisor(open_page)
    board = unit(boss)
    expect(board.get_by_text("Inga extra stängda dagar.")).to_be_visible()
    board.get_by_label("Stängd dag").fill(day)
    board.get_by_role("button", name="Lägg till stängd dag").click()
    expect(board.locator(f'ul.closure-days li[data-date="{day}"]')).to_be_visible()
    axe_check(boss, "supervisor-closure-day")
    board.get_by_role("button", name=f"Ta bort {day}").click()
    expect(board.locator(f'ul.closure-days li[data-date="{day}"]')).to_have_count(0)
    expect(board.get_by_text("Inga extra stängda dagar.")).to_be_visible()
