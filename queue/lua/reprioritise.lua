-- reprioritise: a new urgency and deadline after re-triage. A waiting case
-- moves in its queue at once; a claimed case (holder and token required)
-- keeps the new deadline for when it is released.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] urgency  [6] deadline  [7] staff ('' = system)  [8] token
-- Returns 1.
local case_id = ARGV[4]
local c = load(case_id)
if c == nil then return fail('unknown_case', case_id) end
if c.state == 'claimed' then
  local err = check_holder(c, case_id, ARGV[7], ARGV[8])
  if err then return err end
elseif c.state == 'waiting' then
  redis.call('ZADD', key('q', c.unit, c.skill), 'XX', ARGV[6], case_id)
elseif gone(c) then
  return fail('moved', c.moved_to)
else
  return fail('case_conflict', c.state)
end
redis.call('HSET', key('case', case_id), 'urgency', ARGV[5], 'deadline', ARGV[6])
count('reprioritised')
emit('reprioritised', case_id, {unit = c.unit, skill = c.skill, deadline = tonumber(ARGV[6]), urgency = tonumber(ARGV[5])})
return 1
