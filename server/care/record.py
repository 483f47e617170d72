"""Exporting a closed case's journal record: who may, what it is built from, and the audit record.

The staff member must serve the case's unit (the rule of every staff read,
``identity.access.check_staff_may_see``) and the case must be closed: the record is the
contact as it ended. Every export is audited as ``record.export`` with the format as its
detail (``fhir`` or ``html``), before the record leaves; a refusal as ``record.export``
denied. A case still open is refused (409) without an audit record: nothing was shown.

The building is pure (``fhirrecord``, ``recordhtml``); this module only gathers its inputs:
the case file, the whole transcript (a page at a time), the units (the catalogue's facts) and
the staff member by id, and the booking (``Services.bookings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from direkt.queue.model import Staff
from direkt.server.care.recordinput import ChatSummary, RecordInput, StaffInfo, UnitInfo, summarise
from direkt.server.care.workflow import Workflow
from direkt.server.errors import Conflict, Forbidden, NotFound, UnknownCase
from direkt.server.identity.access import check_staff_may_see
from direkt.server.wiring import Services

ACTION = "record.export"
FORMATS = ("fhir", "html")


class NotClosed(Conflict):
    code = "case_open"


async def record_input(wf: Workflow, staff: Staff, case_id: str, fmt: str) -> RecordInput:
    """The facts of ``case_id``'s record for ``staff``, the export audited as ``fmt``.

    Raises:
        NotFound: no such case. Forbidden: a unit she does not serve (audited as denied).
        NotClosed: the case is still open. RedisUnavailable: Redis could not be read or the
        audit log not written.
    """
    try:
        record = await wf.s.waitroom.get(case_id)
    except UnknownCase:
        raise NotFound("no such case") from None
    file = await wf.s.files.get(case_id)
    try:
        check_staff_may_see(staff, record)
    except Forbidden:
        await wf.audit(staff, record, file, ACTION, outcome="denied", detail=fmt)
        raise
    if not file.closed_ms:
        raise NotClosed("the journal record can be exported once the case is closed")
    await wf.audit(staff, record, file, ACTION, detail=fmt)
    chat = ChatSummary()
    async for page in wf.s.transcripts.pages(case_id):  # a page at a time, never the whole chat at once
        chat = summarise(page.entries, chat)
    booking = await booking_of(wf.s, file.booking, file.patient_pnr) if file.booking else None
    return RecordInput(
        file=file,
        unit=unit_info(wf.s, record.unit),
        staff=staff_info(wf.s, file.staff_id),
        chat=chat,
        referred=unit_info(wf.s, file.referred_unit) if file.referred_unit else None,
        booking=booking,
        booking_unit=unit_info(wf.s, str(booking.get("unit", ""))) if booking else None,
    )


async def booking_of(svc: Services, booking_id: str, patient_pnr: str) -> Mapping[str, Any] | None:
    """The booking a close named (``direkt.server.booking``), as it is now (booked or cancelled).

    None when it is gone or is another patient's: a record never carries someone else's visit.
    """
    try:
        booking = await svc.bookings.get(booking_id)
    except NotFound:
        return None
    return asdict(booking) if booking.patient_pnr == patient_pnr else None


def unit_info(svc: Services, unit_id: str) -> UnitInfo:
    """A unit by id: the catalogue's facts (address, phone, web), else its name in the region's directory."""
    if (care := svc.catalogue.get(unit_id)) is not None:
        return UnitInfo(care.id, care.name, care.address, care.postcode, care.city, care.phone, care.web)
    unit = svc.config.directory.units.get(unit_id)
    return UnitInfo(unit_id, unit.name if unit is not None else unit_id)


def staff_info(svc: Services, staff_id: str) -> StaffInfo | None:
    """Who handled the case: name, profession, and the HSA-id the region's file gives her."""
    if not staff_id:
        return None
    config = svc.config
    member = config.directory.staff.get(staff_id)
    spec = next((s for s in config.spec.staff if s.id == staff_id), None) if config.spec is not None else None
    if member is None:
        return StaffInfo(staff_id, spec.name if spec else staff_id, spec.profession.value if spec else "")
    return StaffInfo(member.id, member.name, member.profession.value, (spec.hsa_id or "") if spec else "")
