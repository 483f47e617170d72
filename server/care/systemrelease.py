"""The system ends a nurse's lease: a join window that ran out, a unit taken from her.

Either way the case goes back to its queue at its original deadline, and the
release is audited first, like a staff member's: recorded after, the log
showed the next nurse's claim of the case before the release that freed it.
"""

from __future__ import annotations

import contextlib

import structlog

from direkt.queue.model import Staff
from direkt.queue.records import CaseRecord
from direkt.queue.scripts import redis_errors
from direkt.server.care.audit import AuditRecord
from direkt.server.care.casefile import CaseFile
from direkt.server.care.queueviews import QueueViews
from direkt.server.errors import DirektError
from direkt.server.redis import keys

log = structlog.get_logger("direkt.workflow")
LOST = "data_lost"  # the outcome of a case whose record Redis lost


class SystemReleases(QueueViews):
    """``serves``, ``end_unassigned_leases`` and the release they share with the join windows."""

    def serves(self, staff: Staff, record: CaseRecord) -> bool:
        """The case's queue is one of hers under the live configuration (server/liveconfig.py)."""
        return any(
            unit.id == record.unit and skill == record.skill for unit, skill in self.s.config.directory.queues_of(staff)
        )

    async def end_unassigned_leases(self, staff: Staff, held: list[CaseRecord]) -> list[str]:
        """End her leases (``held``) on cases of queues she no longer serves (TARGETS 15: a revoked assignment).

        Units and professions come from the live configuration: a unit taken
        from her closes her sockets on every process (4002), and her console
        reconnects. Each such case goes back to its queue at its original
        deadline, for the unit's other staff.

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

    async def data_lost(self, case_id: str) -> bool:
        """The case's file is gone while its queue record lives on (a Cluster node lost its data)."""
        with contextlib.suppress(DirektError), redis_errors():
            return not await self.s.client.exists(keys.case_file(case_id))
        return False

    async def end_lost_case(self, staff: Staff, case_id: str) -> bool:
        """Close the case ``staff`` holds whose record Redis lost; False if there was nothing to end.

        On a Redis Cluster one node can lose its data alone (restarted empty):
        the case file, transcript and write guard share the case's hash tag and
        go together, while the waiting room's record lives on with the region's
        keys. Left alone it would keep her lease alive for as long as her
        console heartbeats and take one of her chat places. It is closed as
        ``data_lost`` (not assessed, and not a first contact), audited once as
        the operation ``data.lost``: the patient it was about went with the file.
        """
        try:
            record = await self.s.waitroom.get(case_id)
            if record.state != "claimed" or record.holder != staff.id:
                return False
            if not await self.s.waitroom.close(case_id, staff.id, record.token, LOST, assessed=False):
                return False  # closed already (her other socket was first)
            await self.s.audit.record(
                AuditRecord(self.s.clock(), "system", "system", record.unit, "data.lost", case_id, "", "", detail=LOST)
            )
        except DirektError as exc:
            log.warning("lost_case_close_failed", case_id=case_id, code=exc.code)
            return False
        log.warning("lost_case_closed", case_id=case_id, unit=record.unit)
        self.s.metrics.closes.labels(record.unit, LOST).inc()
        await self.s.calls.case_ended(case_id, "case_closed")
        with contextlib.suppress(DirektError):  # what is left of the case: its join window, its followers
            with redis_errors():
                await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
            await self.publish_case(case_id, {"state": "closed", "outcome": LOST})
        return True

    async def _system_release(self, record: CaseRecord, file: CaseFile, reason: str) -> bool:
        """The system ends a nurse's lease (``reason``: join_window, unassigned); False if it had ended already."""
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
