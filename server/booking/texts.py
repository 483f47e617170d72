"""What a booking says to people: the chat message, the SMS, the calendar entry (Swedish, English beside)."""

from __future__ import annotations

from direkt.queue.hours import local_time
from direkt.server.booking.model import Booking

PROFESSIONS = {
    "nurse": ("sjuksköterska", "a nurse"),
    "doctor": ("läkare", "a doctor"),
    "psychologist": ("psykolog", "a psychologist"),
    "physiotherapist": ("fysioterapeut", "a physiotherapist"),
    "midwife": ("barnmorska", "a midwife"),
    "administrator": ("administratör", "an administrator"),
    "vaccination": ("vaccinationsmottagningen", "the vaccination clinic"),
}
DAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
             "november", "december")  # fmt: skip
OPEN_BEFORE_MS = 10 * 60_000  # a video visit can be opened from ten minutes before its start


def when(start_ms: int) -> tuple[str, str]:
    """``("måndag 7 december kl. 09:00", "Monday 7 December at 09:00")``, Stockholm time."""
    t = local_time(start_ms)
    sv = f"{DAYS_SV[t.weekday()]} {t.day} {MONTHS_SV[t.month - 1]} kl. {t:%H:%M}"
    return sv, f"{t:%A} {t.day} {t:%B} at {t:%H:%M}"


def what(booking: Booking) -> tuple[str, str]:
    who_sv, who_en = PROFESSIONS.get(booking.profession, (booking.profession, booking.profession))
    if booking.mode == "video":
        return f"videobesök hos {who_sv}", f"video visit with {who_en}"
    if booking.profession == "vaccination":
        return "vaccination", "vaccination"
    return f"besök hos {who_sv}", f"visit with {who_en}"


def booked_message(booking: Booking, unit_name: str) -> tuple[str, str]:
    (what_sv, what_en), (at_sv, at_en) = what(booking), when(booking.start_ms)
    sv = f"Du har fått en tid: {what_sv} på {unit_name}, {at_sv}."
    en = f"You have an appointment: {what_en} at {unit_name}, {at_en}."
    if booking.mode == "video":
        sv += " Öppna videobesöket från chatten eller Mina bokningar, tidigast tio minuter före."
        en += " Open the video visit from the chat or My bookings, from ten minutes before."
    return sv, en


def sms_text(booking: Booking, unit_name: str, brand: str) -> str:
    (what_sv, _), (at_sv, _) = what(booking), when(booking.start_ms)
    return f"{brand}: Du har fått en tid, {what_sv} på {unit_name}, {at_sv}. Avboka eller ändra i {brand}."


def video_instructions(base_url: str) -> str:
    return (
        f"Videobesök: logga in på {base_url}/ och öppna besöket under Mina bokningar, tidigast tio minuter före. "
        f"Video visit: log in at {base_url}/ and open the visit under My bookings, from ten minutes before."
    )


def cancelled_message(booking: Booking, unit_name: str) -> tuple[str, str]:
    (what_sv, what_en), (at_sv, at_en) = what(booking), when(booking.start_ms)
    return (
        f"Din tid är avbokad: {what_sv} på {unit_name}, {at_sv}.",
        f"Your appointment is cancelled: {what_en} at {unit_name}, {at_en}.",
    )


def moved_message(booking: Booking, unit_name: str) -> tuple[str, str]:
    (what_sv, what_en), (at_sv, at_en) = what(booking), when(booking.start_ms)
    return (
        f"Din tid är flyttad: {what_sv} på {unit_name}, nu {at_sv}.",
        f"Your appointment is moved: {what_en} at {unit_name}, now {at_en}.",
    )


def changed_sms(booking: Booking, unit_name: str, brand: str, *, cancelled: bool) -> str:
    (what_sv, _), (at_sv, _) = what(booking), when(booking.start_ms)
    if cancelled:
        return f"{brand}: Din tid är avbokad, {what_sv} på {unit_name}, {at_sv}."
    return f"{brand}: Din tid är flyttad, {what_sv} på {unit_name}, nu {at_sv}. Avboka eller ändra i {brand}."
