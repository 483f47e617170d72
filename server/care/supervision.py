"""The supervisor's view of their units, and what they may do with a chat.

The board (``Supervision.board``): per unit the supervisor steers (an
administrator: every unit), each queue's depth by urgency, its oldest wait
against its deadline, the cases past their deadline and those about to pass
it (within ``SOON_MS``), who of the unit's staff is online with their
availability and open chats, and the unit's steering (intake, notice) and
closure days. Shaped by pure functions (``queue_summary``, ``staff_row``,
``unit_board``); the reads are thin.

The actions: release a staff member's chat back to its queue, or reassign it
to another staff member who is online, not away and serves its queue. Both
end the holder's lease through the waiting room's own release (the fencing
token moves on, so the holder's socket hears ``requeued`` and lets go of the
case at once); a reassignment then claims the case for the new holder, opens
the chat for them as a claim does, and tells their consoles (``assigned`` on
their user channel), which take it up. Each action is audited twice: as an
operation (``staff.release``, ``staff.reassign``) and as an access to the
case, with its patient; refusals are audited as denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgpack

from direkt.queue.keys import RegionKeys
from direkt.queue.model import Staff, Unit
from direkt.queue.records import CaseRecord, WaitingCase
from direkt.queue.scripts import redis_errors
from direkt.server.care.audit import AuditRecord, operation
from direkt.server.care.availability import Availability, read_stored
from direkt.server.care.claims import Claims
from direkt.server.care.handover import Handover
from direkt.server.care.presence import StaffPresence, online_ttl_ms
from direkt.server.care.steering import Invalid, Steering, SteeringStore
from direkt.server.errors import AtCapacity, Conflict, DirektError, Forbidden, NotFound, QueueError, UnknownCase
from direkt.server.identity.sessions import staff_uid
from direkt.server.redis import keys

SOON_MS = 15 * 60_000  # a case this close to its deadline is about to breach
CASES_SHOWN = 20  # waiting cases listed per queue (the counts cover them all)


# -- the board, pure -----------------------------------------------------------------------------


def queue_summary(skill: str, waiting: Sequence[WaitingCase], now_ms: int) -> dict[str, Any]:
    """One queue as the board shows it: counts by urgency, the oldest wait, breaches, the first cases."""
    by_urgency: dict[str, int] = {}
    for case in waiting:
        by_urgency[str(int(case.urgency))] = by_urgency.get(str(int(case.urgency)), 0) + 1
    oldest = min(waiting, key=lambda c: (c.submitted_ms, c.case_id), default=None)
    return {
        "skill": skill,
        "depth": len(waiting),
        "by_urgency": by_urgency,
        "oldest": None if oldest is None else case_row(oldest, now_ms),
        "breached": sum(1 for c in waiting if c.deadline_ms <= now_ms),
        "soon": sum(1 for c in waiting if now_ms < c.deadline_ms <= now_ms + SOON_MS),
        "cases": [case_row(c, now_ms) for c in sorted(waiting, key=lambda c: (c.deadline_ms, c.case_id))[:CASES_SHOWN]],
    }


def case_row(case: WaitingCase, now_ms: int) -> dict[str, Any]:
    """A waiting case on the board: why and how urgent, how long it waited and how long is left; never who."""
    left = case.deadline_ms - now_ms
    return {
        "case": case.case_id,
        "urgency": int(case.urgency),
        "label": case.meta.get("label"),
        "submitted_ms": case.submitted_ms,
        "deadline_ms": case.deadline_ms,
        "waited_ms": max(0, now_ms - case.submitted_ms),
        "left_ms": left,
        "state": "breached" if left <= 0 else "soon" if left <= SOON_MS else "ok",
    }


def staff_row(
    staff: Staff, unit: Unit, online: bool, availability: Availability, held: Sequence[CaseRecord]
) -> dict[str, Any]:
    """A staff member of the unit: whether online, their availability, their open chats."""
    return {
        "id": staff.id,
        "name": staff.name,
        "profession": staff.profession.value,
        "skills": sorted(s.value for s in staff.skills & unit.skills),
        "online": online,
        "status": availability.value if online else "offline",
        "max_chats": staff.max_chats,
        "chats": [{"case": r.case_id, "unit": r.unit, "skill": r.skill.value} for r in held],
    }


def takers(skill: str, holder: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Who of a unit's staff (``staff_row``s) could take over a chat: online, not away, serving its queue, with room."""
    return [
        row["id"]
        for row in rows
        if row["id"] != holder
        and row["online"]
        and row["status"] != Availability.AWAY.value
        and skill in row["skills"]
        and len(row["chats"]) < row["max_chats"]
    ]


