"""Fenced writes: who may write into a case's chat, checked in the same script as the write.

A nurse's right to write comes from her lease on the case (``direkt.queue``:
holder, fencing token, expiry). That record lives under the region's hash tag,
the chat under the case's, so on a Redis Cluster one script cannot read both.
The lease is therefore mirrored into a **guard** beside the chat,

    dk:chat:{<case>}:guard   hash   holder, token, until (epoch ms)

and every staff write — a message, typing, a read marker, a call step, a
photo — runs a script that checks the guard and writes, atomically. A write
whose token is not the guard's, or whose lease has run out, is refused
(``stale_token``); a write into a case whose guard or case file is gone (Redis
lost its data) is refused too (``case_gone``): nothing is acked that a
reader could not find again.

The mirror can lag the lease only in the safe direction: it is granted after a
claim (tokens only ever increase, so a late grant of an old token is
ignored), extended after a heartbeat, and revoked after a release, transfer
or close. A lease that lapses needs no revoke: ``until`` has passed.

Citizens' writes are guarded by their case file (``dk:file:{<case>}``), in the
same hash slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import Conflict, StaleToken
from direkt.server.redis import keys

GUARD_TTL_MS = 86_400_000  # a guard outlives its lease by a day, then goes

# The check every guarded script starts with. KEYS[g] is the guard (mode
# "lease") or the case file (mode "file"); ARGV[a..a+4] = mode, holder,
# token, now. Sets `refused` to "gone" or "stale", or leaves it nil.
CHECK = """
local function guard_refusal(key, mode, holder, token, now)
  if mode == 'file' then
    if redis.call('EXISTS', key) == 0 then return 'gone' end
    return nil
  end
  if mode == 'lease' then
    local g = redis.call('HMGET', key, 'holder', 'token', 'until')
    if not g[2] then return 'gone' end
    if g[1] ~= holder or g[2] ~= token or tonumber(g[3]) < tonumber(now) then return 'stale' end
  end
  return nil
end
"""

# KEYS[1] guard  ARGV[1] holder  ARGV[2] token  ARGV[3] until  ARGV[4] ttl ms
# A claim's lease: taken unless a newer token is already there. Returns 1 / 0.
GRANT = """
local t = redis.call('HGET', KEYS[1], 'token')
if t and tonumber(t) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', ARGV[2], 'until', ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) - tonumber(ARGV[5]) + tonumber(ARGV[4]))
return 1
"""

# KEYS[1] guard  ARGV[1] holder  ARGV[2] token  ARGV[3] new until
EXTEND = """
local g = redis.call('HMGET', KEYS[1], 'holder', 'token')
if g[1] ~= ARGV[1] or g[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'until', ARGV[3])
return 1
"""

# KEYS[1] guard  ARGV[1] token: the holder of that token writes no more.
REVOKE = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'holder', '', 'until', '0')
return 1
"""

# KEYS[1] guard or case file  KEYS[2] read markers (or any key of the case)
# ARGV[1..4] mode, holder, token, now  ARGV[5] channel  ARGV[6] payload
# ARGV[7] reader ("" = no read marker)  ARGV[8] read position
# Returns "ok", "gone" or "stale". A read marker only moves forward: a second
# tab still behind must not send the reader's next page back to old entries.
PUBLISH = (
    CHECK
    + """
local refused = guard_refusal(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if refused then return refused end
if ARGV[7] ~= '' then
  local had = redis.call('HGET', KEYS[2], ARGV[7])
  local ms, seq = string.match(ARGV[8], '^(%d+)-(%d+)$')
  local hms, hseq = string.match(had or '0-0', '^(%d+)-(%d+)$')
  if tonumber(ms) > tonumber(hms) or (tonumber(ms) == tonumber(hms) and tonumber(seq) > tonumber(hseq)) then
    redis.call('HSET', KEYS[2], ARGV[7], ARGV[8])
  end
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
"""
)

# KEYS[1] guard or case file  KEYS[2] the key to set
# ARGV[1..4] mode, holder, token, now  ARGV[5] value  ARGV[6] ttl seconds (0 = none: kept by retention)
SET = (
    CHECK
    + """
local refused = guard_refusal(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if refused then return refused end
if tonumber(ARGV[6]) > 0 then
  redis.call('SET', KEYS[2], ARGV[5], 'EX', tonumber(ARGV[6]))
else
  redis.call('SET', KEYS[2], ARGV[5])
end
return 'ok'
"""
)


