"""Join windows: a citizen told their chat is ready has a while to come in.

The window opens when a claim opens the chat (``claims``) and is met when the
citizen joins (``citizen_joined``); one that runs out sends the case back to
its queue at its own deadline, so the citizen keeps their place and the nurse
is free for the next. Windows are a sorted set by expiry; whoever removes a
due entry first expires it, so several server processes can sweep at once.
"""

from __future__ import annotations

from typing import Any

import structlog

from direkt.queue.scripts import redis_errors
from direkt.server.care.systemrelease import SystemReleases
from direkt.server.errors import DirektError
from direkt.server.redis import keys

log = structlog.get_logger("direkt.workflow")


class JoinWindows(SystemReleases):
    """``expire_join_windows`` (run by the reaper)."""

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
