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
from direkt.server.redis import keys
from direkt.signaling.call import Call, Step, from_record, to_record

# KEYS[1] the call hash; ARGV: expected version ("0" = no call yet), new version, record, ttl ms
CAS = """
local current = redis.call('HGET', KEYS[1], 'v') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'rec', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""
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

    async def apply(self, case_id: str, decide: Callable[[Call | None], Step]) -> Step:
        """Load, decide, write if unchanged meanwhile; ``decide`` may raise (nothing is written)."""
        for _ in range(MAX_RACES):
            current = await self.load(case_id)
            result = decide(current)
            if not result.changed or await self._write(case_id, current, result.call):
                return result
        raise unavailable(RuntimeError("call record contended"))

    async def _write(self, case_id: str, current: Call | None, new: Call) -> bool:
        expected = str(current.v) if current else "0"
        record = msgpack.packb(to_record(new))
        try:
            written = await self._cas(keys=[keys.call(case_id)], args=[expected, str(new.v), record, self.ttl_ms])
        except (ResponseError, *REDIS_FAILURES) as exc:
            raise unavailable(exc) from None
        return bool(written)
