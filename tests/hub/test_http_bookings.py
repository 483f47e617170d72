"""Booking a visit over HTTP (issue 24) against a real ``direkt serve`` and a stand-in SMS gateway:
a nurse books from the chat she holds, the citizen is told in the chat and by SMS, reads, downloads
(iCalendar), cancels and moves her booking; a video visit opens at its time as a case the booked
nurse holds. Bad input, other citizens, wrong roles and replays are refused or answered once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from support import ServerProcess, short_tmpdir, timeout
from support_hub import ERIK, GUARDIAN, SORE_THROAT, UNLISTED, audit_log, citizen, error_of, refused, staff
from support_sms import SmsReceiver, sms_receiver

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient

pytestmark = pytest.mark.slow

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PHONE = "+46701740606"
CHILD_FEVER = {"fever": True, "temperature": 38.5, "fever_days": 1}
# Round the clock, so that a slot is always near: nurse video visits in 5-minute slots with nurse-1,
# doctors' physical visits in 30-minute slots with anyone of the unit.
SCHEDULES = """
[[schedule]]
unit = "vc-t"
profession = "nurse"
mode = "video"
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }
slot_minutes = 5
staff = "nurse-1"

[[schedule]]
unit = "vc-t"
profession = "doctor"
mode = "physical"
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }
slot_minutes = 30

