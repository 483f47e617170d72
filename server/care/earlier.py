"""The patient's earlier contacts, beside a case in the console (issue 20).

Who sees what (the rules of ``direkt.server.identity.access``): a staff member who may
see a case sees the patient's *other* cases at the units she serves, and
nothing of the others, not even how many there are. The patient is the case's
patient: a child's cases are the child's, whichever guardian sent them, and a
guardian's own cases are not the child's history (nor the other way round).

Every read is audited before the answer leaves (HSLF-FS 2016:40 4 kap. 9 §):
the list as ``earlier.list`` on the case it was read from, and each case it
shows as ``earlier.read`` on that case (its unit, its patient). A transcript
is read on request through ``GET /api/staff/cases/{case}/transcript``, whose
access rule (the units she serves) is the list's and which audits each page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from direkt.queue.model import Staff
from direkt.queue.records import CaseRecord
from direkt.queue.waitroom import Waitroom
from direkt.server.care.audit import AuditRecord
from direkt.server.care.casefile import CaseFile
from direkt.server.care.workflow import Workflow
from direkt.server.errors import UnknownCase

SHOWN = 20  # the newest contacts shown
SCANNED = 100  # the patient's newest cases looked at to find them (their files live 90 days)

# A closed case's outcome in words (the close dialog's choices, and a citizen who left the queue).
OUTCOME_WORDS: Mapping[str, tuple[str, str]] = {
    "self_care_advice": ("Egenvårdsråd", "Self-care advice"),
    "visit_booked": ("Bokat besök", "Visit booked"),
    "referred": ("Hänvisad", "Referred"),
    "video_consultation": ("Videosamtal", "Video consultation"),
    "told_to_call_112": ("Uppmanad att ringa 112", "Told to call 112"),
    "no_contact": ("Ingen kontakt", "No contact"),
    "data_lost": ("Uppgifterna förlorades", "Data lost"),
    "abandoned": ("Lämnade kön", "Left the queue"),
}


@dataclass(frozen=True)
class Earlier:
    """One earlier case: its file (whose, what the triage found) and its queue record (where it ended)."""

    file: CaseFile
    record: CaseRecord


def shown_to(staff: Staff, current: CaseFile, found: Iterable[Earlier], limit: int = SHOWN) -> list[Earlier]:
    """The earlier contacts ``staff`` is shown beside ``current``: the same patient's other cases at
    units she serves, newest first, at most ``limit``."""
    mine = [
        e
        for e in found
        if e.file.case_id != current.case_id
        and e.file.patient_pnr == current.patient_pnr
        and e.record.unit in staff.units
    ]
    mine.sort(key=lambda e: (e.file.created_ms, e.file.case_id), reverse=True)
    return mine[:limit]


def contact_view(e: Earlier, unit_name: str, profession: str | None) -> dict[str, Any]:
    """One earlier contact as the console shows it (docs/protocol.md §5): codes and words."""
    outcome = e.file.outcome or e.record.outcome or None
    words = OUTCOME_WORDS.get(outcome or "")
    return {
        "case": e.file.case_id,
        "created_ms": e.file.created_ms,
        "closed_ms": e.file.closed_ms or e.record.closed_ms or None,
        "state": e.record.state,
        "unit": e.record.unit,
        "unit_name": unit_name,
        "reason": e.file.triage.get("reason"),
        "care_level": e.file.triage.get("care_level"),
        "outcome": outcome,
        "outcome_label": {"sv": words[0], "en": words[1]} if words else None,
        "profession": profession,
        "staff_name": e.file.staff_name or None,
    }


def read_record(ts_ms: int, staff: Staff, e: Earlier, via: str) -> AuditRecord:
    """The audit record of ``staff`` being shown the earlier case ``e`` beside the case ``via``."""
    detail = f"via:{via}"
    return AuditRecord(
        ts_ms, staff.id, staff.profession.value, e.record.unit, "earlier.read", e.file.case_id, e.file.patient_pnr,
        e.file.guardian_pnr, "ok", detail if len(detail) <= 64 else "",
    )  # fmt: skip


async def earlier_contacts(wf: Workflow, staff: Staff, case_id: str) -> list[dict[str, Any]]:
    """The patient's earlier contacts beside ``case_id``, for ``staff``; every read audited first.

    Raises:
        NotFound: no such case. Forbidden: not a case ``staff`` may see (audited as denied).
        RedisUnavailable: Redis could not be read or the audit log not written.
    """
    current, _ = await wf.staff_case(staff, case_id, "earlier.list")
    files = [f for f in await wf.s.files.of_patient(current.patient_pnr, SCANNED) if f.case_id != case_id]
    records = await asyncio.gather(*(_record(wf.s.waitroom, f.case_id) for f in files))
    found = [Earlier(f, r) for f, r in zip(files, records, strict=True) if r is not None]
    shown = shown_to(staff, current, found)
    await wf.s.audit.record_all([read_record(wf.s.clock(), staff, e, case_id) for e in shown])
    directory = wf.s.config.directory
    return [contact_view(e, _unit_name(directory.units, e.record.unit), _profession(wf, e)) for e in shown]


async def _record(waitroom: Waitroom, case_id: str) -> CaseRecord | None:
    try:
        return await waitroom.get(case_id)
    except UnknownCase:
        return None


def _unit_name(units: Mapping[str, Any], unit_id: str) -> str:
    unit = units.get(unit_id)
    return unit.name if unit is not None else unit_id


def _profession(wf: Workflow, e: Earlier) -> str | None:
    """The profession of whoever handled the case last; None if no one did."""
    if not e.file.staff_id:
        return None
    handler = wf.s.config.directory.staff.get(e.file.staff_id)
    return handler.profession.value if handler is not None else e.record.skill.value
