"""A nurse's chat that ends in a booked video visit (issue 24), against a real server: Erik in the
widget, the nurse in the console. She opens "Boka", sees the free times of her unit's nurse video
visits by day, books one 5-10 minutes ahead; Erik's chat shows the booking; she closes the case as visit
booked, naming the booking. At the visit's time (an extra session of 5-minute slots from
the test's start: the time booked is within ten minutes) she opens it from "Dagens besök": the
visit's own chat opens, held by her, and she proposes video. One server and one browser.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess, short_tmpdir
from support_browser import axe_check, claim_next, console, login, screenshot, widget_waiting

from direkt.server.redis.embedded import EmbeddedRedis

Opener = Callable[..., Page]
STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")  # fmt: skip
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# nurse-1's own weekly video hours fall three days after the visit's: her extra session (the visit's
# window, any time of day) must never overlap them, or the server refuses the schedule at start
# (a weekday 08:00-10:00 did, every morning from 07:20).
NURSE_VIDEO = """
[[schedule]]
unit = "vc-t"
profession = "nurse"
mode = "video"
hours = {{ {day} = "08:00-10:00" }}
slot_minutes = 20
staff = "nurse-1"
"""
SCHEDULES = """
[[schedule]]
unit = "vc-t"
profession = "nurse"
mode = "physical"
hours = { mon-fri = "13:00-15:00" }
slot_minutes = 30

