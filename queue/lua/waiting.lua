-- waiting: the first cases of one queue with what a console lists (read only).
-- KEYS[1] the queue dk:{r}:q:<unit>:<skill> (routing)
-- ARGV[4] unit  [5] skill  [6] limit
-- Returns a flat list, earliest deadline first:
--   case id, deadline, urgency, submitted, meta (msgpack), case id, …
-- A field the case lacks is '' (a nil would cut a Lua array short).
-- One call for a whole console snapshot: as 500 pipelined HMGETs it cost a
-- reconnecting nurse's console about 20 ms of the hub's CPU.
local members = redis.call('ZRANGE', key('q', ARGV[4], ARGV[5]), 0, tonumber(ARGV[6]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #members, 2 do
  local d = redis.call('HMGET', key('case', members[i]), 'urgency', 'submitted', 'meta')
  out[#out + 1] = members[i]
  out[#out + 1] = members[i + 1]
  out[#out + 1] = d[1] or ''
  out[#out + 1] = d[2] or ''
  out[#out + 1] = d[3] or ''
end
return out
