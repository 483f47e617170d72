-- book: take a free slot for a new booking. All keys share the unit's hash tag {bk:<unit>};
-- the script touches only these keys (a Cluster routes by them).
-- KEYS[1] dk:{bk:<unit>}:slots  (hash: slot field -> booking id)
-- KEYS[2] dk:{bk:<unit>}:b:<id> (hash: the new booking)
-- KEYS[3] dk:{bk:<unit>}:cal    (zset: booked ids by start)
-- KEYS[4] dk:{bk:<unit>}:dedupe (hash: booking id -> the dedupe of the request that made it)
-- ARGV[1] slot field  [2] id  [3] dedupe  [4] start_ms  [5..] field, value, ...
-- Returns {'booked', id}, or {'replayed', id} when the slot holds a booking made by the same request
-- (same dedupe); refuses 'slot_taken' when another booking holds it.
local holder = redis.call('HGET', KEYS[1], ARGV[1])
if holder then
  if ARGV[3] ~= '' and redis.call('HGET', KEYS[4], holder) == ARGV[3] then
    return {'replayed', holder}
  end
  return redis.error_reply('slot_taken ' .. ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[4], ARGV[2], ARGV[3]) end
return {'booked', ARGV[2]}
