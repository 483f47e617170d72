"""The statistics page (client-demo/stats/) against a real server: a supervisor logs in and sees
the figures of a small shift, in key figures, charts and their tables; filters by unit and
grouping; a nurse without the role is told she may not; axe-core on every screen.

The small shift is scripted from Python: Erik and Maja (for Elsa) submit, Nora claims Erik's
case, writes and closes it with self-care advice; Maja withdraws Elsa's case before contact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import CHILD_FEVER, Citizen, axe_check, screenshot, staff_login
from support_hub import ELSA, ERIK, GUARDIAN, staff

STATS = "/stats/"


def small_shift(server: ServerProcess, people: Callable[[str], Citizen]) -> None:
    erik, maja = people(ERIK), people(GUARDIAN)
    bg = erik.bg  # the citizens' event loop: Nora's client lives there too
    eriks = erik.submit()
    elsas = maja.submit(CHILD_FEVER, child=ELSA, chat_anyway=True)
    erik.join(eriks)

    async def nora() -> None:
        client = await staff(server.base, "nurse-1")
        sock = await client.socket()
        try:
            claimed = await sock.request({"t": "claim", "case": eriks}, "claimed")
            assert claimed["t"] == "claimed", claimed
            assert (await sock.request({"t": "join", "case": eriks}, "case"))["t"] == "case"
            ack = await sock.request({"t": "send", "case": eriks, "cid": "n-1", "text": "Hej Erik!"}, "ack")
            assert ack["t"] == "ack", ack
            done = await sock.request({"t": "close", "case": eriks, "outcome": "self_care_advice"}, "done")
            assert done["t"] == "done", done
        finally:
            await sock.close()
            await client.aclose()

    bg.run(nora())

    async def withdraw() -> Any:
        return await maja.client.call("POST", f"/api/cases/{elsas}/abandon")

    bg.run(withdraw())


def figure(page: Page, name: str) -> Any:
    return page.locator(f'[data-figure="{name}"] dd')


def test_a_supervisor_sees_the_figures_of_a_small_shift(
    open_page: Callable[..., Page], server: ServerProcess, people: Callable[[str], Citizen]
) -> None:
    small_shift(server, people)
    page = open_page(STATS, name="supervisor")
    expect(page.get_by_role("heading", name="Logga in för statistik")).to_be_visible()
    expect(page.get_by_label("Användarnamn")).to_be_focused()
    axe_check(page, "stats-login")
    staff_login(page, "stats-chef")
    expect(page.get_by_role("heading", name="Statistik", exact=True)).to_be_visible()
    expect(figure(page, "arrived")).to_have_text("2")
    expect(figure(page, "contacts")).to_have_text("1")
    expect(figure(page, "abandoned")).to_have_text("1 (varav före kontakt 1)")
    expect(figure(page, "transferred")).to_have_text("0")
    expect(figure(page, "same_day")).to_have_text("100 % (1 i tid, 0 för sent)")
    expect(figure(page, "assessment")).to_have_text("100 % (1 i tid, 0 för sent)")
    expect(page.get_by_role("banner")).to_contain_text("Stina Chef")

    # the units side by side: Erik's and Elsa's cases both waited at Testby vårdcentral
    per_unit = page.get_by_role("table", name="Per enhet")
    expect(per_unit.get_by_role("row", name="Testby vårdcentral")).to_contain_text("100 %")
    expect(per_unit.locator("tbody tr")).to_have_count(1)

    # the hourly chart has its table: 24 rows, two cases received in one of them
    series = page.get_by_role("table", name="Inkomna och avslutade ärenden per timme")
    expect(series.locator("tbody tr")).to_have_count(24)
    received = [int(x) for x in series.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    assert sum(received) == 2 and max(received) >= 1
    expect(page.locator("#series svg.chart rect.bar")).to_have_count(72)  # 24 hours x 3 series
    outcomes = page.get_by_role("table", name="Kontakter efter utfall")
    expect(outcomes.get_by_role("row", name="Egenvårdsråd 1")).to_be_visible()
    staff_table = page.get_by_role("table", name="Chattar per medarbetare")
    expect(staff_table.get_by_role("row", name="Nora Nilsson")).to_contain_text("1")
    reasons = page.get_by_role("table", name="Inkomna efter kontaktorsak")
    expect(reasons.get_by_role("row", name="Ont i halsen 1")).to_be_visible()
    axe_check(page, "stats-page")
    screenshot(page, "stats-page")

    # filters: one unit, by day; the address follows
    page.get_by_label("Enhet").select_option("1177-t")
    page.get_by_label("Indelning").select_option("day")
    page.get_by_role("button", name="Visa").click()
    expect(page.get_by_text("Visar 1177 Test")).to_be_visible()
    expect(figure(page, "arrived")).to_have_text("0")
    expect(page.get_by_text("Inga ärenden under perioden.")).to_be_visible()
    assert "unit=1177-t" in page.url and "by=day" in page.url
    expect(page.get_by_role("table", name="Inkomna och avslutade ärenden per dag").locator("tbody tr")).to_have_count(1)
    axe_check(page, "stats-page-unit")

    # English
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Statistics", exact=True)).to_be_visible()
    expect(page.get_by_text("Cases received", exact=True)).to_be_visible()


def test_a_nurse_is_told_she_may_not(open_page: Callable[..., Page]) -> None:
    page = open_page(STATS, name="nurse")
    staff_login(page, "nurse-1")
    expect(page.get_by_text("Du har inte behörighet att se den här statistiken.")).to_be_visible()
    axe_check(page, "stats-forbidden")
