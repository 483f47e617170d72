-- book: take a free slot for a new booking. All keys share the unit's hash tag {bk:<unit>}.
-- KEYS[1] dk:{bk:<unit>}:slots  (hash: slot field -> booking id)
-- KEYS[2] dk:{bk:<unit>}:b:<id> (hash: the new booking)
-- KEYS[3] dk:{bk:<unit>}:cal    (zset: booked ids by start)
-- ARGV[1] prefix dk:{bk:<unit>}:  [2] slot field  [3] id  [4] dedupe  [5] start_ms  [6..] field, value, ...
-- Returns {'booked', id}, or {'replayed', id} when the slot holds a booking made by the same request
-- (same dedupe); refuses 'slot_taken' when another booking holds it.
local holder = redis.call('HGET', KEYS[1], ARGV[2])
if holder then
  if ARGV[4] ~= '' and redis.call('HGET', ARGV[1] .. 'b:' .. holder, 'dedupe') == ARGV[4] then
    return {'replayed', holder}
  end
  return redis.error_reply('slot_taken ' .. ARGV[2])
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return {'booked', ARGV[3]}
