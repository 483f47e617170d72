"""A citizen books her vaccination herself in the widget (client-demo/chat/vaccination.js), downloads
the calendar file, then through the administrative entry rebooks and cancels it (chat/booking.js):
one server of the demo region (its catalogue and booking schedules), one browser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import Citizen, axe_check, citizen_login, screenshot
from support_hub import ERIK, staff

from direkt.loadtests.client import JSON
from direkt.server.redis.embedded import EmbeddedRedis

DEMO_REGION = Path(__file__).parents[2] / "server" / "data" / "region.toml"
MAJA = "198105102381"  # guardian of Elsa (born 2018)
GOSTA = "194101012393"  # 85: pneumococcal vaccination is recommended for him, all year
# Pneumococcus is given all year: what these tests see does not depend on today's date (the season
# of influenza and covid-19 is tested in tests/unit/test_vaccination.py and tests/hub/test_http_vaccination.py).


# The demo's vaccination sessions (Västerås and Uppsala), and video visits with Erik's nurse every five
# minutes all day, every day: the first free one starts within minutes, so it can be opened now.
SCHEDULES = """
[[schedule]]
unit = "vacc-vm"
profession = "vaccination"
mode = "physical"
hours = { mon-fri = "08:00-12:00, 13:00-16:00" }
slot_minutes = 10

[[schedule]]
unit = "vacc-up"
profession = "vaccination"
mode = "physical"
hours = { mon-fri = "08:30-15:30", sat = "10:00-13:00" }
slot_minutes = 10

