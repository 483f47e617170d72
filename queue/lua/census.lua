-- census: how many cases wait in each of a region's queues, by urgency, and since when (read only).
-- KEYS[1] dk:{r}:stats (routing only)
-- ARGV[4] limit: cases read per queue  [5..] "unit:skill" queues
-- Returns, per queue in ARGV order, 11 integers: the queue's size (ZCARD), then
-- for urgency 1..5 the count among its first `limit` cases by deadline and the
-- submission time of the oldest of them (0 = none).
-- Bounded for /metrics scrapes: at most `limit` hashes read per queue. A queue's
-- cases of one urgency are in submission order (deadline = submitted + the
-- urgency's maximum wait), so the oldest of each urgency comes first.
local limit = tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV do
  local queue = PREFIX .. 'q:' .. ARGV[i]
  local counts, oldest = {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}
  for _, case_id in ipairs(redis.call('ZRANGE', queue, 0, limit - 1)) do
    local d = redis.call('HMGET', key('case', case_id), 'urgency', 'submitted')
    local u = tonumber(d[1]) or 5
    if u < 1 or u > 5 then u = 5 end
    local submitted = tonumber(d[2]) or 0
    counts[u] = counts[u] + 1
    if oldest[u] == 0 or (submitted > 0 and submitted < oldest[u]) then oldest[u] = submitted end
  end
  out[#out + 1] = redis.call('ZCARD', queue)
  for u = 1, 5 do
    out[#out + 1] = counts[u]
    out[#out + 1] = oldest[u]
  end
end
return out
