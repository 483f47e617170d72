-- heartbeat: extend the holder's lease. A lease that ran out but has not been
-- reaped yet is still the holder's: nobody else can have the case.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] token  [7] lease_ms
-- Returns the new lease expiry (ms).
local case_id = ARGV[4]
local c = load(case_id)
local err = check_holder(c, case_id, ARGV[5], ARGV[6])
if err then return err end
local lease_until = NOW + tonumber(ARGV[7])
redis.call('HSET', key('case', case_id), 'lease_until', lease_until)
redis.call('ZADD', key('leases'), lease_until, case_id)
return lease_until
