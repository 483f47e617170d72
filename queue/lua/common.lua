-- common.lua: prepended to every waiting-room script.
--
-- Cluster rule (DESIGN): a script touches keys of ONE hash tag only. Every key
-- is built from PREFIX = "dk:{<region>}:" and KEYS[1], a key with the same tag,
-- routes the call to that region's slot. Time is ARGV[3] (STYLE: time is a
-- parameter), so a script's effect depends on its arguments and the data only.
--
-- Errors are returned as "<code> <detail>" (redis.error_reply); the Python
-- wrapper turns the code into a DirektError subclass. Writes made before an
-- error reply stay: scripts only reply with an error after writes that must
-- happen anyway (counting a refused stale token).
local PREFIX = ARGV[1]
local CHANNEL = ARGV[2]
local NOW = tonumber(ARGV[3])

local function key(...)
  return PREFIX .. table.concat({...}, ':')
end

local function fail(code, detail)
  return redis.error_reply(code .. ' ' .. tostring(detail))
end

local function count(field)
  redis.call('HINCRBY', key('stats'), field, 1)
end

-- Live event for consoles, and the same event appended to the region's event
-- log (KEYS[2], dk:{r}:log), the one source of the statistics (docs/protocol.md,
-- "Event log"). seq lets a console notice a missed event and reload its
-- snapshot (pub/sub is at-most-once). The log entry is the published map as is
-- (field `e`, msgpack: codes, ids and times only) and, when given, the
-- statistics' own fields (`x`, msgpack: `extra`, short codes and numbers, never
-- free text or a personal identity number). One small XADD reusing the packed
-- event: about 1 µs of Redis time per event. Stream ids are Redis's clock
-- (`*`); the event's own time is `at`.
local LOG = KEYS[2]

local function emit(kind, case_id, fields, extra)
  local ev = {t = kind, case = case_id, at = NOW, seq = redis.call('INCR', key('seq'))}
  for k, v in pairs(fields or {}) do ev[k] = v end
  local packed = cmsgpack.pack(ev)
  redis.call('PUBLISH', CHANNEL, packed)
  if LOG == nil then return end
  if extra then
    redis.call('XADD', LOG, '*', 'e', packed, 'x', cmsgpack.pack(extra))
  else
    redis.call('XADD', LOG, '*', 'e', packed)
  end
end

local function load(case_id)
  local flat = redis.call('HGETALL', key('case', case_id))
  if #flat == 0 then return nil end
  local c = {}
  for i = 1, #flat, 2 do c[flat[i]] = flat[i + 1] end
  return c
end

-- Invariant "no case held by two staff": only the current holder presenting
-- the current fencing token may act. A refusal is counted and announced so
-- that the hub can audit it.
-- A case that moved (or is moving) to another region is answered there.
local function gone(c)
  return c.state == 'moved' or c.state == 'moving'
end

local function check_holder(c, case_id, staff, token)
  if c == nil then return fail('unknown_case', case_id) end
  if gone(c) then return fail('moved', c.moved_to) end
  if c.state ~= 'claimed' or c.holder ~= staff or c.token ~= token then
    count('stale_refused')
    emit('stale_refused', case_id, {staff = staff, token = token})
    return fail('stale_token', case_id)
  end
  return nil
end

-- Back to the waiting room at the ORIGINAL deadline (invariant: a lost nurse's
-- case keeps its place). The event names the lease that ended (token): a socket
-- that has claimed the case again since must not let go of it on hearing this.
local function requeue(c, case_id, kind)
  redis.call('ZADD', key('q', c.unit, c.skill), c.deadline, case_id)
  redis.call('ZREM', key('leases'), case_id)
  if c.holder ~= '' then redis.call('SREM', key('held', c.holder), case_id) end
  redis.call('HSET', key('case', case_id), 'state', 'waiting', 'holder', '', 'lease_until', '0', 'queued_at', NOW)
  emit(kind, case_id, {unit = c.unit, skill = c.skill, deadline = tonumber(c.deadline), staff = c.holder,
    token = tonumber(c.token)})
end

-- Lease a waiting case to a staff member under a new fencing token.
local function take(c, case_id, staff, lease_ms, window_ms)
  redis.call('ZREM', key('q', c.unit, c.skill), case_id)
  local token = redis.call('INCR', key('fence'))
  local lease_until = NOW + lease_ms
  redis.call('HSET', key('case', case_id), 'state', 'claimed', 'holder', staff, 'token', token,
    'lease_until', lease_until, 'claimed_at', NOW)
  redis.call('HINCRBY', key('case', case_id), 'claims', 1)
  redis.call('ZADD', key('leases'), lease_until, case_id)
  redis.call('SADD', key('held', staff), case_id)
  local served = key('served', c.unit, c.skill)
  redis.call('ZADD', served, NOW, token)
  redis.call('ZREMRANGEBYSCORE', served, '-inf', NOW - window_ms)
  count('claimed')
  emit('claimed', case_id, {unit = c.unit, skill = c.skill, deadline = tonumber(c.deadline), staff = staff, token = token})
  return {case_id, token, lease_until, tonumber(c.deadline), c.unit, c.skill}
end

-- Settle a guarantee exactly once: whoever removes the member (contact,
-- close, abandon or the sweeper) decides whether it was a breach, so an
-- overdue guarantee is counted however it ends.
local GUARANTEES = {
  sameday = {deadline = 'sameday_deadline', stat = 'breach_sameday', flag = 'sameday_breached'},
  assess = {deadline = 'assess_deadline', stat = 'breach_assess', flag = 'assess_breached'},
}

-- Returns 1 when this call kept the guarantee (settled it in time), else ''
-- (the log's `sd`/`as` fields: met guarantees, for the compliance figures).
local function settle(c, case_id, zset)
  local g = GUARANTEES[zset]
  if redis.call('ZREM', key('g', zset), case_id) == 0 then return '' end
  if NOW > tonumber(c[g.deadline]) then
    count(g.stat)
    redis.call('HSET', key('case', case_id), g.flag, NOW)
    emit('breach', case_id, {guarantee = zset, unit = c.unit, skill = c.skill}, {ur = c.urgency})
    return ''
  end
  return 1
end

-- What the statistics group a case by (set at enqueue; '' for older cases).
local function profile(c, extra)
  extra.e, extra.r, extra.l, extra.ur = c.entry or '', c.reason or '', c.care or '', c.urgency or ''
  return extra
end

local function is_capped(staff, cap)
  return cap >= 0 and redis.call('SCARD', key('held', staff)) >= cap
end
