-- claim_next: lease the waiting case with the earliest deadline across the
-- queues a staff member serves, atomically (invariant: one holder per case).
-- KEYS[1] dk:{r}:leases
-- ARGV[4] staff  [5] lease_ms  [6] cap (-1 = none)  [7] request id ('' = none)
--     [8] service-rate window ms  [9] request reply ttl ms  [10..] "unit:skill" queues
-- Returns {} when all queues are empty, else
--     {case_id, token, lease_until, deadline, unit, skill}.
-- A retried request id gets the first reply again, so a reply lost in transit
-- never leaves a case leased to someone who does not know it.
local staff, request = ARGV[4], ARGV[7]
if request ~= '' then
  local previous = redis.call('GET', key('req', request))
  if previous then return cmsgpack.unpack(previous) end
end
if is_capped(staff, tonumber(ARGV[6])) then return fail('at_capacity', staff) end
local best_id, best_score
for i = 10, #ARGV do
  local top = redis.call('ZRANGE', PREFIX .. 'q:' .. ARGV[i], 0, 0, 'WITHSCORES')
  if top[1] then
    local score = tonumber(top[2])
    -- earliest deadline first; equal deadlines: the older case id (ULID) first
    if best_id == nil or score < best_score or (score == best_score and top[1] < best_id) then
      best_id, best_score = top[1], score
    end
  end
end
local reply = {}
if best_id then reply = take(load(best_id), best_id, staff, tonumber(ARGV[5]), tonumber(ARGV[8])) end
if request ~= '' then redis.call('SET', key('req', request), cmsgpack.pack(reply), 'PX', ARGV[9]) end
return reply
