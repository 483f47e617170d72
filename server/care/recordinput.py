"""What a closed case's journal record is built from, and the words it uses (``fhirrecord``, ``recordhtml``).

Pure values: the record's builders take a ``RecordInput``; ``care.record`` gathers one from Redis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from direkt.server.care.casefile import CaseFile
from direkt.server.care.transcript import Entry, parse_id

STOCKHOLM = ZoneInfo("Europe/Stockholm")

# A closed case's outcome, in words (the close dialog's choices), and the nearest HL7 discharge
# disposition where one fits: advice at home, or sent on to other care.
OUTCOMES: Mapping[str, tuple[str, str, str]] = {
    "self_care_advice": ("Egenvårdsråd", "Self-care advice", "home"),
    "visit_booked": ("Bokat besök", "Visit booked", "home"),
    "referred": ("Hänvisad", "Referred", "other-hcf"),
    "video_consultation": ("Videosamtal", "Video consultation", "home"),
    "told_to_call_112": ("Uppmanad att ringa 112", "Told to call 112", "other-hcf"),
    "no_contact": ("Ingen kontakt", "No contact", "oth"),
    "data_lost": ("Uppgifterna förlorades", "Data lost", "oth"),
    "abandoned": ("Lämnade kön", "Left the queue", "oth"),
}

PROFESSIONS: Mapping[str, tuple[str, str]] = {
    "nurse": ("Sjuksköterska", "Nurse"),
    "doctor": ("Läkare", "Doctor"),
    "psychologist": ("Psykolog", "Psychologist"),
    "physiotherapist": ("Fysioterapeut", "Physiotherapist"),
    "midwife": ("Barnmorska", "Midwife"),
    "administrator": ("Administratör", "Administrator"),
    "vaccination": ("Vaccinationsmottagning", "Vaccination service"),
}

MODES: Mapping[str, tuple[str, str]] = {
    "video": ("Videobesök", "Video visit"),
    "physical": ("Besök på mottagningen", "Visit at the clinic"),
}


@dataclass(frozen=True)
class UnitInfo:
    """A care unit as the record names it (the catalogue's facts where it has them)."""

    id: str
    name: str
    address: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    web: str = ""


@dataclass(frozen=True)
class StaffInfo:
    """Who handled the case."""

    id: str
    name: str
    profession: str
    hsa_id: str = ""


@dataclass(frozen=True)
class ChatSummary:
    """What a receiving record learns of the chat: counts and times, and the journal note.

    No message text: the chat stays in direkt (the Encounter names the case id), where the
    patient's right to read it and the region's retention rules apply.
    """

    patient_messages: int = 0
    staff_messages: int = 0
    photos: int = 0
    calls: int = 0
    call_ms: int = 0
    first_ms: int = 0
    last_ms: int = 0
    journal: str = ""
    journal_ms: int = 0


@dataclass(frozen=True)
class RecordInput:
    """Everything the record is built from.

    Attributes:
        file: the closed case's file.
        unit: the unit the case was closed at (the Encounter's service provider).
        staff: who closed it; None if no one did (the citizen left the queue).
        chat: the transcript's summary (``summarise``).
        referred: the unit of a referral (outcome ``referred``).
        booking: the booking's fields (``direkt.server.booking``), or None.
        booking_unit: the booking's unit.
    """

    file: CaseFile
    unit: UnitInfo
    staff: StaffInfo | None
    chat: ChatSummary
    referred: UnitInfo | None = None
    booking: Mapping[str, Any] | None = None
    booking_unit: UnitInfo | None = None


# -- the transcript's summary ---------------------------------------------------------------

_PATIENT_ROLES = frozenset({"citizen", "guardian"})


def summarise(entries: Iterable[Entry], so_far: ChatSummary | None = None) -> ChatSummary:
    """Count the messages each side wrote, the photos and calls; keep the last journal note.

    ``so_far``: the summary of the pages before these (a transcript is read a page at a time).
    """
    sum_ = so_far or ChatSummary()
    counts = {"patient": sum_.patient_messages, "staff": sum_.staff_messages, "photos": sum_.photos,
              "calls": sum_.calls, "call_ms": sum_.call_ms}  # fmt: skip
    first, last, journal, journal_ms = sum_.first_ms, sum_.last_ms, sum_.journal, sum_.journal_ms
    for entry in entries:
        body, ms = entry.body, parse_id(entry.id)[0]
        kind = body.get("k")
        if kind in ("text", "photo", "template"):
            counts["patient" if body.get("role") in _PATIENT_ROLES else "staff"] += 1
            counts["photos"] += kind == "photo"
            first, last = first or ms, ms
        elif kind == "note" and body.get("code") == "journal":
            journal, journal_ms = str(body.get("text", "")), ms
        elif kind == "system" and body.get("code") == "call_ended":
            counts["calls"] += 1
            counts["call_ms"] += int(body.get("duration_ms") or 0)
    return ChatSummary(
        counts["patient"], counts["staff"], counts["photos"], counts["calls"], counts["call_ms"], first, last,
        journal, journal_ms,
    )  # fmt: skip
