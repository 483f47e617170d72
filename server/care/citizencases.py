"""What a citizen does with their case: send a finished triage to the waiting room,
follow it, read its transcript, join its chat, leave the queue.

A submission plans the queue first, writes the case file under the planned
case id, then enqueues: the case cannot be claimed before its file exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog

from direkt.queue.model import Skill
from direkt.queue.records import CaseRequest, Position
from direkt.queue.scripts import redis_errors
from direkt.queue.urgency import Urgency
from direkt.server.care.casefile import CaseFile
from direkt.server.care.queueviews import QueueViews, position_view
from direkt.server.care.steering import SteeringStore
from direkt.server.care.transcript import Page, system_body
from direkt.server.errors import BadRequest, Conflict, Forbidden
from direkt.server.identity.access import is_guardian
from direkt.server.identity.sessions import Principal
from direkt.server.redis import keys
from direkt.triage import engine

log = structlog.get_logger("direkt.workflow")

ENTRY_UNIT_KIND = {"youth_clinic": "youth_clinic", "child_health": "child_health", "vaccination": "vaccination"}
ENTRY_SKILL = {"vaccination": Skill.VACCINATION, "admin": Skill.ADMINISTRATOR}
# Results that send the citizen elsewhere now never wait for a chat.
ELSEWHERE = {
    "112_now": "call 112 now: this cannot wait for a chat",
    "emergency_department": "go to an emergency department now: this cannot wait for a chat",
    "call_1177": "call the health advice line now: this cannot wait for a chat",
}


@dataclass(frozen=True)
class Submitted:
    file: CaseFile
    position: Position
    created: bool
    queue: Mapping[str, str]  # where the case waits: ``Workflow.queue_view``


class CitizenCases(QueueViews):
    """``submit``, ``citizen_status``, ``abandon``, ``transcript`` and ``citizen_joined``."""

    async def submit(
        self, who: Principal, tid: str, *, chat_anyway: bool = False, unit: str = "", phone: str = ""
    ) -> Submitted:
        """Send a finished triage to the waiting room (idempotent per triage).

        ``phone`` is the mobile number (E.164) the citizen gave, with consent, for
        the "chat ready" SMS; ``""``: no SMS.

        ``unit`` is the clinic whose page the citizen started from (the
        embedded widget's ``data-unit``); it replaces the listing as the home
        unit, so the case waits there or overflows from there.
        """
        state = await self.s.triage.get(who, tid)
        view = self.s.triage.view(state)
        result = view["result"]
        if result is None:
            raise Conflict("the triage is not finished")
        if result["care_level"] in ELSEWHERE:
            raise Conflict(ELSEWHERE[result["care_level"]])
        if result["care_level"] == "self_care" and not chat_anyway:
            raise Conflict("self-care is advised; send chat_anyway to ask for a chat all the same")
        child_name = await self._child_name(who, state)
        request = self._case_request(who, state, result, unit)
        planned = await self.s.waitroom.plan(request)
        if not state.case_id:  # a case sent before its unit closed intake is returned as it is
            await SteeringStore(self.s.client, self.s.config.directory).check_intake(planned.unit, self.s.clock())
        file = await self.s.files.create(
            self._new_file(who, state, result, planned.case_id, request, phone, child_name)
        )
        queued = await self.s.waitroom.enqueue(
            planned.case_id, planned.unit, request.skill, request.urgency, request.submitted_ms, meta=request.meta
        )
        if not state.case_id:
            await self.s.triage.save(replace(state, case_id=planned.case_id))
        log.info("case_submitted", case_id=file.case_id, unit=queued.unit, created=queued.created)
        position = await self.s.waitroom.position(file.case_id)
        queue = self.queue_view(queued.unit, queued.skill, home=file.home_unit)
        return Submitted(file, position, queued.created, queue)

    def _case_request(self, who: Principal, state: Any, result: Mapping[str, Any], unit: str = "") -> CaseRequest:
        citizen = self.s.config.citizens.get(who.pnr)
        home = citizen.home_unit if citizen else self.s.config.default_home_unit
        if unit:
            if unit not in self.s.config.directory.units:
                raise BadRequest(f"unknown unit {unit!r}")
            home = unit
        entry = state.session.entry.value
        home = self._entry_unit(entry, home)
        skill = ENTRY_SKILL.get(entry, Skill(result["profession"]))
        meta = {
            "reason": result["reason"]["code"],
            "label": result["reason"]["label"],
            "age": state.session.patient.age,
            "level": result["level"],
            "for_child": bool(state.guardian_pnr),
            "entry": entry,
            "care": result["care_level"],
        }
        return CaseRequest(state.id, home, skill, Urgency(result["urgency"] or 5), self.s.clock(), meta=meta)

    def _entry_unit(self, entry: str, home: str) -> str:
        kind = ENTRY_UNIT_KIND.get(entry)
        if kind is None and entry != "admin":
            return home
        region = self.s.config.directory.units[home].region
        wanted = kind or "admin"
        found = [u.id for u in self.s.config.directory.units.values() if u.region == region and u.kind == wanted]
        return found[0] if found else home

    async def _child_name(self, who: Principal, state: Any) -> str:
        """For a child's case, the guardian source is asked again (custody may have changed since the
        triage began): Forbidden when no longer the guardian, Unavailable when it cannot say."""
        if not state.guardian_pnr:
            return ""
        relations = await self.s.guardians.children_of(who.pnr)
        if not is_guardian(relations, who.pnr, state.patient_pnr):
            raise Forbidden("you can act only for your own children")
        return relations.children.get(state.patient_pnr, "")

    def _new_file(
        self,
        who: Principal,
        state: Any,
        result: Mapping[str, Any],
        case_id: str,
        req: CaseRequest,
        phone: str,
        child_name: str = "",
    ) -> CaseFile:
        patient = self.s.config.citizens.get(state.patient_pnr)
        # One's own name as the e-ID released it (else the demo file's, else neutral: identity.profile)
        name = who.name if not state.guardian_pnr else (child_name or (patient.name if patient else "Barn"))
        return CaseFile(
            case_id=case_id,
            owner_uid=who.uid,
            patient_pnr=state.patient_pnr,
            patient_name=name,
            guardian_pnr=state.guardian_pnr,
            first_name=who.given_name,  # the one logged in: a guardian is greeted, not the child
            phone=phone,  # given with consent for notices (issue 23), never the demo file's unasked
            lang=state.lang,
            entry=state.session.entry.value,
            home_unit=req.home_unit,
            created_ms=req.submitted_ms,
            triage={**result, "age": state.session.patient.age},
            triage_session=engine.dump(state.session),
        )

    async def citizen_status(self, who: Principal, case_id: str) -> dict[str, Any]:
        file = await self.citizen_case(who, case_id)
        record = await self.s.waitroom.get(case_id)
        queue = self.queue_view(record.unit, record.skill, home=file.home_unit)
        view = file.citizen_view() | {"state": record.state, "queue": queue}
        if record.state == "waiting":
            pos = await self.s.waitroom.position(case_id)
            steering = await SteeringStore(self.s.client, self.s.config.directory).of_unit(pos.unit)
            view["position"] = position_view(pos, staffed=await self.staffed(pos.unit, pos.skill))
            view["position"] |= steering.view(self.s.clock())
        return view

    async def set_phone(self, who: Principal, case_id: str, phone: str) -> CaseFile:
        """Give, change or remove (``""``) the number for the "chat ready" SMS of one's case, until it closes.

        Raises:
            NotFound: not the citizen's case; Conflict: the case is closed.
        """
        file = await self.citizen_case(who, case_id, "case.phone")  # the number is not in the audit record
        if file.closed_ms:
            raise Conflict("the case is closed")
        await self.s.files.set_phone(case_id, phone)
        log.info("case_phone_set", case_id=case_id, sms=bool(phone))  # whether, never the number
        return replace(file, phone=phone)

    async def abandon(self, who: Principal, case_id: str) -> bool:
        file = await self.citizen_case(who, case_id, "case.abandon")
        left = await self.s.waitroom.abandon(case_id)
        if left:
            await self.s.files.update(case_id, closed_ms=self.s.clock(), outcome="abandoned")
            await self.append(case_id, system_body("left", "Du lämnade kön.", "You left the queue."))
            await self.publish_case(case_id, {"state": "abandoned"})
        log.info("case_abandoned", case_id=file.case_id, now=left)
        return left

    async def transcript(self, who: Principal, case_id: str, epoch: str, after: str, limit: int) -> Page:
        """A page of the transcript as the citizen sees it: no staff-only entries (``next`` as read)."""
        await self.citizen_case(who, case_id, "transcript.read")
        page = await self.s.transcripts.since(case_id, epoch, after, limit)
        return replace(page, entries=[e for e in page.entries if not e.staff_only])

    async def citizen_joined(self, case_id: str, file: CaseFile) -> CaseFile:
        """The citizen is in the chat: the join window is met."""
        if not file.ready_ms or file.joined_ms or file.closed_ms:
            return file
        with redis_errors():
            await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
        file = await self.s.files.update(case_id, joined_ms=self.s.clock())
        await self.publish_case(case_id, {"state": "joined"})
        return file
