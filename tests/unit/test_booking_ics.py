"""A booking as a calendar file and in words (issue 24): parsed back with the icalendar library."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import icalendar
from support import at

from direkt.server.booking.ics import calendar_file
from direkt.server.booking.model import Booking, cancelled
from direkt.server.booking.texts import booked_message, sms_text, when

VISIT = Booking(
    id="vc-kungsor.Ab12Cd34Ef56Gh78", unit="vc-kungsor", profession="nurse", mode="physical",
    start_ms=at("2026-12-08 13:20"), end_ms=at("2026-12-08 13:40"), status="booked", patient_pnr="199108312399",
    patient_name="Erik Nilsson", owner_uid="u1", booked_by="anna.lind", created_ms=at("2026-12-07 10:00"),
)  # fmt: skip
ADDRESS = "Drottninggatan 22, 736 30 Kungsör"


def event_of(data: bytes) -> icalendar.Event:
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    return event


def test_a_physical_visit_is_one_event_at_the_unit_in_utc() -> None:
    event = event_of(
        calendar_file(VISIT, "Kungsörs vårdcentral", ADDRESS, "https://vard.example", at("2026-12-07 10:00"))
    )
    assert str(event["UID"]) == VISIT.id and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 8, 12, 20, tzinfo=dt.UTC)  # 13:20 in Stockholm
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 8, 12, 40, tzinfo=dt.UTC)
    assert str(event["SUMMARY"]) == "Besök hos sjuksköterska, Kungsörs vårdcentral"
    assert str(event["LOCATION"]) == ADDRESS and ADDRESS in str(event["DESCRIPTION"])


def test_a_video_visit_says_how_to_open_it_and_a_cancelled_one_says_cancelled() -> None:
    video = replace(VISIT, mode="video", changes=1)
    event = event_of(calendar_file(video, "Kungsörs vårdcentral", ADDRESS, "https://vard.example", 0))
    assert str(event["LOCATION"]) == "Video" and "https://vard.example/" in str(event["DESCRIPTION"])
    assert int(event["SEQUENCE"]) == 1  # moved once
    gone = event_of(calendar_file(cancelled(video, 1, "self"), "Kungsörs vårdcentral", "", "https://vard.example", 0))
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 2 and str(gone["UID"]) == VISIT.id


def test_the_words_give_the_stockholm_day_and_time_on_both_sides_of_the_clock_change() -> None:
    assert when(at("2026-12-08 13:20")) == ("tisdag 8 december kl. 13:20", "Tuesday 8 December at 13:20")
    assert when(at("2026-03-30 09:00"))[0] == "måndag 30 mars kl. 09:00"  # the day after the spring change
    sv, en = booked_message(VISIT, "Kungsörs vårdcentral")
    assert sv == "Du har fått en tid: besök hos sjuksköterska på Kungsörs vårdcentral, tisdag 8 december kl. 13:20."
    assert en.startswith("You have an appointment: visit with a nurse at Kungsörs vårdcentral, Tuesday")
    assert "199108312399" not in sms_text(VISIT, "Kungsörs vårdcentral", "Vårdchatten")
