-- record_contact: first contact between staff and citizen; settles the
-- same-day contact guarantee. Later calls keep the first time.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] token
-- Returns the first-contact time (ms).
local case_id = ARGV[4]
local c = load(case_id)
local err = check_holder(c, case_id, ARGV[5], ARGV[6])
if err then return err end
if c.first_contact ~= '' then return tonumber(c.first_contact) end
redis.call('HSET', key('case', case_id), 'first_contact', NOW)
local sd = settle(c, case_id, 'sameday')
emit('contact', case_id, {unit = c.unit, skill = c.skill, staff = c.holder},
  profile(c, {sd = sd, w = NOW - tonumber(c.submitted)}))
return NOW
