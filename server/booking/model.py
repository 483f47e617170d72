"""A booking, how it is stored (a Redis hash of strings) and shown, and the booking refusals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from direkt.queue.keys import CASE_ID_PATTERN
from direkt.server.errors import BadRequest, Conflict

STATUSES = ("booked", "cancelled")
_INTS = frozenset({"start_ms", "end_ms", "created_ms", "cancelled_ms", "changes"})


class SlotTaken(Conflict):
    code = "slot_taken"


class NotInSchedule(BadRequest):
    code = "not_in_schedule"


class BookingClosed(Conflict):
    """The booking is cancelled or its visit is over (or, to open, not yet near)."""

    code = "booking_closed"


@dataclass(frozen=True)
class Booking:
    id: str
    unit: str
    profession: str
    mode: str  # video, physical
    start_ms: int
    end_ms: int
    status: str  # booked, cancelled
    patient_pnr: str
    patient_name: str
    owner_uid: str  # the citizen's account (the guardian's when a guardian acts for a child)
    case: str = ""  # the chat it was booked from
    booked_by: str = ""  # a staff id, or "self"
    vaccine: str = ""
    created_ms: int = 0
    staff: str = ""  # who does the visit (the schedule's, else the booking nurse's own), "" = anyone of the unit
    dedupe: str = ""  # the same request again finds this booking instead of a refusal
    cancelled_ms: int = 0
    cancelled_by: str = ""
    visit_case: str = ""  # the case a video visit's call is opened from (made once, at its time)
    guardian_pnr: str = ""  # a guardian who acts for the child (the case file's, for the visit's case)
    changes: int = 0  # times moved (the calendar file's SEQUENCE)

    def public_view(self) -> dict[str, Any]:
        """What the citizen and the chat message show (no personnummer)."""
        return {
            "id": self.id,
            "unit": self.unit,
            "profession": self.profession,
            "mode": self.mode,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "status": self.status,
            "patient_name": self.patient_name,
            "case": self.case or None,
            "booked_by": self.booked_by,
            "vaccine": self.vaccine or None,
            "created_ms": self.created_ms,
            "visit_case": self.visit_case or None,
        }

    def staff_view(self) -> dict[str, Any]:
        return self.public_view() | {"patient_pnr": self.patient_pnr, "staff": self.staff or None}


def to_hash(booking: Booking) -> dict[str, str]:
    """The stored fields; empty ones are left out (they read back as their defaults)."""
    return {k: str(v) for k, v in asdict(booking).items() if v != ""}


def from_hash(raw: Mapping[bytes | str, bytes | str]) -> Booking:
    names = {f.name for f in fields(Booking)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else key
        if name in names:
            text = value.decode() if isinstance(value, bytes) else value
            values[name] = int(text or 0) if name in _INTS else text
    return Booking(**values)


def unit_of(booking_id: str) -> str | None:
    """The unit a booking id names (``<unit>.<random>``), or None when it is not a booking id."""
    match = CASE_ID_PATTERN.fullmatch(booking_id)
    return match[1] if match else None


def cancelled(booking: Booking, at_ms: int, by: str) -> Booking:
    return replace(booking, status="cancelled", cancelled_ms=at_ms, cancelled_by=by)