# KEYS[1] guard or case file  ARGV[1..4] mode, holder, token, now
# For a write that goes through another script (a call step): "ok", "gone" or "stale".
VERIFY = (
    CHECK
    + """
return guard_refusal(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) or 'ok'
"""
)


class CaseGone(Conflict):
    """The case's record is gone from Redis (it lost its data): nothing can be written into it."""

    code = "case_gone"

    def __init__(self) -> None:
        super().__init__("this case is no longer on the server; log in again")


def guard_key(case_id: str) -> str:
    return f"{keys.chat(case_id)}:guard"


@dataclass(frozen=True)
class Guard:
    """Who writes: a lease holder with her token, a citizen (by the case file), or the system."""

    key: str
    mode: str = ""  # "lease", "file", or "" (system writes: no check)
    holder: str = ""
    token: int = 0
    now_ms: int = 0

    @classmethod
    def lease(cls, case_id: str, holder: str, token: int, now_ms: int) -> Guard:
        return cls(guard_key(case_id), "lease", holder, token, now_ms)

    @classmethod
    def file(cls, case_id: str) -> Guard:
        return cls(keys.case_file(case_id), "file")

    @classmethod
    def none(cls, case_id: str) -> Guard:
        return cls(keys.case_file(case_id))

    def args(self) -> list[str | int]:
        return [self.mode, self.holder, str(self.token), self.now_ms]


def refusal(verdict: bytes | str | int) -> None:
    """Raise what a script's guard verdict means (``ok`` or 1: nothing).

    Raises:
        StaleToken: the writer's lease is not the case's current one.
        CaseGone: the case's record is gone.
    """
    verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
    if verdict == "stale":
        raise StaleToken("you no longer hold this case; another lease is current or yours ran out")
    if verdict == "gone":
        raise CaseGone()


class WriteGuards:
    """The lease mirror beside each chat, and the guarded writes that are not chat messages."""

    def __init__(self, client: RedisClient) -> None:
        self._grant = client.register_script(GRANT)
        self._extend = client.register_script(EXTEND)
        self._revoke = client.register_script(REVOKE)
        self._publish = client.register_script(PUBLISH)
        self._set = client.register_script(SET)
        self._verify = client.register_script(VERIFY)

    async def grant(self, case_id: str, holder: str, token: int, until_ms: int, now_ms: int) -> bool:
        with redis_errors():
            done = await self._grant(keys=[guard_key(case_id)], args=[holder, token, until_ms, GUARD_TTL_MS, now_ms])
        return bool(done)

    async def extend(self, case_id: str, holder: str, token: int, until_ms: int) -> bool:
        with redis_errors():
            return bool(await self._extend(keys=[guard_key(case_id)], args=[holder, token, until_ms]))

    async def revoke(self, case_id: str, token: int) -> bool:
        with redis_errors():
            return bool(await self._revoke(keys=[guard_key(case_id)], args=[token]))

    async def publish(self, guard: Guard, case_id: str, payload: bytes, read: Sequence[str] = ()) -> None:
        """PUBLISH an ephemeral event (typing, read) to the case, and set a read marker, if allowed."""
        reader, position = read if read else ("", "")
        with redis_errors():
            verdict = await self._publish(
                keys=[guard.key, keys.chat_read(case_id)],
                args=[*guard.args(), keys.case_channel(case_id), payload, reader, position],
            )
        refusal(verdict)

    async def set(self, guard: Guard, key: str, value: bytes, ttl_s: int = 0) -> None:
        """SET a key of the case (a photo), if allowed; ``ttl_s`` 0: no expiry (kept by the retention rules)."""
        with redis_errors():
            verdict = await self._set(keys=[guard.key, key], args=[*guard.args(), value, ttl_s])
        refusal(verdict)

    async def verify(self, guard: Guard) -> None:
        """Check the writer's right now, for a write made by another script right after."""
        with redis_errors():
            refusal(await self._verify(keys=[guard.key], args=guard.args()))
