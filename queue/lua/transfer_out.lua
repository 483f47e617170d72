-- transfer_out: first step of a move to another region (another slot). The
-- case leaves this region's queues for the outbox, atomically; the caller
-- then adopts it in the target region and calls transfer_done. The reaper
-- re-drives outbox entries, so a crash between the steps loses nothing, and
-- adopt is idempotent, so it never creates two copies.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] token  [7] target region  [8] unit  [9] skill
--     [10] urgency  [11] deadline
-- Returns the case record for adopt (msgpack map).
local case_id = ARGV[4]
local c = load(case_id)
local err = check_holder(c, case_id, ARGV[5], ARGV[6])
if err then return err end
redis.call('ZREM', key('leases'), case_id)
redis.call('SREM', key('held', c.holder), case_id)
redis.call('ZREM', key('g', 'sameday'), case_id)
redis.call('ZREM', key('g', 'assess'), case_id)
c.region, c.unit, c.skill, c.urgency, c.deadline = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
c.state, c.holder, c.lease_until = 'waiting', '', '0'
c.moved_to, c.move_record = nil, nil
c.moves = (tonumber(c.moves) or 0) + 1  -- orders moves: adopt never takes an older one
local record = cmsgpack.pack(c)
redis.call('HSET', key('case', case_id), 'state', 'moving', 'holder', '', 'lease_until', '0',
  'moved_to', ARGV[7], 'move_record', record, 'moves', c.moves)
redis.call('ZADD', key('outbox'), NOW, case_id)
count('transferred_out')
emit('moving', case_id, {region = ARGV[7], unit = ARGV[8], skill = ARGV[9], staff = ARGV[5]})
return record
