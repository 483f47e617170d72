"""What every part of the case workflow shares (``workflow.Workflow`` puts them together).

The services; who may see a case, checked and audited before the answer
leaves (fail closed: no audit record, no access; a refusal is audited as
denied); and the records a step leaves: the audit entry, the transcript
entry, the case event.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import msgpack

from direkt.queue.model import Staff
from direkt.queue.records import CaseRecord
from direkt.queue.scripts import redis_errors
from direkt.server.care.audit import AuditRecord
from direkt.server.care.casefile import CaseFile
from direkt.server.care.transcript import Appended
from direkt.server.care.triageflow import stockholm_date
from direkt.server.care.writeguard import Guard
from direkt.server.errors import Conflict, Forbidden, NotFound, Unavailable, UnknownCase
from direkt.server.identity.access import (
    check_citizen_may_see,
    check_staff_holds,
    check_staff_may_see,
    citizen_denial,
)
from direkt.server.identity.guardians import ChildrenOf
from direkt.server.identity.sessions import Principal
from direkt.server.redis import keys
from direkt.server.wiring import Services


class WorkflowBase:
    def __init__(self, services: Services) -> None:
        self.s = services

    # -- who may see a case ----------------------------------------------------------------

    async def citizen_case(
        self, who: Principal, case_id: str, action: str = "case.read", triage: Collection[str] | None = None
    ) -> CaseFile:
        """A case ``who`` may see as a citizen: their own, or their child's.

        A refusal of an existing case is audited as ``action`` denied before the
        error leaves (TARGETS 16: another citizen's case, a child of 13 or more).
        ``triage``: read only these keys of the triage summary (``CaseFiles.get``).

        Raises:
            NotFound: no such case, or not theirs; Forbidden: a staff login.
        """
        file = await self.s.files.get(case_id, triage)
        relations = ChildrenOf(who.pnr)  # one's own case asks no register
        try:
            if file.patient_pnr != who.pnr and not who.is_staff:
                relations = await self._relations(who, file)
            check_citizen_may_see(relations, who, file, stockholm_date(self.s.clock()))
        except (NotFound, Forbidden, Unavailable) as refused:  # an outage refuses, never allows
            await self.s.audit.record(citizen_denial(relations, who, file, action, self.s.clock(), refused.code))
            raise
        return file

    async def _relations(self, who: Principal, file: CaseFile) -> ChildrenOf:
        """The guardian's children, asked again at every access to someone else's case.

        A case sent by a guardian needs the answer (an outage raises Unavailable: refused,
        never allowed); any other is refused whatever it says, and the answer only names the
        refusal's role in the audit record ("guardian" of a child since grown), so an outage
        there leaves the role "citizen" and the answer "no such case".
        """
        if file.guardian_pnr:
            return await self.s.guardians.children_of(who.pnr)
        try:
            return await self.s.guardians.children_of(who.pnr)
        except Unavailable:
            return ChildrenOf(who.pnr)

    def staff_of(self, who: Principal) -> Staff:
        staff = self.s.config.directory.staff.get(who.staff_id) if who.is_staff else None
        if staff is None:
            raise Forbidden("this needs a staff login")
        return staff

    def staff_with_role(self, who: Principal, role: str) -> Staff:
        """The staff member behind ``who``, who must hold ``role`` ("supervisor", "admin").

        An administrator may do what a supervisor may, for every unit.
        """
        staff = self.staff_of(who)
        if role not in staff.roles and "admin" not in staff.roles:
            raise Forbidden(f"this needs the {role} role")
        return staff

    async def staff_case(
        self, staff: Staff, case_id: str, action: str, detail: str = "", *, holder: bool = False
    ) -> tuple[CaseFile, CaseRecord]:
        """A case a staff member may see (and, with ``holder``, holds), audited as ``action``.

        A refusal is audited as denied, never as the action it refused.
        """
        try:
            record = await self.s.waitroom.get(case_id)
        except UnknownCase:
            raise NotFound("no such case") from None
        file = await self.s.files.get(case_id)
        try:
            check_staff_may_see(staff, record)
            if holder and not (action == "case.close" and record.state == "closed" and record.holder == staff.id):
                check_staff_holds(staff, record)
        except (Forbidden, Conflict):
            await self.audit(staff, record, file, action, outcome="denied", detail=detail)
            raise
        await self.audit(staff, record, file, action, detail=detail)
        return file, record

    # -- what a step leaves ----------------------------------------------------------------

    async def append(
        self, case_id: str, body: dict[str, Any], dedupe: str = "", guard: Guard | None = None
    ) -> Appended:
        return await self.s.transcripts.append(case_id, {"ts": self.s.clock(), **body}, dedupe, guard)

    async def publish_case(self, case_id: str, event: dict[str, Any]) -> None:
        """An ephemeral case event for everyone following the case (state changes)."""
        payload = b"~" + msgpack.packb({"t": "case", "case": case_id, **event})
        with redis_errors():
            await self.s.client.publish(keys.case_channel(case_id), payload)

    async def audit(
        self, staff: Staff, record: CaseRecord, file: CaseFile, action: str, *, outcome: str = "ok", detail: str = ""
    ) -> None:
        await self.s.audit.record(
            AuditRecord(
                self.s.clock(),
                staff.id,
                staff.profession.value,
                record.unit,
                action,
                record.case_id,
                file.patient_pnr,
                file.guardian_pnr,
                outcome,
                detail,
            )
        )
