-- enqueue: put a new case in its (unit, skill) queue. Idempotent by case id.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] region  [6] unit  [7] skill  [8] urgency  [9] submitted
--     [10] deadline  [11] same-day deadline  [12] assessment deadline (0 = none)
--     [13] meta (msgpack, shown on consoles)  [14] entry  [15] reason code  [16] care level
--     (short codes for the event log's statistics; '' when unknown)
-- Returns {1, deadline} when queued now, {0, state, deadline} when the id exists.
local case_id = ARGV[4]
local existing = redis.call('HMGET', key('case', case_id), 'state', 'deadline')
if existing[1] then return {0, existing[1], tonumber(existing[2])} end
redis.call('HSET', key('case', case_id), 'id', case_id, 'region', ARGV[5], 'unit', ARGV[6], 'skill', ARGV[7],
  'urgency', ARGV[8], 'submitted', ARGV[9], 'deadline', ARGV[10], 'sameday_deadline', ARGV[11],
  'assess_deadline', ARGV[12], 'meta', ARGV[13], 'state', 'waiting', 'holder', '', 'token', '0',
  'lease_until', '0', 'queued_at', NOW, 'first_contact', '', 'claims', 0,
  'entry', ARGV[14] or '', 'reason', ARGV[15] or '', 'care', ARGV[16] or '')
redis.call('ZADD', key('q', ARGV[6], ARGV[7]), ARGV[10], case_id)
redis.call('ZADD', key('g', 'sameday'), ARGV[11], case_id)
if ARGV[12] ~= '0' then redis.call('ZADD', key('g', 'assess'), ARGV[12], case_id) end
count('enqueued')
emit('enqueued', case_id, {unit = ARGV[6], skill = ARGV[7], deadline = tonumber(ARGV[10]), urgency = tonumber(ARGV[8])},
  {e = ARGV[14] or '', r = ARGV[15] or '', l = ARGV[16] or '', sub = ARGV[9]})
return {1, tonumber(ARGV[10])}