def unit_board(
    unit: Unit,
    queues: list[dict[str, Any]],
    staff: list[dict[str, Any]],
    steering: Steering,
    now_ms: int,
) -> dict[str, Any]:
    """A unit's part of the board; each open chat at the unit names who could take it over."""
    chats = []
    for row in staff:
        for chat in row["chats"]:
            if chat["unit"] == unit.id:
                chats.append({**chat, "holder": row["id"], "takers": takers(chat["skill"], row["id"], staff)})
    return {
        "unit": unit.id,
        "name": unit.name,
        "region": unit.region,
        "queues": queues,
        "depth": sum(q["depth"] for q in queues),
        "breached": sum(q["breached"] for q in queues),
        "soon": sum(q["soon"] for q in queues),
        "staff": staff,
        "chats": chats,
        "closed_days": [d.isoformat() for d in sorted(unit.hours.closed_days)],
        **steering.view(now_ms),
    }


# -- reads and actions ---------------------------------------------------------------------------


class Supervision(Claims, Handover):
    """``board``, ``release_chat`` and ``reassign_chat`` for a supervisor (or an administrator)."""

    def supervisor_of(self, staff: Staff, unit_id: str) -> None:
        """Raises NotFound for an unknown unit, Forbidden for a unit ``staff`` does not steer."""
        if unit_id not in self.s.config.directory.units:
            raise NotFound("no such unit")
        if not staff.supervises(unit_id):
            raise Forbidden("you do not supervise this unit")

    async def board(self, boss: Staff) -> dict[str, Any]:
        directory = self.s.config.directory
        units = sorted((u for u in directory.units.values() if boss.supervises(u.id)), key=lambda u: u.name)
        now = self.s.clock()
        steering = await SteeringStore(self.s.client, directory).of_units(u.id for u in units)
        online, settings = await self._presence(now)
        held: dict[str, list[CaseRecord]] = {}
        boards = []
        for unit in units:
            queues = [
                queue_summary(skill.value, await self.s.waitroom.waiting(unit.id, skill), now)
                for skill in sorted(unit.skills)
            ]
            rows = []
            for member in sorted((s for s in directory.staff.values() if unit.id in s.units), key=lambda s: s.name):
                if member.id not in held:
                    held[member.id] = await self.s.waitroom.held_by(member)
                status = settings.get(member.id, Availability.AVAILABLE)
                rows.append(staff_row(member, unit, member.id in online, status, held[member.id]))
            boards.append(unit_board(unit, queues, rows, steering.get(unit.id, Steering()), now))
        return {"now_ms": now, "soon_ms": SOON_MS, "units": boards}

    async def _presence(self, now: int) -> tuple[frozenset[str], dict[str, Availability]]:
        ttl = online_ttl_ms(self.s.settings.position_interval_seconds)
        online = await StaffPresence(self.s.client, ttl).online(now)
        with redis_errors():
            raw: Any = await self.s.client.hgetall(keys.AVAILABILITY)
        return online, {_text(k): read_stored(v, now) for k, v in raw.items()}

    async def release_chat(self, boss: Staff, case_id: str, holder: str) -> CaseRecord:
        """Take the chat from ``holder`` and put it back in its queue at its original deadline."""
        record = await self._take_from(boss, case_id, holder, "staff.release", holder)
        await self._back_in_queue(
            case_id,
            "returned",
            "Du står i kön igen och får ett meddelande när det är din tur.",
            "You are back in the queue and will be told when it is your turn.",
        )
        return record

    async def reassign_chat(self, boss: Staff, case_id: str, holder: str, to: str) -> bool:
        """Give ``holder``'s chat to staff member ``to``; False if it is theirs already (a replay).

        Raises:
            Invalid: ``to`` is no staff member who serves the case's queue.
            Conflict: ``to`` is not online or is away; AtCapacity: ``to`` has no room.
        """
        record = await self._supervised(boss, case_id, "staff.reassign")
        if record.state == "claimed" and record.holder == to:
            return False
        await self._held_by(boss, record, holder, "staff.reassign")
        target = self.s.config.directory.staff.get(to)
        try:
            if target is None or not _serves(self.s.config.directory.queues_of(target), record):
                raise Invalid("the new holder must be a staff member who serves the case's queue")
            await self._may_take(target, record)
        except DirektError as exc:
            await self._operation(boss, "staff.reassign", record.unit, exc.code, ok=False)
            raise
        await self._take_from(boss, case_id, holder, "staff.reassign", f"{holder}:{to}")
        try:
            lease = await self.s.waitroom.claim(case_id, target)
        except QueueError:  # taken meanwhile or no room after all
            if (await self.s.waitroom.get(case_id)).state == "waiting":  # not if another nurse claimed it meanwhile
                await self._back_in_queue(case_id, "returned", "Du står i kön igen.", "You are back in the queue.")
            raise
        await self._opened(target, lease)
        with redis_errors():
            frame = {"t": "assigned", "case": case_id, "by": boss.name}
            await self.s.client.publish(keys.user_channel(staff_uid(target.id)), msgpack.packb(frame))
        return True

    async def _may_take(self, target: Staff, record: CaseRecord) -> None:
        now = self.s.clock()
        online, settings = await self._presence(now)
        if target.id not in online or settings.get(target.id) is Availability.AWAY:
            raise Conflict("the new holder is not online, or is away")
        with redis_errors():
            count = await self.s.client.scard(RegionKeys(self._region(record)).held(target.id))
        if int(count) >= target.max_chats:
            raise AtCapacity("the new holder already has as many chats as allowed")

    def _region(self, record: CaseRecord) -> str:
        return self.s.config.directory.units[record.unit].region

    async def _supervised(self, boss: Staff, case_id: str, action: str) -> CaseRecord:
        """The case, if ``boss`` steers its unit (a refusal audited)."""
        try:
            record = await self.s.waitroom.get(case_id)
        except UnknownCase:
            await self._operation(boss, action, "", "not_found", ok=False)
            raise NotFound("no such case") from None
        if not boss.supervises(record.unit):
            await self._operation(boss, action, record.unit, "forbidden", ok=False)
            raise Forbidden("you do not supervise this case's unit")
        return record

    async def _held_by(self, boss: Staff, record: CaseRecord, holder: str, action: str) -> None:
        """Raises Conflict (audited) unless ``holder`` holds the case now: the board was out of date."""
        if record.state != "claimed" or record.holder != holder:
            await self._operation(boss, action, record.unit, "not_held", ok=False)
            raise Conflict(f"the case is not held by {holder} now")

    async def _take_from(self, boss: Staff, case_id: str, holder: str, action: str, detail: str) -> CaseRecord:
        """End ``holder``'s lease on the case (audited first, as an operation and as an access to the case)."""
        record = await self._supervised(boss, case_id, action)
        await self._held_by(boss, record, holder, action)
        file = await self.s.files.get(case_id)
        await self._operation(boss, action, record.unit, detail)
        await self.s.audit.record(
            AuditRecord(
                self.s.clock(), boss.id, "supervisor", record.unit, "case." + action.split(".")[1], case_id,
                file.patient_pnr, file.guardian_pnr, detail=detail,
            )
        )  # fmt: skip
        await self.s.waitroom.release(case_id, record.holder, record.token)
        await self.s.guards.revoke(case_id, record.token)
        await self.s.calls.case_ended(case_id, "released")
        return record

    async def _operation(self, boss: Staff, action: str, unit: str, detail: str, *, ok: bool = True) -> None:
        await self.s.audit.record(operation(self.s.clock(), boss, action, unit=unit, detail=detail, ok=ok))


def _serves(queues: Iterable[tuple[Unit, Any]], record: CaseRecord) -> bool:
    return any(unit.id == record.unit and skill == record.skill for unit, skill in queues)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
