"""A nurse's chat that ends in a referral (issue 24), against a real server: Erik in the widget,
the nurse in the console. She opens "Hänvisa", finds the emergency departments open now nearest
Erik's home (from his case), reads a unit's card, puts the referral message into the composer,
sends it, and closes the case as referred to that unit; Erik reads the referral and sees the chat
closed. One server (with the test referral catalogue) and one browser for the module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import axe_check, claim_next, console, login, screenshot, widget_waiting
from support_dates import SV_SHORT_DAYS, after_christmas, at, next_christmas

from direkt.server.redis.embedded import EmbeddedRedis

Opener = Callable[..., Page]
CATALOGUE = Path(__file__).parents[1] / "data" / "hub_catalogue.toml"


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(
        standalone_redis.url, DIREKT_POSITION_INTERVAL_SECONDS="0.5", DIREKT_CATALOGUE=str(CATALOGUE)
    )
    yield process
    process.stop()


def test_a_chat_ends_in_a_referral_the_citizen_reads(open_page: Opener) -> None:
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    case = widget_waiting(citizen)
    nurse = console(open_page)
    claim_next(nurse)
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()

    # the dialog starts near the patient's home (Kungsör, from his case), open units only
    refer = nurse.get_by_role("button", name="Hänvisa", exact=True)
    refer.click()
    dialog = nurse.get_by_role("dialog", name="Hänvisa till en mottagning")
    expect(dialog.get_by_label("Typ av mottagning")).to_be_focused()
    expect(dialog.get_by_label("Nära (kommun eller postnummer)")).to_have_value("Kungsör")
    expect(dialog.get_by_label("Bara öppna vid tidpunkten")).to_be_checked()
    expect(dialog.get_by_role("status")).to_contain_text("närmast först")
    expect(dialog).to_contain_text("Bara mottagningar som tar emot en patient på 35 år.")

    # at a time: on the next juldagen the health centre is closed (and opens on the first working day after)
    kinds = dialog.get_by_label("Typ av mottagning")
    expect(kinds.get_by_role("option", name="Akutmottagning", exact=True)).to_have_count(1)
    kinds.select_option(label="Vårdcentral")
    juldagen = next_christmas()
    opens = SV_SHORT_DAYS[after_christmas(juldagen).weekday()]
    dialog.get_by_label("Tidpunkt", exact=True).fill(at(juldagen))
    dialog.get_by_role("button", name="Sök", exact=True).click()
    expect(dialog.get_by_role("status")).to_have_text("Ingen mottagning passar.")
    dialog.get_by_label("Bara öppna vid tidpunkten").uncheck()
    results = dialog.get_by_role("list", name="Mottagningar").get_by_role("button")
    expect(results).to_have_count(1)
    expect(results.nth(0)).to_have_accessible_description(re.compile(rf"Kungsör · 0,1 km Stängd, öppnar {opens} 08:00"))
    dialog.get_by_label("Tidpunkt", exact=True).fill("")
    dialog.get_by_label("Bara öppna vid tidpunkten").check()

    # the emergency departments, nearest first, each open round the clock with its distance
    kinds.select_option(label="Akutmottagning")
    expect(results).to_have_count(2)
    expect(dialog.get_by_role("status")).to_have_text("2 mottagningar, närmast först.")
    expect(results.nth(0)).to_have_accessible_name("Akuten Testby")
    expect(results.nth(0)).to_have_accessible_description(
        re.compile(r"Akutmottagning · Västerås · 3\d km Öppen dygnet runt")
    )
    expect(results.nth(1)).to_have_accessible_name("Akuten Sala")
    axe_check(nurse, "console-referral")
    screenshot(nurse, "console-referral")

    # a place typed by the nurse: from Sala, Sala's emergency department comes first
    dialog.get_by_label("Nära (kommun eller postnummer)").fill("733 40")
    dialog.get_by_label("Nära (kommun eller postnummer)").press("Enter")
    expect(results.nth(0)).to_have_accessible_name("Akuten Sala")
    dialog.get_by_label("Nära (kommun eller postnummer)").fill("Kungsör")
    dialog.get_by_role("button", name="Sök", exact=True).click()
    expect(results.nth(0)).to_have_accessible_name("Akuten Testby")

    # the unit's card, and its referral message into the composer
    results.nth(0).click()
    expect(dialog.get_by_role("heading", name="Akuten Testby")).to_be_visible()
    expect(dialog.get_by_role("region", name="Akuten Testby")).to_contain_text("Sjukhusvägen 1, 721 89 Västerås")
    expect(dialog.locator("#ref-message")).to_contain_text("Jag hänvisar dig till Akuten Testby (akutmottagning).")
    axe_check(nurse, "console-referral-card")
    insert = dialog.get_by_role("button", name="Infoga hänvisningen i meddelandet")
    expect(insert).to_be_focused()
    insert.click()
    expect(dialog).to_be_hidden()
    composer = nurse.get_by_role("tabpanel").get_by_role("textbox", name="Meddelande")
    expect(composer).to_be_focused()
    expect(composer).to_have_value(re.compile(r"^Jag hänvisar dig till Akuten Testby.*Hitta hit: Ingång 1\.", re.S))
    composer.press("End")
    composer.press_sequentially(" Ta med legitimation.")
    composer.press("Enter")
    expect(composer).to_have_value("")
    expect(nurse.get_by_role("tabpanel").get_by_role("log")).to_contain_text("Telefon: 08-465 004 51")

    # Erik reads it in the widget
    log = citizen.get_by_role("log", name="Meddelanden")
    expect(log).to_contain_text("Jag hänvisar dig till Akuten Testby")
    expect(log).to_contain_text("Adress: Sjukhusvägen 1, 721 89 Västerås")
    expect(log).to_contain_text("Ta med legitimation.")
    screenshot(nurse, "console-chat-referred")

    # Escape closes the dialog, focus back on "Hänvisa"; it opens again on the unit chosen
    refer.click()
    expect(dialog.get_by_role("heading", name="Akuten Testby")).to_be_visible()
    nurse.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(refer).to_be_focused()
    refer.click()

    # closed as referred to that unit, with a journal note; Erik sees the chat closed
    dialog.get_by_label("Journalanteckning").fill("Buksmärta, hänvisad till akuten.")
    dialog.get_by_role("button", name="Avsluta: hänvisad till Akuten Testby").click()
    expect(nurse.get_by_role("tab")).to_have_count(0)
    expect(citizen.get_by_role("heading", name="Chatten är avslutad")).to_be_visible()
    chat_heading = citizen.get_by_role("heading", name=re.compile("^Chatt med Nora Nilsson"))
    expect(chat_heading).to_have_text("Chatt med Nora Nilsson, sjuksköterska, Testby vårdcentral")  # not the referral's
    expect(log).to_contain_text("Jag hänvisar dig till Akuten Testby")
    axe_check(citizen, "widget-chat-referred")
    screenshot(citizen, "widget-chat-referred")
    status = citizen.evaluate("id => direkt.api.call('GET', `/api/cases/${id}`)", case)
    assert (status["outcome"], status["referred_unit"]) == ("referred", "akut-t")
