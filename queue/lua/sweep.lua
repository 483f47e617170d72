-- sweep: count guarantee breaches as their deadlines pass, so that they are
-- visible live and not only when the case is finally handled.
-- KEYS[1] dk:{r}:g:sameday
-- ARGV[4] limit
-- Returns {same-day breaches, assessment breaches} found now.
local found = {0, 0}
local kinds = {{'sameday', 'breach_sameday', 'sameday_breached'}, {'assess', 'breach_assess', 'assess_breached'}}
for i, kind in ipairs(kinds) do
  local due = redis.call('ZRANGEBYSCORE', key('g', kind[1]), '-inf', '(' .. NOW, 'LIMIT', 0, tonumber(ARGV[4]))
  for _, case_id in ipairs(due) do
    redis.call('ZREM', key('g', kind[1]), case_id)
    count(kind[2])
    redis.call('HSET', key('case', case_id), kind[3], NOW)
    local c = redis.call('HMGET', key('case', case_id), 'unit', 'skill', 'urgency')
    emit('breach', case_id, {guarantee = kind[1], unit = c[1], skill = c[2]}, {ur = c[3] or ''})
    found[i] = found[i] + 1
  end
end
return found
