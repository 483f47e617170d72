-- rebook: move a booking to another slot of the same unit, profession and mode, in one step:
-- the new slot is taken and the old one freed together, or nothing changes.
-- KEYS[1] dk:{bk:<unit>}:slots  KEYS[2] dk:{bk:<unit>}:b:<id>  KEYS[3] dk:{bk:<unit>}:cal
-- ARGV[1] id  [2] new start_ms  [3] new end_ms  [4] staff of the new slot
-- Returns 1 when moved, 0 when it already was there; refuses 'no_booking', 'booking_closed',
-- 'visit_opened' (its video visit's case exists: the visit is under way), 'slot_taken'.
local b = redis.call('HMGET', KEYS[2], 'status', 'profession', 'mode', 'start_ms', 'visit_case')
if not b[1] then return redis.error_reply('no_booking ' .. ARGV[1]) end
if b[1] ~= 'booked' then return redis.error_reply('booking_closed ' .. ARGV[1]) end
if b[5] then return redis.error_reply('visit_opened ' .. ARGV[1]) end
if b[4] == ARGV[2] then return 0 end
local old, new = b[2] .. ':' .. b[3] .. ':' .. b[4], b[2] .. ':' .. b[3] .. ':' .. ARGV[2]
local holder = redis.call('HGET', KEYS[1], new)
if holder then return redis.error_reply('slot_taken ' .. new) end
redis.call('HSET', KEYS[1], new, ARGV[1])
if redis.call('HGET', KEYS[1], old) == ARGV[1] then redis.call('HDEL', KEYS[1], old) end
redis.call('HSET', KEYS[2], 'start_ms', ARGV[2], 'end_ms', ARGV[3], 'staff', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'changes', 1)
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
