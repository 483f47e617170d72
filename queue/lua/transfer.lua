-- transfer: the holder moves the case to another (unit, skill) queue in the
-- same region. The deadline is kept unless the case was re-triaged.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] token  [7] unit  [8] skill  [9] urgency  [10] deadline
-- Returns the deadline in the new queue.
local case_id = ARGV[4]
local c = load(case_id)
local err = check_holder(c, case_id, ARGV[5], ARGV[6])
if err then return err end
redis.call('ZREM', key('leases'), case_id)
redis.call('SREM', key('held', c.holder), case_id)
redis.call('HSET', key('case', case_id), 'unit', ARGV[7], 'skill', ARGV[8], 'urgency', ARGV[9],
  'deadline', ARGV[10], 'state', 'waiting', 'holder', '', 'lease_until', '0', 'queued_at', NOW)
redis.call('ZADD', key('q', ARGV[7], ARGV[8]), ARGV[10], case_id)
count('transferred')
emit('transferred', case_id, {from_unit = c.unit, from_skill = c.skill, unit = ARGV[7], skill = ARGV[8],
  deadline = tonumber(ARGV[10]), staff = c.holder, token = tonumber(c.token)},
  {ur = ARGV[9], d = NOW - (tonumber(c.claimed_at) or NOW)})
return tonumber(ARGV[10])
