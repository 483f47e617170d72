-- adopt: second step of a move between regions, in the target region's slot.
-- Idempotent: an existing live record wins, so a re-driven move never
-- duplicates; a tombstone (the case once moved away from here) is replaced.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] record (msgpack map from transfer_out)
-- Returns 1 when adopted now, 0 when the case was already here.
local case_id = ARGV[4]
local state = redis.call('HGET', key('case', case_id), 'state')
if state and state ~= 'moved' then return 0 end
redis.call('DEL', key('case', case_id))
local c = cmsgpack.unpack(ARGV[5])
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
  urgency = tonumber(c.urgency), reason = 'transfer'})
return 1
