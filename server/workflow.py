"""What citizens and staff do with cases: one place for the rules, shared by
the HTTP API and the WebSocket hub.

Every staff read or change of a case is written to the audit log before the
answer leaves (fail closed: no audit record, no access), and so is every
denial. Chat-visible effects (a nurse opened the chat, the case was moved,
closed) are transcript entries; internal notes are staff-only entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import msgpack
import structlog

from direkt.queue.hours import is_open
from direkt.queue.model import Skill, Staff
from direkt.queue.scripts import redis_errors
from direkt.queue.urgency import Urgency
from direkt.queue.waitinfo import Smoothed, shown_range, staffed_queues
from direkt.queue.waitroom import CaseRecord, CaseRequest, Lease, Position
from direkt.server import keys
from direkt.server.access import (
    check_citizen_may_see,
    check_staff_holds,
    check_staff_may_see,
    citizen_denial,
)
from direkt.server.audit import AuditRecord
from direkt.server.availability import Availability, availability_of
from direkt.server.casefile import CaseFile
from direkt.server.errors import (
    BadRequest,
    Conflict,
    DirektError,
    Forbidden,
    NotAvailable,
    NotFound,
    QueueError,
    UnknownCase,
    UnknownQueue,
)
from direkt.server.notify import Notice
from direkt.server.presence import StaffPresence, online_ttl_ms
from direkt.server.services import Services
from direkt.server.sessions import Principal
from direkt.server.transcript import Appended, Page, system_body
from direkt.server.transfers import takes_patient
from direkt.server.triageflow import stockholm_date
from direkt.server.writeguard import Guard
from direkt.triage import engine

log = structlog.get_logger("direkt.workflow")

ENTRY_UNIT_KIND = {"youth_clinic": "youth_clinic", "child_health": "child_health", "vaccination": "vaccination"}
ENTRY_SKILL = {"vaccination": Skill.VACCINATION, "admin": Skill.ADMINISTRATOR}
# Results that send the citizen elsewhere now never wait for a chat.
# A profession as the citizen is told about it: "to a doctor at …" (Swedish, English).
PROFESSION_TEXT = {
    Skill.NURSE: ("en sjuksköterska", "a nurse"),
    Skill.DOCTOR: ("en läkare", "a doctor"),
    Skill.PSYCHOLOGIST: ("en psykolog", "a psychologist"),
    Skill.PHYSIOTHERAPIST: ("en fysioterapeut", "a physiotherapist"),
    Skill.MIDWIFE: ("en barnmorska", "a midwife"),
    Skill.ADMINISTRATOR: ("en administratör", "an administrator"),
    Skill.VACCINATION: ("vaccinationsmottagningen", "the vaccination service"),
}
ELSEWHERE = {
    "112_now": "call 112 now: this cannot wait for a chat",
    "emergency_department": "go to an emergency department now: this cannot wait for a chat",
    "call_1177": "call 1177 now: this cannot wait for a chat",
}


@dataclass(frozen=True)
class Submitted:
    file: CaseFile
    position: Position
    created: bool
    queue: Mapping[str, str]  # where the case waits: ``Workflow.queue_view``


class Workflow:
    def __init__(self, services: Services) -> None:
        self.s = services

    # -- citizens ------------------------------------------------------------------------

    async def submit(self, who: Principal, tid: str, *, chat_anyway: bool = False, unit: str = "") -> Submitted:
        """Send a finished triage to the waiting room (idempotent per triage).

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
        request = self._case_request(who, state, result, unit)
        planned = await self.s.waitroom.plan(request)
        file = await self.s.files.create(self._new_file(who, state, result, planned.case_id, request))
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

    def _new_file(
        self, who: Principal, state: Any, result: Mapping[str, Any], case_id: str, req: CaseRequest
    ) -> CaseFile:
        patient = self.s.config.citizens.get(state.patient_pnr)
        me = self.s.config.citizens.get(who.pnr)
        name = patient.name if patient else (who.name if not state.guardian_pnr else "Barn")
        return CaseFile(
            case_id=case_id,
            owner_uid=who.uid,
            patient_pnr=state.patient_pnr,
            patient_name=name,
            guardian_pnr=state.guardian_pnr,
            first_name=(me.first_name if me else who.name.split()[0]),
            phone=(me.phone or "") if me else "",
            lang=state.lang,
            entry=state.session.entry.value,
            home_unit=req.home_unit,
            created_ms=req.submitted_ms,
            triage={**result, "age": state.session.patient.age},
            triage_session=engine.dump(state.session),
        )

    async def citizen_case(self, who: Principal, case_id: str, action: str = "case.read") -> CaseFile:
        """A case ``who`` may see as a citizen: their own, or their child's.

        A refusal of an existing case is audited as ``action`` denied before the
        error leaves (TARGETS 16: another citizen's case, a child of 13 or more).

        Raises:
            NotFound: no such case, or not theirs; Forbidden: a staff login.
        """
        file = await self.s.files.get(case_id)
        try:
            check_citizen_may_see(self.s.config, who, file, stockholm_date(self.s.clock()))
        except (NotFound, Forbidden) as refused:
            await self.s.audit.record(citizen_denial(self.s.config, who, file, action, self.s.clock(), refused.code))
            raise
        return file

    async def citizen_status(self, who: Principal, case_id: str) -> dict[str, Any]:
        file = await self.citizen_case(who, case_id)
        record = await self.s.waitroom.get(case_id)
        queue = self.queue_view(record.unit, record.skill, home=file.home_unit)
        view = file.citizen_view() | {"state": record.state, "queue": queue}
        if record.state == "waiting":
            pos = await self.s.waitroom.position(case_id)
            view["position"] = position_view(pos, staffed=await self.staffed(pos.unit, pos.skill))
        return view

    async def staffed(self, unit_id: str, skill: str) -> bool:
        """Whether anyone who serves this queue has a console open now and is not away."""
        ttl = online_ttl_ms(self.s.settings.position_interval_seconds)
        online = await StaffPresence(self.s.client, ttl).attending(self.s.clock())
        return (unit_id, skill) in staffed_queues(self.s.config.directory, online)

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

    # -- staff ---------------------------------------------------------------------------

    def staff_of(self, who: Principal) -> Staff:
        staff = self.s.config.directory.staff.get(who.staff_id) if who.is_staff else None
        if staff is None:
            raise Forbidden("this needs a staff login")
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

    async def queue_snapshot(self, staff: Staff) -> list[dict[str, Any]]:
        """The waiting cases of the staff member's queues, earliest deadline first."""
        rows = []
        for unit, skill in self.s.config.directory.queues_of(staff):
            for case in await self.s.waitroom.waiting(unit.id, skill):
                rows.append(
                    waiting_view(
                        case.case_id,
                        unit.id,
                        skill.value,
                        case.deadline_ms,
                        case.urgency,
                        case.submitted_ms,
                        case.meta,
                        unit.pick_from_list,
                    )
                )
        return sorted(rows, key=lambda r: (r["deadline_ms"], r["case"]))

    async def claim_next(self, staff: Staff, request_id: str) -> tuple[CaseFile, Lease] | None:
        """The next case of the staff member's queues, or None when none waits.

        Raises:
            NotAvailable: the staff member has set themselves on a pause or away.
        """
        if await availability_of(self.s.client, staff.id, self.s.clock()) is not Availability.AVAILABLE:
            raise NotAvailable("you are on a pause or away: set yourself available to take the next case")
        lease = await self.s.waitroom.claim_next(staff, request_id)
        if lease is None:
            return None
        return await self._opened(staff, lease)

    async def claim(self, staff: Staff, case_id: str) -> tuple[CaseFile, Lease]:
        record = await self.s.waitroom.get(case_id)
        unit = self.s.config.directory.units.get(record.unit)
        if record.holder != staff.id and (unit is None or not unit.pick_from_list):
            raise Forbidden("this unit serves cases in deadline order: use claim next")
        try:
            lease = await self.s.waitroom.claim(case_id, staff)
        except QueueError:
            file = await self.s.files.get(case_id)
            await self.audit(staff, record, file, "case.claim", outcome="denied")
            raise
        return await self._opened(staff, lease)

    async def _opened(self, staff: Staff, lease: Lease) -> tuple[CaseFile, Lease]:
        """A claim succeeded: the citizen is told the chat is ready and has a window to join."""
        await self.s.guards.grant(lease.case_id, staff.id, lease.token, lease.lease_until_ms, self.s.clock())
        record = await self.s.waitroom.get(lease.case_id)
        file = await self.s.files.get(lease.case_id)
        await self.audit(staff, record, file, "case.claim")
        if file.ready_ms and file.staff_id == staff.id:
            return file, lease  # a repeated claim: the chat is open already
        now = self.s.clock()
        file = await self.s.files.update(
            lease.case_id, ready_ms=now, joined_ms=0, staff_id=staff.id, staff_name=staff.name
        )
        with redis_errors():
            await self.s.client.zadd(
                keys.JOIN_WINDOWS, {lease.case_id: now + int(self.s.settings.join_window_seconds * 1000)}
            )
        unit = self.s.config.directory.units[lease.unit].name
        await self.append(
            lease.case_id,
            system_body(
                "chat_ready",
                f"{staff.name} på {unit} har öppnat chatten.",
                f"{staff.name} at {unit} has opened the chat.",
                staff=staff.id,
                name=staff.name,
                profession=staff.profession.value,
            ),
        )
        ready = {"state": "ready", "staff_name": staff.name, "profession": staff.profession.value, "unit": unit}
        await self.publish_case(lease.case_id, ready)
        await self.notify_ready(file, unit)
        return file, lease

    async def notify_ready(self, file: CaseFile, unit: str) -> None:
        window = int(self.s.settings.join_window_seconds // 60) or 1
        notice = Notice(
            file.owner_uid,
            file.case_id,
            "chat_ready",
            f"1177: Din chatt med {unit} är redo. Logga in inom {window} min för att inte tappa din plats.",
            f"1177: Your chat with {unit} is ready. Log in within {window} min to keep your place.",
            file.phone or None,
        )
        frame = {
            "t": "notice",
            "kind": "chat_ready",
            "case": file.case_id,
            "text": {"sv": notice.text_sv, "en": notice.text_en},
            "join_within_s": self.s.settings.join_window_seconds,
        }
        with redis_errors():
            await self.s.client.publish(keys.user_channel(file.owner_uid), msgpack.packb(frame))
        await self.s.notifier.notify(notice)

    async def release(self, staff: Staff, case_id: str) -> None:
        _, record = await self.staff_case(staff, case_id, "case.release", holder=True)
        await self.s.waitroom.release(case_id, staff.id, record.token)
        await self.s.guards.revoke(case_id, record.token)
        await self.s.calls.case_ended(case_id, "released")
        await self._back_in_queue(
            case_id,
            "returned",
            "Du står i kön igen och får ett meddelande när det är din tur.",
            "You are back in the queue and will be told when it is your turn.",
        )

    async def transfer(self, staff: Staff, case_id: str, unit_id: str, skill: str, note: str) -> None:
        try:
            target_skill = Skill(skill)
        except ValueError:
            raise BadRequest(f"skill must be one of {', '.join(s.value for s in Skill)}") from None
        unit = self.s.config.directory.units.get(unit_id)
        if unit is None or target_skill not in unit.skills:
            raise BadRequest("no such unit, or it does not serve that profession")
        detail = f"{unit.id}:{target_skill.value}"
        file, record = await self.staff_case(staff, case_id, "case.transfer", detail, holder=True)
        if not takes_patient(unit.kind, file.triage.get("age")):
            raise BadRequest(f"{unit.name} does not take a patient of this age")
        if note.strip():
            await self.append(
                case_id,
                {
                    "k": "note",
                    "code": "transfer",
                    "text": note,
                    "from": f"s-{staff.id}",
                    "role": staff.profession.value,
                    "name": staff.name,
                    "vis": "staff",
                },
            )
        try:
            await self.s.waitroom.transfer(case_id, staff.id, record.token, unit.id, target_skill)
        except UnknownQueue as exc:
            raise BadRequest(exc.message) from None
        await self.s.guards.revoke(case_id, record.token)
        await self.s.calls.case_ended(case_id, "transferred")
        # The citizen is told to whom (profession and unit), never the staff note.
        queue = self.queue_view(unit.id, target_skill)
        sv, en = PROFESSION_TEXT[target_skill]
        await self._back_in_queue(
            case_id,
            "transferred",
            f"Ditt ärende har lämnats över till {sv} på {unit.name}. Du står i kö där.",
            f"Your case has been handed over to {en} at {unit.name}. You are waiting there.",
            queue,
        )

    def queue_view(self, unit_id: str, skill: Skill, *, home: str = "") -> dict[str, Any]:
        """Where a case waits, as clients show it: the unit (id and name) and the profession it waits for.

        With ``home`` (the citizen's own unit) elsewhere than where the case
        waits: its name and whether it is open now, so the citizen is told who
        answers while their own unit is closed.
        """
        units = self.s.config.directory.units
        unit = units.get(unit_id)
        view: dict[str, Any] = {"unit": unit_id, "unit_name": unit.name if unit else unit_id, "skill": skill.value}
        if home and home != unit_id and (own := units.get(home)) is not None:
            open_now = is_open(own.hours, self.s.config.directory.calendar, self.s.clock())
            view |= {"home_unit": home, "home_unit_name": own.name, "home_open": open_now}
        return view

    async def _back_in_queue(
        self, case_id: str, code: str, sv: str, en: str, queue: Mapping[str, str] | None = None
    ) -> None:
        await self.s.files.update(case_id, ready_ms=0, joined_ms=0, staff_id="", staff_name="")
        with redis_errors():
            await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
        await self.append(case_id, system_body(code, sv, en) | dict(queue or {}))
        await self.publish_case(case_id, {"state": "waiting", "back": code} | ({"queue": dict(queue)} if queue else {}))

    async def close(self, staff: Staff, case_id: str, outcome: str, note: str) -> None:
        _, record = await self.staff_case(staff, case_id, "case.close", outcome, holder=True)
        if record.state == "closed":
            return  # a retried close by the same holder
        if note.strip():
            await self.append(
                case_id,
                {
                    "k": "note",
                    "code": "journal",
                    "text": note,
                    "from": f"s-{staff.id}",
                    "role": staff.profession.value,
                    "name": staff.name,
                    "vis": "staff",
                    "outcome": outcome,
                },
            )
        assessed = outcome != "no_contact"
        await self.s.waitroom.close(case_id, staff.id, record.token, outcome, assessed=assessed)
        await self.s.guards.revoke(case_id, record.token)
        await self.s.files.update(case_id, closed_ms=self.s.clock(), outcome=outcome)
        await self.s.calls.case_ended(case_id, "case_closed")
        with redis_errors():
            await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
        await self.append(
            case_id,
            system_body(
                "closed",
                "Chatten är avslutad. Du kan läsa den i efterhand.",
                "The chat is closed. You can read it afterwards.",
                outcome=outcome,
            ),
        )
        await self.publish_case(case_id, {"state": "closed", "outcome": outcome})

    async def first_contact(self, staff: Staff, case_id: str, token: int) -> None:
        try:
            await self.s.waitroom.record_contact(case_id, staff.id, token)
        except QueueError as exc:
            log.warning("contact_not_recorded", case_id=case_id, code=exc.code)

    # -- join windows --------------------------------------------------------------------

    async def expire_join_windows(self) -> int:
        """Cases whose citizen did not join in time go back to the queue at their deadline."""
        now = self.s.clock()
        with redis_errors():
            due: Any = await self.s.client.zrangebyscore(keys.JOIN_WINDOWS, "-inf", now, start=0, num=100)
        expired = 0
        for raw in due:
            case_id = raw.decode()
            with redis_errors():
                mine = await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
            if mine and await self._expire_join(case_id):
                expired += 1
        return expired

    async def _expire_join(self, case_id: str) -> bool:
        try:
            file = await self.s.files.get(case_id)
            record = await self.s.waitroom.get(case_id)
        except DirektError as exc:
            log.warning("join_window_not_expired", case_id=case_id, code=exc.code)
            return False
        if file.joined_ms or record.state != "claimed" or not await self._system_release(record, file, "join_window"):
            return False
        await self._back_in_queue(
            case_id,
            "not_joined",
            "Du anslöt inte till chatten i tid. Du står kvar i kön på samma plats.",
            "You did not join the chat in time. You keep your place in the queue.",
        )
        return True

    def serves(self, staff: Staff, record: CaseRecord) -> bool:
        """The case's queue is one of hers under the region file this server started with."""
        return any(
            unit.id == record.unit and skill == record.skill for unit, skill in self.s.config.directory.queues_of(staff)
        )

    async def end_unassigned_leases(self, staff: Staff, held: list[CaseRecord]) -> list[str]:
        """End her leases (``held``) on cases of queues she no longer serves (TARGETS 15: a revoked assignment).

        Units and professions come from the region file, read when a server
        starts: a unit taken from her takes effect as the servers restart with
        the edited file, and her console reconnects. Each such case goes back to
        its queue at its original deadline, for the unit's other staff.

        Returns:
            The cases whose lease ended.
        """
        ended = []
        for record in held:
            if self.serves(staff, record):
                continue
            if await self._system_release(record, await self.s.files.get(record.case_id), "unassigned"):
                await self._back_in_queue(
                    record.case_id,
                    "returned",
                    "Du står i kön igen och får ett meddelande när det är din tur.",
                    "You are back in the queue and will be told when it is your turn.",
                )
                ended.append(record.case_id)
        return ended

    async def _system_release(self, record: CaseRecord, file: CaseFile, reason: str) -> bool:
        """The system ends a nurse's lease (``reason``: join_window, unassigned); False if it had ended already.

        Audited first, like a staff member's release: recorded after, the log
        showed the next nurse's claim of the case before the release that freed it.
        """
        try:
            await self.s.audit.record(
                AuditRecord(
                    self.s.clock(), "system", "system", record.unit, "case.release", record.case_id,
                    file.patient_pnr, file.guardian_pnr, detail=reason,
                )
            )  # fmt: skip
            await self.s.waitroom.release(record.case_id, record.holder, record.token)
            await self.s.guards.revoke(record.case_id, record.token)
        except DirektError as exc:
            log.warning("system_release_failed", case_id=record.case_id, reason=reason, code=exc.code)
            return False
        await self.s.calls.case_ended(record.case_id, "released")
        return True

    # -- shared --------------------------------------------------------------------------

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


def position_view(pos: Position, smoothed: Smoothed | None = None, *, staffed: bool | None = None) -> dict[str, Any]:
    """A waiting case's place as the citizen sees it (docs/protocol.md §6).

    ``estimated_wait_ms`` is the smoothed estimate when there is one;
    ``wait_range_ms`` the range to show (None: say so instead, see
    ``waitinfo.shown_range``); ``open``/``opens_ms`` whether the unit the case
    waits at is open now, else when it opens; ``staffed`` whether anyone who
    serves the queue has a console open (None: not known).
    """
    wait = smoothed.wait_ms if smoothed is not None else pos.estimated_wait_ms
    shown = shown_range(wait, pos.position, pos.served, open_now=pos.open, staffed=staffed)
    return {
        "position": pos.position,
        "depth": pos.depth,
        "estimated_wait_ms": None if wait is None else round(wait),
        "deadline_ms": pos.deadline_ms,
        "wait_range_ms": [shown.low_ms, shown.high_ms] if shown else None,
        "open": pos.open,
        "opens_ms": None if pos.open else pos.opens_ms,
        "staffed": staffed,
    }


def waiting_view(
    case_id: str,
    unit: str,
    skill: str,
    deadline: int,
    urgency: int,
    submitted: int,
    meta: Mapping[str, Any],
    pick: bool,
) -> dict[str, Any]:
    return {
        "case": case_id,
        "unit": unit,
        "skill": skill,
        "deadline_ms": deadline,
        "urgency": int(urgency),
        "submitted_ms": submitted,
        "reason": meta.get("reason"),
        "label": meta.get("label"),
        "age": meta.get("age"),
        "for_child": meta.get("for_child", False),
        "pickable": pick,
    }
