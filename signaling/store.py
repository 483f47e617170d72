"""Calls in Redis: one hash per case, changed only by compare-and-set.

``dk:call:{<case>}`` holds ``v`` (the call's version) and ``rec`` (the call as
msgpack). A change is written only if ``v`` is still what the writer read
(one Lua script, one key: safe on a Redis Cluster); a writer that lost the
race reads again and re-applies its event to the new call. So any number of
server processes can drive one call, and each transition happens once.
"""

from __future__ import annotations

from collections.abc import Callable

import msgpack
from redis.exceptions import ResponseError

from direkt.queue.scripts import REDIS_FAILURES, RedisClient, redis_errors, unavailable
from direkt.server.care.writeguard import CHECK, Guard, refusal
from direkt.server.redis import keys
from direkt.signaling.call import Call, Step, from_record, to_record

# KEYS[1] the call hash  KEYS[2] the writer's guard (its lease mirror or the case file)
# ARGV: expected version ("0" = no call yet), new version, record, ttl ms, then the guard's
# mode, holder, token, now. Returns 1 written, 0 raced, or the guard's refusal ("stale", "gone").
CAS = (
    CHECK
    + """
local refused = guard_refusal(KEYS[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
if refused then return refused end
local current = redis.call('HGET', KEYS[1], 'v') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'rec', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
)
MAX_RACES = 20


class CallStore:
    def __init__(self, client: RedisClient, ttl_ms: int) -> None:
        self.client = client
        self.ttl_ms = ttl_ms  # a call record outlives its longest possible call
        self._cas = client.register_script(CAS)

    async def load(self, case_id: str) -> Call | None:
        with redis_errors():
            raw = await self.client.hget(keys.call(case_id), "rec")
        return from_record(msgpack.unpackb(raw)) if raw else None

    async def apply(self, case_id: str, decide: Callable[[Call | None], Step], guard: Guard | None = None) -> Step:
        """Load, decide, write if unchanged meanwhile; ``decide`` may raise (nothing is written).

        ``guard``: the writer's right to the case, checked in the write's own
        script (a nurse who no longer holds the case changes no call); None for
        the server's own steps (deadlines, the case ending).

        Raises:
            StaleToken, CaseGone: the guard refused the write.
        """
        guard = guard or Guard.none(case_id)
        for _ in range(MAX_RACES):
            current = await self.load(case_id)
            result = decide(current)
            if not result.changed or await self._write(case_id, current, result.call, guard):
                return result
        raise unavailable(RuntimeError("call record contended"))

    async def _write(self, case_id: str, current: Call | None, new: Call, guard: Guard) -> bool:
        expected = str(current.v) if current else "0"
        record = msgpack.packb(to_record(new))
        try:
            written = await self._cas(
                keys=[keys.call(case_id), guard.key], args=[expected, str(new.v), record, self.ttl_ms, *guard.args()]
            )
        except (ResponseError, *REDIS_FAILURES) as exc:
            raise unavailable(exc) from None
        if isinstance(written, (bytes, str)):
            refusal(written)
        return bool(written)
