-- claim: lease one specific waiting case (picked from the list, where the
-- unit allows it). Repeating a successful claim returns the same lease.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] lease_ms  [7] cap (-1 = none)  [8] window ms
--     [9..] "unit:skill" queues the staff member serves
-- Returns {case_id, token, lease_until, deadline, unit, skill}.
local case_id, staff = ARGV[4], ARGV[5]
local c = load(case_id)
if c == nil then return fail('unknown_case', case_id) end
if gone(c) then return fail('moved', c.moved_to) end
local allowed = false
for i = 9, #ARGV do
  if ARGV[i] == c.unit .. ':' .. c.skill then allowed = true end
end
if not allowed then return fail('not_allowed', c.unit .. ':' .. c.skill) end
if c.state == 'claimed' and c.holder == staff then
  return {case_id, tonumber(c.token), tonumber(c.lease_until), tonumber(c.deadline), c.unit, c.skill}
end
if c.state ~= 'waiting' then return fail('case_conflict', c.state) end
if is_capped(staff, tonumber(ARGV[7])) then return fail('at_capacity', staff) end
return take(c, case_id, staff, tonumber(ARGV[6]), tonumber(ARGV[8]))