[[schedule]]
unit = "vc-t"
profession = "doctor"
mode = "physical"
hours = { mon-fri = "08:00-16:00" }
slot_minutes = 30
"""


def visit_time() -> dt.datetime:
    """The time the nurse books (Stockholm wall time): 5 to 10 minutes ahead, on a 5-minute step. It is
    still ahead when she books (she has five minutes) and can be opened at once (ten minutes before).
    Late in the evening it may be after midnight: the test finds it by its day, not by "today"."""
    now = dt.datetime.now(STOCKHOLM).replace(second=0, microsecond=0, tzinfo=None)
    return now - dt.timedelta(minutes=now.minute % 5) + dt.timedelta(minutes=10)


def extra_sessions(start: dt.datetime, minutes: int = 30) -> str:
    """Extra nurse video sessions from ``start`` on, in 5-minute slots (split at midnight)."""
    starts = [start + dt.timedelta(minutes=m) for m in range(0, minutes, 5)]
    days: dict[dt.date, list[dt.datetime]] = {}
    for slot in starts:
        days.setdefault(slot.date(), []).append(slot)
    out = []
    for day, slots in days.items():
        last = slots[-1] + dt.timedelta(minutes=5)
        end = "24:00" if last.date() != day else f"{last:%H:%M}"
        out.append(f'[[extra]]\nunit = "vc-t"\nprofession = "nurse"\nmode = "video"\ndate = {day.isoformat()}\n'
                   f'times = "{slots[0]:%H:%M}-{end}"\nslot_minutes = 5\nstaff = "nurse-1"\n')  # fmt: skip
    return "\n".join(out)


@pytest.fixture(scope="module")
def visit_at() -> dt.datetime:
    return visit_time()


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, visit_at: dt.datetime) -> Iterator[ServerProcess]:
    path = short_tmpdir("dk-bkb-") / "schedules.toml"
    own_day = WEEKDAYS[(visit_at.weekday() + 3) % 7]
    path.write_text(NURSE_VIDEO.format(day=own_day) + SCHEDULES + extra_sessions(visit_at))
    process = ServerProcess(standalone_redis.url, DIREKT_POSITION_INTERVAL_SECONDS="0.5", DIREKT_SCHEDULES=str(path))
    yield process
    process.stop()


def no_violations(page: Page, name: str) -> None:
    assert axe_check(page, name) == [], f"axe: violations on {name}, see var/axe/{name}.json"


def test_a_chat_ends_in_a_booked_video_visit_the_nurse_opens_at_its_time(
    open_page: Opener, visit_at: dt.datetime
) -> None:
    citizen = open_page("/chat/", name="citizen")
    login(citizen)
    case = widget_waiting(citizen)
    nurse = console(open_page)
    claim_next(nurse)
    expect(citizen.get_by_role("alert").filter(has_text="Din chatt är redo")).to_be_visible()
    panel = nurse.get_by_role("tabpanel")

    # "Boka": the patient's home unit, nurse, video; the free times by day
    book = panel.get_by_role("button", name="Boka", exact=True)
    book.click()
    dialog = nurse.get_by_role("dialog", name="Boka besök")
    unit = dialog.get_by_label("Mottagning", exact=True)
    expect(unit).to_be_focused()
    expect(unit.locator("option:checked")).to_have_text("Testby vårdcentral")
    expect(dialog.get_by_label("Yrke")).to_have_value("nurse")
    expect(dialog.get_by_role("radio", name="Videobesök")).to_be_checked()
    expect(dialog.get_by_role("status")).to_have_text(re.compile(r"^\d+ lediga tider de närmaste 7 dagarna\.$"))
    month = MONTHS[visit_at.month - 1]
    name = re.compile(rf"^Boka {visit_at:%H:%M}, \S+ {visit_at.day} {month}$")
    day = dialog.locator(".bk-day").filter(has=nurse.get_by_role("button", name=name))
    first = day.get_by_role("button", name=name)
    expect(day.get_by_role("heading")).to_contain_text(f"{visit_at.day} {month}")  # listed under its own day
    no_violations(nurse, "console-booking")
    screenshot(nurse, "console-booking")

    # the nearest time, confirmed: the chat and Erik's widget show the booking
    time = first.inner_text()
    first.click()
    expect(dialog.locator("#bk-summary")).to_contain_text("videobesök hos sjuksköterska på Testby vårdcentral")
    dialog.get_by_role("button", name="Boka tiden").click()
    done = dialog.locator("#bk-done")
    expect(done).to_be_focused()
    expect(done).to_contain_text(f"kl. {time}")
    no_violations(nurse, "console-booking-done")
    nurse.keyboard.press("Escape")
    expect(book).to_be_focused()
    expect(panel.get_by_role("log")).to_contain_text("Du har fått en tid: videobesök hos sjuksköterska")
    expect(citizen.get_by_role("log", name="Meddelanden")).to_contain_text(
        re.compile(rf"Du har fått en tid: videobesök hos sjuksköterska på Testby vårdcentral, \S+ \d+ \S+ kl\. {time}")
    )
    screenshot(nurse, "console-chat-booked")

    # closed as visit booked, naming the booking
    book.click()
    expect(done).to_be_visible()
    dialog.get_by_label("Journalanteckning").fill("Halsont, bokad videouppföljning.")
    dialog.get_by_role("button", name="Avsluta chatten").click()
    expect(nurse.get_by_role("tab")).to_have_count(0)
    expect(citizen.get_by_role("heading", name="Chatten är avslutad")).to_be_visible()
    screenshot(citizen, "widget-chat-booked")
    status = citizen.evaluate("id => direkt.api.call('GET', `/api/cases/${id}`)", case)
    [booking] = citizen.evaluate("() => direkt.api.call('GET', '/api/bookings')")["bookings"]
    assert (status["outcome"], status["booking"]) == ("visit_booked", booking["id"])
    assert booking["can_open"] is True

    # at its time: "Dagens besök" lists it with "Öppna"; the visit's chat opens and she proposes video
    visits = nurse.get_by_role("button", name="Dagens besök")
    visits.click()
    mine = nurse.get_by_role("dialog", name=re.compile("^Mina besök"))
    row = mine.get_by_role("listitem").filter(has_text=time)
    expect(row).to_contain_text("Erik")
    open_visit = row.get_by_role("button", name="Öppna")
    expect(open_visit).to_be_focused()
    no_violations(nurse, "console-visits-today")
    open_visit.click()
    expect(mine).to_be_hidden()
    expect(nurse.get_by_role("tab")).to_have_count(1)
    panel.get_by_role("button", name="Videosamtal").click()
    expect(panel).to_contain_text("Patienten får frågan och måste svara innan kamera och mikrofon startar.")
    no_violations(nurse, "console-visit-call")
    visit = citizen.evaluate("id => direkt.api.call('GET', `/api/bookings/${id}`)", booking["id"])
    assert visit["visit_case"] and visit["visit_case"] != case
