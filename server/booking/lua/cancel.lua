-- cancel: free a booking's slot. Idempotent: cancelling a cancelled booking changes nothing.
-- KEYS[1] dk:{bk:<unit>}:slots  KEYS[2] dk:{bk:<unit>}:b:<id>  KEYS[3] dk:{bk:<unit>}:cal
-- ARGV[1] id  [2] now  [3] by
-- Returns 1 when cancelled now, 0 when it already was; refuses 'no_booking'.
local b = redis.call('HMGET', KEYS[2], 'status', 'profession', 'mode', 'start_ms')
if not b[1] then return redis.error_reply('no_booking ' .. ARGV[1]) end
if b[1] == 'cancelled' then return 0 end
redis.call('HSET', KEYS[2], 'status', 'cancelled', 'cancelled_ms', ARGV[2], 'cancelled_by', ARGV[3])
local field = b[2] .. ':' .. b[3] .. ':' .. b[4]
if redis.call('HGET', KEYS[1], field) == ARGV[1] then redis.call('HDEL', KEYS[1], field) end
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
