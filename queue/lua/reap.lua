-- reap: return cases whose lease ran out to their queue at the original
-- deadline (a lost nurse's cases are never lost, DESIGN).
-- KEYS[1] dk:{r}:leases
-- ARGV[4] limit
-- Returns the number of cases returned.
local returned = 0
for _, case_id in ipairs(redis.call('ZRANGEBYSCORE', key('leases'), '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[4]))) do
  local c = load(case_id)
  if c and c.state == 'claimed' and tonumber(c.lease_until) <= NOW then
    requeue(c, case_id, 'expired')
    count('expired')
    returned = returned + 1
  else
    redis.call('ZREM', key('leases'), case_id)  -- a lease left over by an older version: drop it
  end
end
return returned
