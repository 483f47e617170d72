-- position: where a case stands (read only).
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] service-rate window ms
-- Returns {state, position (1 = next; 0 when not waiting), queue depth,
--          claims in window, deadline, unit, skill}.
local case_id = ARGV[4]
local c = redis.call('HMGET', key('case', case_id), 'state', 'unit', 'skill', 'deadline', 'moved_to')
if not c[1] then return fail('unknown_case', case_id) end
if c[1] == 'moved' or c[1] == 'moving' then return fail('moved', c[5]) end
local queue = key('q', c[2], c[3])
local served = redis.call('ZCOUNT', key('served', c[2], c[3]), NOW - tonumber(ARGV[5]), '+inf')
local rank = 0
if c[1] == 'waiting' then rank = redis.call('ZRANK', queue, case_id) + 1 end
return {c[1], rank, redis.call('ZCARD', queue), served, tonumber(c[4]), c[2], c[3]}
