-- abandon: the citizen leaves before the case is closed. Idempotent.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id
-- Returns 1 when abandoned now, 0 when it already was.
local case_id = ARGV[4]
local c = load(case_id)
if c == nil then return fail('unknown_case', case_id) end
if c.state == 'abandoned' then return 0 end
if c.state == 'waiting' then
  redis.call('ZREM', key('q', c.unit, c.skill), case_id)
elseif c.state == 'claimed' then
  redis.call('ZREM', key('leases'), case_id)
  redis.call('SREM', key('held', c.holder), case_id)
elseif gone(c) then
  return fail('moved', c.moved_to)
else
  return fail('case_conflict', c.state)
end
redis.call('HSET', key('case', case_id), 'state', 'abandoned', 'closed_at', NOW, 'lease_until', '0')
-- A citizen who withdrew is no longer owed contact; a guarantee already
-- overdue when they left is still counted.
settle(c, case_id, 'sameday')
settle(c, case_id, 'assess')
count('abandoned')
-- bc: left before any contact.
local extra = profile(c, {})
if c.first_contact == '' then extra.bc = 1 end
emit('abandoned', case_id, {unit = c.unit, skill = c.skill, staff = c.holder}, extra)
return 1