[[schedule]]
unit = "vc-kungsor"
profession = "nurse"
mode = "video"
hours = { daily = "00:00-24:00", holidays = "00:00-24:00" }
slot_minutes = 5
"""


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsReceiver]:
    with sms_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def site(standalone_redis: Any, sms: SmsReceiver) -> Iterator[ServerProcess]:
    path = short_tmpdir("dk-bk-") / "schedules.toml"
    path.write_text(SCHEDULES)
    process = ServerProcess(standalone_redis.url, DIREKT_SMS_URL=sms.url, DIREKT_SCHEDULES=str(path))
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def no_sms_yet(sms: SmsReceiver) -> None:
    sms.received.clear()
    sms.arrived.clear()


@pytest.fixture
async def people(site: ServerProcess) -> AsyncIterator[dict[str, Client]]:
    clients = {
        "erik": await citizen(site.base, ERIK),
        "stranger": await citizen(site.base, UNLISTED),
        "nurse": await staff(site.base, "nurse-1"),
        "colleague": await staff(site.base, "nurse-2"),
        "outsider": await staff(site.base, "nurse-other"),
    }
    yield clients
    for client in clients.values():
        await client.aclose()


async def held_case(who: Client, nurse: Client, *, phone: str = PHONE) -> str:
    """The citizen submits (with a number for SMS, with consent) and the nurse claims the case."""
    view = await who.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    case = (await who.call("POST", "/api/cases", {"triage": view["id"], "phone": phone, "sms_consent": True}))["case"]
    sock = await nurse.socket()
    try:
        claimed = await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        assert claimed["case"] == case, claimed
    finally:
        await sock.close()
    return str(case)


async def free(who: Client, unit: str = "vc-t", profession: str = "nurse", mode: str = "video") -> list[int]:
    found = await who.call("GET", f"/api/slots?unit={unit}&profession={profession}&mode={mode}&days=1")
    return [s["start_ms"] for s in found["slots"]]


async def sms_saying(sms: SmsReceiver, text: str) -> dict[str, Any]:
    """The first SMS the gateway received with ``text`` in it, waited for (each arrival sets the event)."""
    deadline = asyncio.get_running_loop().time() + timeout(10)
    while asyncio.get_running_loop().time() < deadline:
        found = [m for m in sms.received if text in m["message"]]
        if found:
            return found[0]
        sms.arrived.clear()
        if not [m for m in sms.received if text in m["message"]]:
            await asyncio.to_thread(sms.arrived.wait, max(0.0, deadline - asyncio.get_running_loop().time()))
    raise AssertionError(f"no SMS saying {text!r} arrived; got {len(sms.received)}")


def stockholm_day(start_ms: int) -> str:
    """The Stockholm date a time falls on (the day /api/staff/visits lists it under)."""
    return dt.datetime.fromtimestamp(start_ms / 1000, STOCKHOLM).date().isoformat()


def book(nurse: Client, case: str, start_ms: int, **body: Any) -> Any:
    fields = {"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": start_ms} | body
    return nurse.call("POST", f"/api/staff/cases/{case}/bookings", fields)


async def test_a_nurse_books_from_her_chat_and_the_citizen_is_told_in_the_chat_and_by_sms(
    people: dict[str, Client], sms: SmsReceiver
) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    units = (await nurse.call("GET", "/api/booking/units"))["units"]
    assert {"profession": "nurse", "mode": "video"} in next(u for u in units if u["unit"] == "vc-t")["offers"]
    slots = await free(nurse)
    start = slots[6]  # half an hour ahead

    booked = (await book(nurse, case, start))["booking"]
    assert (booked["unit"], booked["mode"], booked["start_ms"], booked["status"]) == ("vc-t", "video", start, "booked")
    assert booked["case"] == case and booked["booked_by"] == "nurse-1" and booked["staff"] == "nurse-1"
    assert start not in await free(erik)

    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    [told] = [m for m in messages if m.get("code") == "booking"]
    assert told["booking"]["id"] == booked["id"] and "patient_pnr" not in told["booking"]
    assert "videobesök" in told["text"] and "video visit" in told["text_en"]
    message = await sms_saying(sms, "Du har fått en tid")
    assert message["to"] == PHONE and "videobesök" in message["message"]

    mine = (await erik.call("GET", "/api/bookings"))["bookings"]
    assert [b["id"] for b in mine] == [booked["id"]] and "patient_pnr" not in mine[0]
    assert (await erik.call("GET", f"/api/bookings/{booked['id']}"))["start_ms"] == start


async def test_the_same_booking_again_is_one_booking_and_one_message(people: dict[str, Client]) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    start = (await free(nurse))[8]
    first = await nurse.http.post(
        f"/api/staff/cases/{case}/bookings",
        json={"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": start},
        headers={"X-CSRF-Token": nurse.csrf},
    )
    again = await nurse.http.post(
        f"/api/staff/cases/{case}/bookings",
        json={"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": start},
        headers={"X-CSRF-Token": nurse.csrf},
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["booking"]["id"] == again.json()["booking"]["id"]
    assert len((await erik.call("GET", "/api/bookings"))["bookings"]) == 1
    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    assert [m.get("code") for m in messages].count("booking") == 1

    # closed as visit booked: only a booking of this patient is named
    close = f"/api/staff/cases/{case}/close"
    await refused(nurse.call("POST", close, {"outcome": "visit_booked", "booking": "vc-t.nosuchbooking"}), 400,
                  "bad_request")  # fmt: skip
    booking = first.json()["booking"]["id"]
    await nurse.call("POST", close, {"outcome": "visit_booked", "booking": booking})
    status = await erik.call("GET", f"/api/cases/{case}")
    assert (status["outcome"], status["booking"]) == ("visit_booked", booking)


async def test_the_calendar_file_parses_and_says_cancelled_once_cancelled(people: dict[str, Client]) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    start = (await free(nurse))[7]
    booking = (await book(nurse, case, start))["booking"]["id"]

    response = await erik.http.get(f"/api/bookings/{booking}/calendar.ics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    [event] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["UID"]) == booking and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == dt.datetime.fromtimestamp(start / 1000, dt.UTC)
    assert event.decoded("DTEND") == dt.datetime.fromtimestamp((start + 5 * 60_000) / 1000, dt.UTC)
    assert b"DTSTART:" in response.content and b"Z\r\n" in response.content  # UTC, not a floating time
    assert "Videobesök" in str(event["SUMMARY"]) and "Mina bokningar" in str(event["DESCRIPTION"])

    cancelled = await erik.call("DELETE", f"/api/bookings/{booking}")
    assert cancelled["status"] == "cancelled"
    assert start in await free(erik)  # the time is free again
    again = await erik.http.get(f"/api/bookings/{booking}/calendar.ics")
    [event] = icalendar.Calendar.from_ical(again.content).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and str(event["UID"]) == booking


async def test_the_citizen_moves_her_booking_and_the_old_time_is_free(people: dict[str, Client]) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    slots = await free(nurse)
    booking = (await book(nurse, case, slots[9]))["booking"]["id"]
    moved = await erik.call("POST", f"/api/bookings/{booking}/rebook", {"start_ms": slots[11]})
    assert moved["start_ms"] == slots[11] and moved["id"] == booking
    now_free = await free(erik)
    assert slots[9] in now_free and slots[11] not in now_free


async def test_a_nurse_moving_or_cancelling_is_told_in_the_chat_and_by_sms(
    people: dict[str, Client], sms: SmsReceiver
) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    slots = await free(nurse)
    booking = (await book(nurse, case, slots[16]))["booking"]["id"]
    moved = await nurse.call("POST", f"/api/bookings/{booking}/rebook", {"start_ms": slots[17]})
    assert moved["start_ms"] == slots[17]
    message = await sms_saying(sms, "Din tid är flyttad")
    assert message["to"] == PHONE and "videobesök" in message["message"]
    assert (await nurse.call("DELETE", f"/api/bookings/{booking}"))["status"] == "cancelled"
    assert (await sms_saying(sms, "Din tid är avbokad"))["to"] == PHONE
    messages = (await erik.call("GET", f"/api/cases/{case}/transcript"))["messages"]
    told = {m["code"]: m for m in messages if m.get("code", "").startswith("booking")}
    assert told["booking_moved"]["booking"]["start_ms"] == slots[17] and "flyttad" in told["booking_moved"]["text"]
    assert (
        told["booking_cancelled"]["booking"]["status"] == "cancelled"
        and "patient_pnr" not in told["booking_cancelled"]["booking"]
    )
    assert "cancelled" in told["booking_cancelled"]["text_en"]


async def test_other_citizens_and_staff_elsewhere_get_nothing(people: dict[str, Client]) -> None:
    erik, nurse, stranger = people["erik"], people["nurse"], people["stranger"]
    case = await held_case(erik, nurse)
    slots = await free(nurse)
    booking = (await book(nurse, case, slots[10]))["booking"]["id"]
    for method, path, body in [
        ("GET", f"/api/bookings/{booking}", None),
        ("GET", f"/api/bookings/{booking}/calendar.ics", None),
        ("DELETE", f"/api/bookings/{booking}", None),
        ("POST", f"/api/bookings/{booking}/rebook", {"start_ms": slots[12]}),
        ("POST", f"/api/bookings/{booking}/open", None),
    ]:
        await refused(stranger.call(method, path, body), 404, "not_found")
    assert (await stranger.call("GET", "/api/bookings"))["bookings"] == []
    await refused(people["outsider"].call("GET", f"/api/bookings/{booking}"), 403, "forbidden")
    await refused(people["outsider"].call("DELETE", f"/api/bookings/{booking}"), 403, "forbidden")
    # only the case's holder books from it; a citizen cannot use the staff endpoint
    await refused(book(people["colleague"], case, slots[13]), 409, "conflict")
    await refused(book(people["outsider"], case, slots[13]), 403, "forbidden")
    await refused(book(erik, case, slots[13]), 403, "forbidden")
    await refused(people["nurse"].call("GET", "/api/bookings"), 403, "forbidden")  # the citizens' list
    assert (await erik.call("GET", f"/api/bookings/{booking}"))["status"] == "booked"


MALFORMED = [
    ({"unit": "vc-t", "profession": "nurse", "mode": "video"}, 400, "bad_request"),  # no time
    ({"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": "soon"}, 400, "bad_request"),
    ({"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": 1, "x": 1}, 400, "bad_request"),
    ({"unit": "VC T", "profession": "nurse", "mode": "video", "start_ms": 1}, 400, "bad_request"),
    ({"unit": "vc-nowhere", "profession": "nurse", "mode": "video", "start_ms": 1}, 400, "bad_request"),
    ({"unit": "vc-t", "profession": "nurse", "mode": "phone", "start_ms": 1}, 400, "bad_request"),
    ({"unit": "vc-t", "profession": "doctor", "mode": "video", "start_ms": 1}, 400, "not_in_schedule"),
    ({"unit": "vc-t", "profession": "nurse", "mode": "video", "start_ms": 60_000}, 400, "not_in_schedule"),
]


async def post_raw(who: Client, path: str, body: Any, content: bytes | None = None) -> Any:
    headers = {"X-CSRF-Token": who.csrf, "Content-Type": "application/json"}
    if content is None:
        return await who.http.post(path, json=body, headers=headers)
    return await who.http.post(path, content=content, headers=headers)


async def test_bad_bodies_queries_and_ids_get_clear_errors(people: dict[str, Client]) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    path = f"/api/staff/cases/{case}/bookings"
    for body, status, code in MALFORMED:
        error_of(await post_raw(nurse, path, body), status, code)
    error_of(await post_raw(nurse, path, None, b"{not json"), 400, "bad_request")
    error_of(await post_raw(nurse, path, None, b"[" + b"1," * 40_000 + b"1]"), 413, "too_large")
    slots = await free(nurse)
    past = slots[0] - 24 * 3_600_000
    error_of(await post_raw(nurse, path, {"unit": "vc-t", "profession": "nurse", "mode": "video",
                                          "start_ms": past}), 409, "booking_closed")  # fmt: skip
    other = await held_case(people["stranger"], nurse)
    await book(nurse, other, slots[14])
    await refused(book(nurse, case, slots[14]), 409, "slot_taken")  # another patient's time
    mine = (await book(nurse, case, slots[15]))["booking"]["id"]
    for far in (2**53, 253_402_300_800_000, slots[0] + 401 * 86_400_000):  # past year 9999; over 400 days ahead
        error_of(await post_raw(nurse, path, {"unit": "vc-t", "profession": "nurse", "mode": "video",
                                              "start_ms": far}), 400, "bad_request")  # fmt: skip
        error_of(await post_raw(erik, f"/api/bookings/{mine}/rebook", {"start_ms": far}), 400, "bad_request")
        error_of(await erik.http.get(f"/api/slots?unit=vc-t&profession=nurse&mode=video&from={far}"), 400,
                 "bad_request")  # fmt: skip
    nurse_video = "unit=vc-t&profession=nurse&mode=video"
    for query in (f"{nurse_video}&days=1000", "profession=nurse&mode=video", f"{nurse_video}&from=yesterday",
                  "unit=vc-t&profession=nurse&mode=phone"):  # fmt: skip
        error_of(await erik.http.get(f"/api/slots?{query}"), 400, "bad_request")
    for day in ("2026-13-45", "tomorrow", "0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"):
        error_of(await nurse.http.get(f"/api/staff/visits?day={day}"), 400, "bad_request")
    for bad in ("nothing", "vc-t.", "x" * 300, "vc-t.doesnotexist"):
        error_of(await erik.http.get(f"/api/bookings/{bad}"), 404, "not_found")
    error_of(await post_raw(erik, "/api/bookings/vc-t.doesnotexist/rebook", {"start_ms": "x"}), 400, "bad_request")
    anonymous = Client(erik.base_url)
    try:
        error_of(await anonymous.http.get("/api/slots?unit=vc-t&profession=nurse&mode=video"), 401, "unauthenticated")
    finally:
        await anonymous.aclose()


async def test_a_video_visit_opens_at_its_time_as_a_case_the_booked_nurse_holds(
    people: dict[str, Client], redis: RedisClient
) -> None:
    erik, nurse = people["erik"], people["nurse"]
    case = await held_case(erik, nurse)
    slots = await free(nurse)
    # slots[1] starts 5-10 minutes ahead: open now, and still ahead when booked (slots[0] may start
    # before the request lands); slots[5] 25-30 minutes ahead. Near midnight they may be on two days.
    now = (await book(nurse, case, slots[1]))["booking"]["id"]
    later = (await book(nurse, case, slots[5]))["booking"]["id"]
    await refused(nurse.call("POST", f"/api/bookings/{later}/open"), 409, "booking_closed")
    await refused(erik.call("POST", f"/api/bookings/{later}/open"), 409, "booking_closed")

    days = sorted({stockholm_day(slots[1]), stockholm_day(slots[5])})
    visits = [v for day in days for v in (await nurse.call("GET", f"/api/staff/visits?day={day}"))["visits"]]
    assert {v["id"]: v["can_open"] for v in visits} == {now: True, later: False}
    opened = await nurse.call("POST", f"/api/bookings/{now}/open")
    assert opened["case"] != case
    assert (await nurse.call("POST", f"/api/bookings/{now}/open"))["case"] == opened["case"]  # once per booking
    assert (await erik.call("POST", f"/api/bookings/{now}/open"))["case"] == opened["case"]
    visit = await nurse.call("GET", f"/api/staff/cases/{opened['case']}")
    assert (visit["holder"], visit["state"], visit["booking"]) == ("nurse-1", "claimed", now)
    assert (await erik.call("GET", f"/api/cases/{opened['case']}"))["state"] == "claimed"
    await refused(people["colleague"].call("POST", f"/api/bookings/{now}/open"), 403, "forbidden")
    await refused(people["stranger"].call("POST", f"/api/bookings/{now}/open"), 404, "not_found")
    await refused(erik.call("POST", f"/api/bookings/{now}/rebook", {"start_ms": slots[7]}), 409, "booking_closed")
    elsewhere = (await book(nurse, case, (await free(nurse, "vc-kungsor"))[1], unit="vc-kungsor"))["booking"]
    await refused(erik.call("POST", f"/api/bookings/{elsewhere['id']}/open"), 409, "conflict")  # no chat queue there
    audited = {(r["actor"], r["action"], r["outcome"]) for r in await audit_log(redis)}
    done = {("nurse-1", "booking.create", "ok"), ("nurse-1", "booking.list", "ok"), ("nurse-1", "booking.open", "ok"),
            ("nurse-2", "booking.open", "denied")}  # fmt: skip
    assert done <= audited, audited
    await erik.call("DELETE", f"/api/bookings/{now}")  # the opened visit's case ends with it
    assert (await erik.call("GET", f"/api/cases/{opened['case']}"))["state"] == "abandoned"
    assert (await nurse.call("GET", f"/api/staff/cases/{opened['case']}"))["state"] == "abandoned"


async def test_a_physical_visit_has_no_call_and_a_guardian_sees_her_childs_booking(
    site: ServerProcess, people: dict[str, Client]
) -> None:
    nurse = people["nurse"]
    guardian = await citizen(site.base, GUARDIAN)
    try:
        view = await guardian.triage_as("seek_care", "child_fever", CHILD_FEVER, child="201801012392")
        case = (await guardian.submit(view["id"], chat_anyway=True))["case"]
        sock = await nurse.socket()
        await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        await sock.close()
        start = (await free(nurse, profession="doctor", mode="physical"))[2]
        booked = (await book(nurse, case, start, profession="doctor", mode="physical"))["booking"]
        assert booked["patient_name"] != "" and booked["staff"] is None  # anyone of the unit's doctors
        assert [b["id"] for b in (await guardian.call("GET", "/api/bookings"))["bookings"]] == [booked["id"]]
        await refused(guardian.call("POST", f"/api/bookings/{booked['id']}/open"), 409, "booking_closed")
        assert (await guardian.call("DELETE", f"/api/bookings/{booked['id']}"))["status"] == "cancelled"
    finally:
        await guardian.aclose()


def test_docs_name_every_endpoint() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "booking.md").read_text()
    for path in ("/api/slots", "/api/staff/cases/{case}/bookings", "/api/bookings/{id}/calendar.ics",
                 "/api/bookings/{id}/rebook", "/api/bookings/{id}/open", "/api/staff/visits"):  # fmt: skip
        assert path in text
