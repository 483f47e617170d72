"""A closed case's journal record as a printable page, for a region without a journal integration.

Pure: the same facts as the FHIR Bundle (``fhirrecord.RecordInput``) in, one HTML document out,
Swedish with the English beside it. Every text from the case (names, the triage's words, the
note) is escaped; the page has no script and no external resource, and ``STYLE_HASH`` lets
its one inline stylesheet through a Content Security Policy that allows nothing else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from direkt.server.care.recordinput import MODES, OUTCOMES, PROFESSIONS, STOCKHOLM, RecordInput, UnitInfo

STYLE = """
body { font: 11pt/1.45 system-ui, sans-serif; color: #111; max-width: 50rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid #555; padding-bottom: .15rem; }
.en { color: #444; font-weight: normal; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; }
dd ul { margin: 0; padding-left: 1.1rem; }
.note { white-space: pre-wrap; border: 1px solid #999; padding: .5rem .75rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #ccc; padding: .2rem .4rem; }
.hint { color: #444; font-size: .9rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  .hint { display: none; }
  h2 { break-after: avoid; }
  tr, .note { break-inside: avoid; }
}
@page { size: A4; margin: 18mm 16mm; }
"""
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def when(ms: int) -> str:
    """ "2026-12-07 09:31", Swedish time."""
    return dt.datetime.fromtimestamp(ms / 1000, STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def _both(sv: str, en: str) -> str:
    """Swedish, and the English beside it (escaped)."""
    if not en or en == sv:
        return escape(sv)
    return f'{escape(sv)} <span class="en" lang="en">/ {escape(en)}</span>'


def _words(value: Any) -> str:
    if isinstance(value, Mapping):
        return _both(str(value.get("sv") or ""), str(value.get("en") or ""))
    return escape("" if value is None else str(value))


def _facts(rows: Iterable[tuple[str, str, str] | None]) -> str:
    """A definition list of (Swedish term, English term, escaped value) rows; None rows left out."""
    items = [f"<dt>{_both(sv, en)}</dt><dd>{value or '—'}</dd>" for row in rows if row for sv, en, value in [row]]
    return f"<dl>{''.join(items)}</dl>"


def _section(sv: str, en: str, body: str) -> str:
    return f"<section><h2>{_both(sv, en)}</h2>{body}</section>"


def _unit(unit: UnitInfo) -> str:
    place = ", ".join(p for p in (unit.address, " ".join(q for q in (unit.postcode, unit.city) if q)) if p)
    extra = ", ".join(p for p in (place, unit.phone) if p)
    return escape(unit.name) + (f" ({escape(extra)})" if extra else "")


def render_record(data: RecordInput, printed_ms: int) -> str:
    """The printable record of a closed case (a whole HTML document).

    Args:
        printed_ms: when it was exported (shown on the page).
    """
    file = data.file
    title = f"Journalkopia {file.case_id}"
    parts = [
        '<h1>Journalkopia <span class="en" lang="en">/ Journal record</span></h1>',
        '<p class="hint">Skriv ut med webbläsarens utskrift (Ctrl+P). '
        '<span lang="en">Print with the browser (Ctrl+P).</span></p>',
        _facts(
            [
                ("Ärende", "Case", escape(file.case_id)),
                ("Utskriven", "Printed", escape(when(printed_ms))),
            ]
        ),
        _section("Patient", "Patient", _patient(data)),
        _section("Kontakt", "Contact", _contact(data)),
        _section("Journalanteckning", "Journal note", _note(data)),
        _section("Triagering", "Triage", _triage(data)),
        _section("Chatt", "Chat", _chat(data)),
    ]
    if data.booking is not None:
        parts.insert(5, _section("Bokat besök", "Booked visit", _booking(data)))
    return (
        '<!doctype html>\n<html lang="sv"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )


def _patient(data: RecordInput) -> str:
    file = data.file
    return _facts(
        [
            ("Namn", "Name", escape(file.patient_name)),
            ("Personnummer", "Personal identity number", escape(file.patient_pnr)),
            ("Vårdnadshavare som sökte för barnet", "Guardian acting for the child", escape(file.guardian_pnr))
            if file.guardian_pnr
            else None,
        ]
    )


def _contact(data: RecordInput) -> str:
    file, staff = data.file, data.staff
    reason = file.triage.get("reason") or {}
    outcome = OUTCOMES.get(file.outcome)
    handler = ""
    if staff is not None:
        sv, en = PROFESSIONS.get(staff.profession, (staff.profession, staff.profession))
        hsa = f", HSA-id {escape(staff.hsa_id)}" if staff.hsa_id else ""
        handler = f"{escape(staff.name)} ({_both(sv, en)}{hsa})"
    return _facts(
        [
            ("Vårdenhet", "Care unit", _unit(data.unit)),
            ("Kontaktsätt", "Contact by", _both("Chatt (digital vårdkontakt)", "Chat (digital care contact)")),
            ("Sökte", "Sought care", escape(when(file.created_ms))),
            ("Chatten öppnades", "Chat opened", escape(when(file.ready_ms))) if file.ready_ms else None,
            ("Avslutad", "Closed", escape(when(file.closed_ms))),
            ("Kontaktorsak", "Contact reason", _words(reason.get("label")) or escape(str(reason.get("code") or ""))),
            ("Handläggare", "Handled by", handler) if handler else None,
            ("Utfall", "Outcome", _both(outcome[0], outcome[1]) if outcome else escape(file.outcome)),
            ("Hänvisad till", "Referred to", _unit(data.referred)) if data.referred is not None else None,
        ]
    )


def _note(data: RecordInput) -> str:
    if not data.chat.journal.strip():
        return f"<p>{_both('Ingen journalanteckning skrevs.', 'No journal note was written.')}</p>"
    return f'<p class="note">{escape(data.chat.journal)}</p>'


def _list(values: Iterable[Any]) -> str:
    items = [f"<li>{_words(v)}</li>" for v in values]
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _triage(data: RecordInput) -> str:
    triage = data.file.triage
    if not triage:
        return f"<p>{_both('Ingen triagering.', 'No triage.')}</p>"
    findings = triage.get("findings") or {}
    decided = (triage.get("decided_by") or {}).get("staff")
    facts = _facts(
        [
            ("Vårdnivå", "Care level", _words(triage.get("headline")) or escape(str(triage.get("care_level") or ""))),
            ("Avgörande fynd", "Deciding finding", _words(decided)) if decided else None,
            ("Fynd", "Findings present", _list(findings.get("present") or ())) if findings.get("present") else None,
            ("Uppmätt", "Measured", _list(findings.get("measured") or ())) if findings.get("measured") else None,
            ("Nekade fynd", "Findings denied", _list(findings.get("absent") or ())) if findings.get("absent") else None,
            ("Vet ej", "Not known", _list(findings.get("unknown") or ())) if findings.get("unknown") else None,
            ("Kunskapsbas", "Knowledge base", escape(str(triage.get("kb_version") or ""))),
        ]
    )
    rows = []
    for answer in triage.get("answers") or ():
        shown = {"attached": ("Foto bifogat", "Photo attached"), "skipped": ("Inget foto", "No photo")}.get(
            str(answer.get("photo", ""))
        )
        value = _both(*shown) if shown else _words(answer.get("answer"))
        rows.append(f"<tr><td>{_words(answer.get('question'))}</td><td>{value}</td></tr>")
    table = (
        f'<table><caption class="en">{_both("Frågor och svar", "Questions and answers")}</caption>'
        f'<thead><tr><th scope="col">{_both("Fråga", "Question")}</th>'
        f'<th scope="col">{_both("Svar", "Answer")}</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        if rows
        else ""
    )
    return facts + table


_CHAT_STAYS = (
    "Chattens text finns kvar i direkt under ärendets nummer.",
    "The chat text stays in direkt under the case number.",
)


def _chat(data: RecordInput) -> str:
    chat = data.chat
    calls = f"{chat.calls} ({round(chat.call_ms / 60000)} min)" if chat.calls else "0"
    return (
        _facts(
            [
                ("Meddelanden från patienten", "Messages from the patient", str(chat.patient_messages)),
                ("Meddelanden från vårdpersonal", "Messages from staff", str(chat.staff_messages)),
                ("Foton", "Photos", str(chat.photos)),
                ("Samtal", "Calls", escape(calls)),
                (
                    "Första och sista meddelandet",
                    "First and last message",
                    escape(f"{when(chat.first_ms)} – {when(chat.last_ms)}"),
                )
                if chat.first_ms
                else None,
            ]
        )
        + f'<p class="hint">{_both(*_CHAT_STAYS)}</p>'
    )


def _booking(data: RecordInput) -> str:
    booking = data.booking or {}
    mode = MODES.get(str(booking.get("mode", "")))
    profession = PROFESSIONS.get(str(booking.get("profession", "")))
    cancelled = booking.get("status") == "cancelled"
    unit = data.booking_unit or UnitInfo(str(booking.get("unit", "")), str(booking.get("unit", "")))
    start, end = int(booking.get("start_ms") or 0), int(booking.get("end_ms") or 0)
    return _facts(
        [
            ("Tid", "Time", escape(f"{when(start)} – {when(end)[-5:]}")),
            ("Mottagning", "Clinic", _unit(unit)),
            ("Besök", "Visit", _both(*mode) if mode else escape(str(booking.get("mode", "")))),
            ("Yrke", "Profession", _both(*profession) if profession else escape(str(booking.get("profession", "")))),
            ("Status", "Status", _both("Avbokad", "Cancelled") if cancelled else _both("Bokad", "Booked")),
            ("Bokningsnummer", "Booking number", escape(str(booking.get("id", "")))),
        ]
    )
