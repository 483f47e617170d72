-- transfer_done: last step of a move between regions; leaves a tombstone that
-- points to the new region, so the case id keeps working.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id
-- Returns 1 when finished now, 0 when there was nothing to finish.
local case_id = ARGV[4]
local state = redis.call('HGET', key('case', case_id), 'state')
if state ~= 'moving' then return 0 end
redis.call('HSET', key('case', case_id), 'state', 'moved')
redis.call('HDEL', key('case', case_id), 'move_record')
redis.call('ZREM', key('outbox'), case_id)
emit('moved', case_id, {region = redis.call('HGET', key('case', case_id), 'moved_to')})
return 1