[[schedule]]
unit = "vc-viksang"
profession = "nurse"
mode = "video"
hours = { daily = "00:00-23:55", holidays = "00:00-23:55" }
slot_minutes = 5
staff = "cecilia.berg"
"""


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    schedules = tmp_path_factory.mktemp("schedules") / "schedules.toml"
    schedules.write_text(SCHEDULES)
    process = ServerProcess(standalone_redis.url, config=DEMO_REGION, DIREKT_SCHEDULES=str(schedules))
    yield process
    process.stop()


def test_a_guardian_books_tbe_for_her_child(open_page: Any) -> None:
    page = open_page("/chat/", name="maja-vaccination")
    citizen_login(page, MAJA)
    page.get_by_label(re.compile(r"^Elsa .*, \d+ år$")).check()
    page.get_by_role("button", name="Vaccination", exact=True).click()
    page.get_by_label("Vaccination", exact=True).check()
    next_question(page, 2)
    expect(page.get_by_text("Vilken vaccination gäller det för Elsa?")).to_be_visible()  # the guardian form
    page.get_by_label("TBE (fästingburen hjärninflammation)", exact=True).check()
    next_question(page, 3)
    page.get_by_label("Nej", exact=True).check()
    next_question(page, 4)
    expect(page.get_by_text("Är Elsa sjuk med feber just nu?")).to_be_visible()
    page.get_by_label("Nej", exact=True).check()
    next_question(page, 5)
    page.get_by_label("Inget av detta", exact=True).check()
    next_question(page, 6)
    page.get_by_role("button", name="Nästa").click()
    offer = page.locator(".vaccination-offer")
    expect(offer).to_contain_text("Du kan boka en tid för barnets vaccination mot TBE själv.")
    offer.get_by_role("button", name="Boka tid själv").click()
    expect(page.get_by_role("heading", name="Boka vaccination mot TBE för Elsa")).to_be_focused()
    page.locator(".vacc-unit").first.locator(".slot label").first.click()
    page.get_by_role("button", name="Boka vald tid").click()
    expect(page.get_by_role("heading", name="Din tid är bokad")).to_be_focused()
    [booked] = bookings(page)
    assert booked["vaccine"] == "tbe" and booked["patient_name"].startswith("Elsa")
    page.request.delete(f"/api/bookings/{booked['id']}")


def next_question(page: Page, number: int) -> None:
    page.get_by_role("button", name="Nästa").click()
    expect(page.get_by_text(f"Fråga {number}", exact=True)).to_be_visible()


def vaccination_triage(page: Page, vaccine: str = "Pneumokocker") -> None:
    page.get_by_role("button", name="Vaccination", exact=True).click()
    expect(page.get_by_text("Fråga 1", exact=True)).to_be_visible()
    page.get_by_label("Vaccination", exact=True).check()
    next_question(page, 2)
    page.get_by_label(vaccine, exact=True).check()
    next_question(page, 3)
    page.get_by_label("Nej", exact=True).check()  # no severe reaction before
    next_question(page, 4)
    page.get_by_label("Nej", exact=True).check()  # no fever
    next_question(page, 5)
    page.get_by_label("Inget av detta", exact=True).check()
    next_question(page, 6)
    page.get_by_role("button", name="Nästa").click()  # nothing to add


def slot_is_free(page: Page, booking: dict[str, Any]) -> bool:
    """Ask the booking API (with the citizen's session) whether the booking's old time is free again."""
    query = f"unit={booking['unit']}&profession=vaccination&mode=physical&from={booking['start_ms'] - 60_000}&days=1"
    answer = page.request.get(f"/api/slots?{query}")
    assert answer.ok, answer.text()
    return booking["start_ms"] in [s["start_ms"] for s in answer.json()["slots"]]


def bookings(page: Page) -> list[dict[str, Any]]:
    answer = page.request.get("/api/bookings")
    assert answer.ok, answer.text()
    return [b for b in answer.json()["bookings"] if b["status"] == "booked"]


def test_book_download_rebook_and_cancel_a_vaccination(open_page: Any) -> None:
    page = open_page("/chat/", name="gosta")
    citizen_login(page, GOSTA)
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_visible()
    vaccination_triage(page)

    # the result offers booking oneself beside the questions for a person
    offer = page.locator(".vaccination-offer")
    expect(offer).to_be_visible()
    expect(page.get_by_role("heading", name="Vår bedömning")).to_be_focused()  # kept when the offer arrives
    expect(offer.get_by_role("heading", name="Boka tid själv")).to_be_visible()
    expect(offer).to_contain_text("Du kan boka en tid för vaccination mot pneumokocker själv.")
    expect(page.get_by_role("button", name="Jag har frågor – skicka till vaccinationsmottagningen")).to_be_visible()
    assert axe_check(page, "widget-vaccination-offer") == []
    offer.get_by_role("button", name="Boka tid själv").click()

    # the nearest units with their free times by day; choose the first time
    expect(page.get_by_role("heading", name="Boka vaccination mot pneumokocker")).to_be_focused()
    expect(page.get_by_label("Var vill du vaccinera dig? Välj kommun")).to_have_value("Uppsala")
    times = page.locator(".vacc-unit").first.locator("input[type=radio]")
    times.first.focus()  # by keyboard: the arrow keys move through a day's times and choose one
    page.keyboard.press("ArrowRight")
    expect(times.nth(1)).to_be_checked()
    expect(times.nth(1)).to_be_focused()  # the re-rendered screen keeps the focus on the chosen time
    expect(page.locator(".vacc-chosen")).to_contain_text("Vald tid:")
    assert axe_check(page, "widget-vaccination-booking") == []
    screenshot(page, "widget-vaccination-booking")
    page.get_by_role("button", name="Boka vald tid").click()

    # the confirmation: the booking card and its calendar file
    expect(page.get_by_role("heading", name="Din tid är bokad")).to_be_focused()
    card = page.locator(".booking-card")
    expect(card).to_contain_text("Vaccination: pneumokocker")
    expect(card).to_contain_text("På plats")
    expect(card.locator(".booking-address")).not_to_have_text("…")
    assert axe_check(page, "widget-vaccination-booked") == []
    with page.expect_download() as download:
        card.get_by_role("link", name="Spara i kalendern (.ics)").click()
    ics = Path(download.value.path()).read_text()
    assert "BEGIN:VCALENDAR" in ics and "BEGIN:VEVENT" in ics and "DTSTART" in ics
    [first] = bookings(page)
    assert first["vaccine"] == "pneumococcus" and first["booked_by"] == "self"
    assert not slot_is_free(page, first)

    # through the administrative entry: My bookings
    page.get_by_role("button", name="Klar – till start").click()
    page.get_by_role("button", name="Mina bokade tider – avboka eller boka om").click()
    expect(page.get_by_role("heading", name="Mina bokade tider")).to_be_focused()
    expect(page.locator(".bookings .booking-card")).to_have_count(1)
    assert axe_check(page, "widget-my-bookings") == []
    screenshot(page, "widget-my-bookings")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()
    expect(page.locator(".booking-card")).to_contain_text("Vaccination: pneumococcus")
    expect(page.get_by_role("button", name="Rebook:")).to_be_visible()
    page.get_by_role("button", name="Svenska").click()

    # rebook: a new free time of the same unit; the old time is free again
    page.get_by_role("button", name="Boka om:").click()
    form = page.locator("form.rebook")
    expect(form.get_by_role("heading", name="Välj en ny tid")).to_be_visible()
    form.locator(".slot label").first.click()
    assert axe_check(page, "widget-my-bookings-rebook") == []
    form.get_by_role("button", name="Boka den nya tiden").click()
    expect(page.get_by_text("Din nya tid:")).to_be_visible()
    [moved] = bookings(page)
    assert moved["id"] == first["id"] and moved["start_ms"] != first["start_ms"]
    assert slot_is_free(page, first)

    # cancel, after a confirmation: the time is free again
    page.get_by_role("button", name="Avboka:").click()
    expect(page.get_by_role("button", name="Ja, avboka")).to_be_focused()
    assert axe_check(page, "widget-my-bookings-cancel") == []
    page.get_by_role("button", name="Ja, avboka").click()
    expect(page.get_by_text("Du har inga kommande bokade tider.")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="är avbokad")).to_be_visible()
    assert bookings(page) == []
    assert slot_is_free(page, moved)


def test_a_video_visit_booked_in_the_chat_shows_as_a_card_and_opens_at_its_time(
    open_page: Any, server: ServerProcess, people: Callable[[str], Citizen]
) -> None:
    erik = people(ERIK)
    case = erik.submit()  # sore throat: the nurses of his health centre, vc-viksang
    nurse = erik.bg.run(staff(server.base, "cecilia.berg"))
    sock = erik.bg.run(nurse.socket(JSON))
    try:
        claimed = erik.bg.run(sock.request({"t": "claim", "case": case}, "claimed"))
        assert claimed["t"] == "claimed", claimed
        page = open_page("/chat/", name="erik")
        citizen_login(page, ERIK)
        expect(page.locator("#log")).to_be_visible()

        free = erik.bg.run(nurse.call("GET", "/api/slots?unit=vc-viksang&profession=nurse&mode=video&days=14"))
        body = {"unit": "vc-viksang", "profession": "nurse", "mode": "video", "start_ms": free["slots"][0]["start_ms"]}
        booked = erik.bg.run(nurse.call("POST", f"/api/staff/cases/{case}/bookings", body))["booking"]

        card = page.locator(".msg.system .booking-card")
        expect(card).to_contain_text("Videobesök")
        expect(card).to_contain_text("Viksängs vårdcentral")
        expect(card.locator(".booking-mode")).to_have_text("Video")
        link = card.get_by_role("link", name="Spara i kalendern (.ics)")
        expect(link).to_have_attribute("href", f"/api/bookings/{booked['id']}/calendar.ics")
        expect(card.get_by_role("button", name="Öppna videobesöket")).to_be_visible()  # within its window
        assert axe_check(page, "widget-chat-booking") == []

        # as the booking message promises, the visit opens from the chat's card too (a second tab)
        tab = open_page("/chat/", name="erik-card")
        citizen_login(tab, ERIK)
        tab.locator(".msg.system .booking-card").get_by_role("button", name="Öppna videobesöket").click()
        expect(tab.locator("#chat-heading")).to_be_visible()
        expect(tab.locator(".msg.system .booking-card")).to_have_count(0)  # the visit's own chat, not the old one
        from_card = tab.evaluate("() => window.direkt.app.screen.caseId")
        assert from_card != case

        # the nurse closes with the booked video visit; at its time Erik opens it from My bookings
        close = {"outcome": "video_consultation", "note": "Videobesök bokat.", "booking": booked["id"]}
        erik.bg.run(nurse.call("POST", f"/api/staff/cases/{case}/close", close))
        page.get_by_role("button", name="Ny kontakt").click()
        page.get_by_role("button", name="Mina bokade tider – avboka eller boka om").click()
        page.get_by_role("button", name="Öppna videobesöket").click()
        expect(page.locator("#chat-heading")).to_be_visible()
        visit = page.evaluate("() => window.direkt.app.screen.caseId")
        assert visit == from_card  # one visit, from the card or from My bookings
        assert erik.bg.run(erik.client.call("GET", f"/api/bookings/{booked['id']}"))["visit_case"] == visit
    finally:
        erik.bg.run(sock.close())
        erik.bg.run(nurse.aclose())


def test_who_may_not_book_herself_reads_why_and_joins_the_vaccination_queue(open_page: Any) -> None:
    page = open_page("/chat/", name="erik-vaccination")
    citizen_login(page, ERIK)  # 35, no risk group the questions show: pneumococcus is for a person to discuss
    expect(page.get_by_role("heading", name="Vad gäller det?")).to_be_visible()
    vaccination_triage(page)
    offer = page.locator(".vaccination-offer")
    expect(offer.get_by_role("heading", name="En person hjälper dig")).to_be_visible()
    expect(offer).to_contain_text("75 år eller äldre")
    expect(page.get_by_role("button", name="Boka tid själv")).to_have_count(0)
    assert axe_check(page, "widget-vaccination-person") == []
    page.get_by_role("button", name="Skicka till väntrummet").click()
    expect(page.get_by_role("heading", name="Du är i kön")).to_be_visible()
