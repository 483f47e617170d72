-- close: the holder ends the case with an outcome. Idempotent for the holder.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] token  [7] outcome  [8] assessed (1/0)
-- Returns 1 when closed now, 0 when this holder had already closed it.
local case_id, staff, token = ARGV[4], ARGV[5], ARGV[6]
local c = load(case_id)
if c and c.state == 'closed' and c.holder == staff and c.token == token then return 0 end
local err = check_holder(c, case_id, staff, token)
if err then return err end
redis.call('ZREM', key('leases'), case_id)
redis.call('SREM', key('held', staff), case_id)
redis.call('HSET', key('case', case_id), 'state', 'closed', 'closed_at', NOW, 'outcome', ARGV[7], 'lease_until', '0')
-- 'no_contact': contact was attempted and the citizen did not answer; 'data_lost': the
-- system closed a case whose data Redis lost. Neither is a first contact.
local first = ARGV[7] ~= 'no_contact' and ARGV[7] ~= 'data_lost' and c.first_contact == ''
if first then redis.call('HSET', key('case', case_id), 'first_contact', NOW) end
if ARGV[8] == '1' then redis.call('HSET', key('case', case_id), 'assessed', NOW) end
-- Either way the guarantees end here; one already overdue is counted.
local sd, as = settle(c, case_id, 'sameday'), settle(c, case_id, 'assess')
count('closed')
-- fc/w: this close is the first contact (no message before it), after w ms; d: how long the chat was held.
local extra = profile(c, {sd = sd, as = as, d = NOW - (tonumber(c.claimed_at) or NOW)})
if first then extra.fc, extra.w = 1, NOW - tonumber(c.submitted) end
emit('closed', case_id, {unit = c.unit, skill = c.skill, staff = staff, outcome = ARGV[7]}, extra)
return 1
