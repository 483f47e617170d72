"""Moving a case on: to another queue (transfer, re-triage) or out (close, abandon).

A transfer within a region is one script. A transfer to another region
cannot be (a script touches one region's hash tag): the source marks the
case ``moving`` and keeps it in its outbox, the target adopts the packed
record, then the source marks it ``moved``. A move that stopped half-way is
finished by the reaper from the outbox (``_redrive_moves``); every step is
idempotent, so finishing twice is harmless.
"""

from __future__ import annotations

from typing import Any

from .keys import RegionKeys
from .lookup import WaitroomLookup
from .model import Skill
from .records import Queued
from .scripts import redis_errors
from .urgency import Urgency, deadline_ms

OUTBOX_REDRIVE_MS = 10_000


class Moves(WaitroomLookup):
    """``transfer``, ``reprioritise``, ``close`` and ``abandon``."""

    async def transfer(
        self,
        case_id: str,
        staff_id: str,
        token: int,
        unit_id: str,
        skill: Skill,
        urgency: Urgency | None = None,
    ) -> Queued:
        """Move a held case to another unit or skill; it waits there.

        The deadline is kept unless ``urgency`` is given (re-triage), in which
        case it is recomputed from the original submission time.
        """
        target = self._queue(unit_id, skill)
        record = await self.get(case_id)
        new_urgency = urgency or record.urgency
        deadline = deadline_ms(record.submitted_ms, urgency) if urgency else record.deadline_ms
        if target.region == record.region:
            await self._on_case(
                "transfer", record.case_id, staff_id, token, target.id, skill.value, int(new_urgency), deadline
            )
        else:
            packed = await self._on_case(
                "transfer_out", record.case_id, staff_id, token, target.region,
                target.id, skill.value, int(new_urgency), deadline,
            )  # fmt: skip
            await self._finish_move(record.case_id, record.region, target.region, packed)
        return Queued(record.case_id, target.id, skill, deadline, created=False)

    async def reprioritise(self, case_id: str, urgency: Urgency, staff_id: str = "", token: int = 0) -> int:
        """Re-triage: new urgency, deadline recomputed from submission. Returns it."""
        record = await self.get(case_id)
        deadline = deadline_ms(record.submitted_ms, urgency)
        await self._on_case("reprioritise", case_id, int(urgency), deadline, staff_id, token)
        return deadline

    async def close(self, case_id: str, staff_id: str, token: int, outcome: str, *, assessed: bool) -> bool:
        """Close a held case; True when closed now, False when already closed by this holder."""
        return bool(await self._on_case("close", case_id, staff_id, token, outcome, int(assessed)))

    async def abandon(self, case_id: str) -> bool:
        """The citizen leaves; True when abandoned now, False when already."""
        return bool(await self._on_case("abandon", case_id))

    async def _finish_move(self, case_id: str, source: str, target: str, packed: bytes) -> None:
        target_keys = RegionKeys(target)
        await self.scripts.call("adopt", target_keys, target_keys.case(case_id), self.clock(), case_id, packed)
        source_keys = RegionKeys(source)
        await self.scripts.call("transfer_done", source_keys, source_keys.case(case_id), self.clock(), case_id)
        self._remember_move(case_id, target)

    async def _redrive_moves(self, region: str, now: int) -> int:
        keys = RegionKeys(region)
        with redis_errors():
            stuck: Any = await self.client.zrangebyscore(keys.outbox, "-inf", now - OUTBOX_REDRIVE_MS, start=0, num=100)
        for member in stuck:
            case_id = member.decode()
            raw = await self._hgetall(keys.case(case_id))
            if raw.get(b"state") == b"moving":
                await self._finish_move(case_id, region, raw[b"moved_to"].decode(), raw[b"move_record"])
            else:  # finished by someone else meanwhile
                with redis_errors():
                    await self.client.zrem(keys.outbox, case_id)
        return len(stuck)
