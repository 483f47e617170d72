-- release: the holder returns the case to the queue at its original deadline.
-- KEYS[1] dk:{r}:case:<id>
-- ARGV[4] case_id  [5] staff  [6] token
-- Returns 1. The event is `requeued` (docs/protocol.md): the holder's other
-- sockets let go of the case when they hear it (server/hub.py LET_GO_EVENTS).
local case_id = ARGV[4]
local c = load(case_id)
local err = check_holder(c, case_id, ARGV[5], ARGV[6])
if err then return err end
requeue(c, case_id, 'requeued')
count('released')
return 1
