"""A staff member takes a case: claim, open the chat, first contact.

A claim that succeeds grants the write guard for the lease's token, is
audited, and opens the chat once: the citizen is told it is ready (in the
transcript, as a case event, and as a notice to their phone and open pages)
and has a join window (``joinwindows``) to come in before the case goes back
to the queue.
"""

from __future__ import annotations

import msgpack
import structlog

from direkt.queue.model import Staff
from direkt.queue.records import Lease
from direkt.queue.scripts import redis_errors
from direkt.queue.urgency import Urgency
from direkt.server.care.availability import Availability, availability_of
from direkt.server.care.casefile import CaseFile
from direkt.server.care.notices import Notice
from direkt.server.care.transcript import system_body
from direkt.server.care.workflowbase import WorkflowBase
from direkt.server.errors import Forbidden, NotAvailable, QueueError
from direkt.server.metrics import urgency_label
from direkt.server.redis import keys

log = structlog.get_logger("direkt.workflow")


class Claims(WorkflowBase):
    """``claim_next``, ``claim``, ``notify_ready`` and ``first_contact``."""

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
        self._count_claim(lease, record.urgency, now - record.submitted_ms if record.claims == 1 else None)
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

    def _count_claim(self, lease: Lease, urgency: Urgency, waited_ms: int | None) -> None:
        """A chat opened; ``waited_ms`` is the wait from submission, at a case's first claim only."""
        metrics = self.s.metrics
        metrics.claims.labels(lease.unit, lease.skill.value).inc()
        if waited_ms is not None:
            metrics.claim_wait.labels(urgency_label(urgency)).observe(max(0, waited_ms) / 1000)

    async def notify_ready(self, file: CaseFile, unit: str) -> None:
        window = int(self.s.settings.join_window_seconds // 60) or 1
        text_sv, text_en = self.s.config.brand.chat_ready(unit, window)
        notice = Notice(file.owner_uid, file.case_id, "chat_ready", text_sv, text_en, file.phone or None)
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

    async def first_contact(self, staff: Staff, case_id: str, token: int) -> None:
        try:
            await self.s.waitroom.record_contact(case_id, staff.id, token)
        except QueueError as exc:
            log.warning("contact_not_recorded", case_id=case_id, code=exc.code)
