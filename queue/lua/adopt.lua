-- adopt: second step of a move between regions, in the target region's slot.
-- Idempotent: an existing live record wins, so a re-driven move never
-- duplicates. A tombstone or an unfinished move of the same case out of this
-- region (it left and is coming back) is replaced only by a NEWER move: a
-- late re-drive of an old move can neither duplicate the case nor undo a
-- later transfer.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] record (msgpack map from transfer_out)
-- Returns 1 when adopted now, 0 when the case was already here.
local case_id = ARGV[4]
local c = cmsgpack.unpack(ARGV[5])
local here = redis.call('HMGET', key('case', case_id), 'state', 'moves')
local state, seen = here[1], tonumber(here[2]) or 0
if state and not ((state == 'moved' or state == 'moving') and tonumber(c.moves) > seen) then return 0 end
if state == 'moving' then redis.call('ZREM', key('outbox'), case_id) end
redis.call('DEL', key('case', case_id))
c.queued_at = NOW
for field, value in pairs(c) do redis.call('HSET', key('case', case_id), field, value) end
redis.call('ZADD', key('q', c.unit, c.skill), c.deadline, case_id)
if (c.first_contact or '') == '' and not c.sameday_breached then
  redis.call('ZADD', key('g', 'sameday'), c.sameday_deadline, case_id)
end
if c.assess_deadline ~= '0' and not c.assess_breached then
  redis.call('ZADD', key('g', 'assess'), c.assess_deadline, case_id)
end
-- Fencing tokens keep increasing for this case across regions.
if tonumber(redis.call('GET', key('fence')) or '0') < tonumber(c.token) then
  redis.call('SET', key('fence'), c.token)
end
count('transferred_in')
emit('enqueued', case_id, {unit = c.unit, skill = c.skill, deadline = tonumber(c.deadline),
  urgency = tonumber(c.urgency), reason = 'transfer'}, {e = c.entry or '', r = c.reason or '', l = c.care or '',
  sub = c.submitted})
return 1
