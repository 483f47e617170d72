"""The holder lets a case go: back to its queue (release), on to another
unit or profession (transfer), or out (close).

Each step is checked and audited as the holder's (``staff_case``), changes
the waiting room, revokes the write guard of the holder's token, ends a call
in progress, and tells the citizen in the chat. The citizen is told where
the case went, never a staff note.
"""

from __future__ import annotations

from typing import Any

from direkt.queue.model import Skill, Staff
from direkt.queue.scripts import redis_errors
from direkt.server.care.queueviews import QueueViews
from direkt.server.care.transcript import system_body
from direkt.server.care.transfers import takes_patient
from direkt.server.errors import BadRequest, UnknownQueue
from direkt.server.redis import keys

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


class Handover(QueueViews):
    """``release``, ``transfer`` and ``close``."""

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
        self.s.metrics.transfers.labels(unit.id, target_skill.value).inc()
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

    async def close(
        self, staff: Staff, case_id: str, outcome: str, note: str, *, unit: str = "", booking: str = ""
    ) -> None:
        """Close the case held by ``staff``; ``unit`` names the care unit of a referral, ``booking``
        the visit booked (``close_links`` says which outcome takes which).

        Raises:
            BadRequest: a unit or booking with an outcome that does not take it.
        """
        close_links(outcome, unit, booking)
        if unit and self.s.catalogue.get(unit) is None:
            raise BadRequest("no such unit in the referral catalogue")
        file, record = await self.staff_case(staff, case_id, "case.close", outcome, holder=True)
        if record.state == "closed":
            return  # a retried close by the same holder
        if booking and not await self.s.bookings.is_of(booking, file.patient_pnr):
            raise BadRequest("no such booking for this patient")
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
        self.s.metrics.closes.labels(record.unit, outcome).inc()
        await self.s.guards.revoke(case_id, record.token)
        await self.s.files.update(
            case_id, closed_ms=self.s.clock(), outcome=outcome, referred_unit=unit, booking=booking
        )
        await self.s.calls.case_ended(case_id, "case_closed")
        with redis_errors():
            await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
        links: dict[str, Any] = {k: v for k, v in (("unit", unit), ("booking", booking)) if v}
        await self.append(
            case_id,
            system_body(
                "closed",
                "Chatten är avslutad. Du kan läsa den i efterhand.",
                "The chat is closed. You can read it afterwards.",
                outcome=outcome,
                **links,
            ),
        )
        await self.publish_case(case_id, {"state": "closed", "outcome": outcome} | links)


REFERRAL_OUTCOMES = frozenset({"referred"})
BOOKING_OUTCOMES = frozenset({"visit_booked", "video_consultation"})


def close_links(outcome: str, unit: str, booking: str) -> None:
    """A referral names a unit only with outcome ``referred``; a booking only with a visit outcome.

    Raises:
        BadRequest: a link given with an outcome that does not take it.
    """
    if unit and outcome not in REFERRAL_OUTCOMES:
        raise BadRequest("a unit is named only when the outcome is 'referred'")
    if booking and outcome not in BOOKING_OUTCOMES:
        raise BadRequest("a booking is named only when the outcome is 'visit_booked' or 'video_consultation'")
