"""Which staff members have a console open now, across every server process.

Each process marks the staff on its own sockets as seen (``dk:online``, score
= last seen) once per position pass; a member not seen for a few passes
(``online_ttl_ms``) is gone, so a process that died takes its staff with it
within that time.
The waiting room uses it, less those who set themselves away
(``availability.attending``), to say plainly when no one is there to answer a
queue (``direkt.queue.waitinfo.staffed_queues``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.care.availability import attending, read_stored
from direkt.server.redis import keys

PASSES_KEPT = 4  # a member is online until this many position passes have not seen them


MIN_TTL_S = 10.0  # a busy process may run a pass late: never call staff gone on one late pass


def online_ttl_ms(pass_interval_s: float) -> int:
    """How long a mark holds: a few position passes, at least ``MIN_TTL_S``."""
    return round(max(PASSES_KEPT * pass_interval_s, MIN_TTL_S) * 1000)


class StaffPresence:
    def __init__(self, client: RedisClient, ttl_ms: int) -> None:
        self.client = client
        self.ttl_ms = ttl_ms

    async def seen(self, staff_ids: Iterable[str], now_ms: int) -> None:
        """Mark these staff members as having a console open at ``now_ms``; forget the long gone."""
        marks = {staff_id: now_ms for staff_id in staff_ids}
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            if marks:
                pipe.zadd(keys.STAFF_ONLINE, marks)
            pipe.zremrangebyscore(keys.STAFF_ONLINE, "-inf", now_ms - self.ttl_ms)
            await pipe.execute()

    async def online(self, now_ms: int) -> frozenset[str]:
        """The staff ids seen within the last ``ttl_ms`` before ``now_ms``."""
        with redis_errors():
            raw: Any = await self.client.zrangebyscore(keys.STAFF_ONLINE, now_ms - self.ttl_ms, "+inf")
        return frozenset(r.decode() if isinstance(r, bytes) else str(r) for r in raw)

    async def attending(self, now_ms: int) -> frozenset[str]:
        """The staff online at ``now_ms`` who have not set themselves away (one round trip)."""
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.zrangebyscore(keys.STAFF_ONLINE, now_ms - self.ttl_ms, "+inf")
            pipe.hgetall(keys.AVAILABILITY)
            online, settings = await pipe.execute()
        return attending(map(_text, online), {_text(k): read_stored(v, now_ms) for k, v in settings.items()})


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
