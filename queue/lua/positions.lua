-- positions: where many cases of one region stand (read only), for the hub's position feed.
-- KEYS[1] any key of the region's slot (routing)
-- ARGV[4] service-rate window ms  [5..] case ids
-- Returns one reply per case, in ARGV order:
--   {state, position (1 = next; 0 when not waiting), queue depth, claims in window, deadline, unit, skill}
--   {'moved', region}  (followed case by case by the caller)
--   {'unknown'}
-- Depth and service rate are read once per queue, not once per case: a pass
-- over ten thousand waiting citizens is a few calls, not ten thousand.
local window = tonumber(ARGV[4])
local queues = {}
local out = {}
for i = 5, #ARGV do
  local case_id = ARGV[i]
  local c = redis.call('HMGET', key('case', case_id), 'state', 'unit', 'skill', 'deadline', 'moved_to')
  if not c[1] then
    out[#out + 1] = {'unknown'}
  elseif c[1] == 'moved' or c[1] == 'moving' then
    out[#out + 1] = {'moved', c[5]}
  else
    local queue = key('q', c[2], c[3])
    local q = queues[queue]
    if q == nil then
      q = {redis.call('ZCARD', queue), redis.call('ZCOUNT', key('served', c[2], c[3]), NOW - window, '+inf')}
      queues[queue] = q
    end
    local rank = 0
    if c[1] == 'waiting' then
      local r = redis.call('ZRANK', queue, case_id)
      if r then rank = r + 1 end
    end
    out[#out + 1] = {c[1], rank, q[1], q[2], tonumber(c[4]), c[2], c[3]}
  end
end
return out
