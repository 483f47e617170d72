"""The waiting room's information (issue 20, point 9), on a region where the
citizen's own health centre is closed and a neighbouring one opens in two days:
who answers instead, when a unit opens, a plain word when no one is logged in to
answer the queue, and the estimate as a range.

The region is the hub test region with other opening hours, served by its own
``direkt serve`` for this module.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from support import HUB_CONFIG, ServerProcess, short_tmpdir
from support_browser import WIDGET_CASE_JS, Background, axe_check, claim_next, console, login, screenshot
from support_hub import GUARDIAN, LOVA, citizen, waiting_case

from direkt.server.redis.embedded import EmbeddedRedis

Opener = Callable[..., Page]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = 'hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }'


def closed_days_region() -> Path:
    """Testby vårdcentral opens in five days, after a case's three-day deadline, so 1177 Test answers
    for it; Annanby opens in two days, and has no one to send cases to."""
    text = HUB_CONFIG.read_text(encoding="utf-8")
    units = text.split("[[units]]")
    today = dt.datetime.now(ZoneInfo("Europe/Stockholm")).weekday()
    in_two_days, in_five_days = WEEKDAYS[(today + 2) % 7], WEEKDAYS[(today + 5) % 7]
    for n, unit in enumerate(units):
        if 'id = "vc-t"' in unit:
            units[n] = unit.replace(ALWAYS, f'hours = {{ {in_five_days} = "08:00-16:00" }}\nfallback = ["1177-t"]')
        elif 'id = "vc-other"' in unit:
            units[n] = unit.replace(ALWAYS, f'hours = {{ {in_two_days} = "08:00-16:00" }}')
    path = short_tmpdir("dk-region-") / "closed_days.toml"
    path.write_text("[[units]]".join(units), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, config=closed_days_region(), DIREKT_POSITION_INTERVAL_SECONDS="0.5")
    yield process
    process.stop()


def wait_in_widget(page: Page, unit: str = "") -> None:
    """Erik's sore-throat case through the widget's API (from a clinic's page with ``unit``)."""
    script = WIDGET_CASE_JS.replace(
        "{triage: view.id}", f'{{triage: view.id, unit: "{unit}"}}' if unit else "{triage: view.id}"
    )
    page.evaluate(script)
    page.reload()
    expect(page.get_by_role("heading", name="Du är i kön")).to_be_visible()


def others_waiting(base: str, *pnrs: str) -> None:
    async def submit() -> None:
        for pnr in pnrs:
            who = await citizen(base, pnr)
            try:
                await waiting_case(who)
            finally:
                await who.aclose()

    bg = Background()
    try:
        bg.run(submit(), 30)
    finally:
        bg.stop()


def estimate(page: Page) -> object:
    return page.locator("#estimate")


def test_own_centre_closed_says_who_answers_and_whether_anyone_is_there(
    open_page: Opener, server: ServerProcess
) -> None:
    others_waiting(server.base, GUARDIAN, LOVA)
    erik = open_page("/chat/", name="citizen")
    login(erik)
    wait_in_widget(erik)
    main = erik.locator("main")
    expect(main).to_contain_text("Testby vårdcentral har stängt just nu. 1177 Test svarar i stället.")
    expect(erik.get_by_text("Plats 3 av 3", exact=True)).to_be_visible()
    # no one logged in who answers 1177 Test's nurse queue: said plainly, and no made-up estimate
    nobody = erik.locator("#wait-notice")
    expect(nobody).to_have_text(re.compile("^Just nu finns ingen från 1177 Test på plats för att svara i den här kön."))
    expect(estimate(erik)).to_have_text("Ingen väntetid kan beräknas förrän någon svarar i kön.")
    axe_check(erik, "widget-waiting-unstaffed")
    screenshot(erik, "widget-waiting-unstaffed")

    # a nurse of 1177 Test logs in: the notice goes; with two cases taken, the estimate is a range
    nurse = console(open_page)
    expect(nobody).to_be_hidden(timeout=15_000)
    expect(estimate(erik)).to_have_text("Vi kan inte uppskatta väntetiden just nu")
    claim_next(nurse)
    expect(erik.get_by_text("Plats 2 av 2", exact=True)).to_be_visible()
    claim_next(nurse)
    expect(erik.get_by_text("Plats 1 av 1", exact=True)).to_be_visible()
    expect(estimate(erik)).to_have_text(re.compile(r"^Beräknad väntetid: (\d+–\d+ min|\d+ (min|h).* – \d+ (min|h).*)$"))
    axe_check(erik, "widget-waiting-range")
    screenshot(erik, "widget-waiting-range")


def test_a_closed_unit_says_when_it_opens(open_page: Opener) -> None:
    erik = open_page("/chat/?unit=vc-other", name="citizen")
    login(erik)
    wait_in_widget(erik, "vc-other")
    expect(estimate(erik)).to_have_text(
        re.compile(
            r"^Annanby vårdcentral har stängt just nu och öppnar .+ kl 08:00\. Du står kvar på din plats i kön\.$"
        )
    )
    expect(erik.locator("#wait-notice")).to_be_hidden()  # closed, not "no one logged in"
    expect(erik.locator("main")).not_to_contain_text("Beräknad väntetid")
    axe_check(erik, "widget-waiting-closed")
    screenshot(erik, "widget-waiting-closed")
