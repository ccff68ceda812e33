-- enqueue: a new task straight into pending.                 asynq rdb.go: enqueueCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>        task hash
-- KEYS[2] -> asynq:{<q>}:pending       list
-- KEYS[3] -> dmq:{<q>}:wake            wake-up token list (dmq addition)
-- KEYS[4] -> dmq:{<q>}:events          event stream (dmq addition)
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task ID
-- ARGV[3] -> now, Unix nanoseconds (pending_since)
-- ARGV[4] -> task type (for the event)
-- ARGV[5] -> event stream MAXLEN (0 = record no event)
-- Returns 1 if enqueued, 0 if a task with this ID already exists (ErrTaskIDConflict).
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[2], "list")
refused = refused or refuse_wrong_type(KEYS[3], "list")
refused = refused or (tonumber(ARGV[5]) > 0 and refuse_wrong_type(KEYS[4], "stream"))
if refused then
    return refused
end
if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "pending", "pending_since", ARGV[3])
redis.call("LPUSH", KEYS[2], ARGV[2])
if redis.call("LLEN", KEYS[3]) == 0 then
    redis.call("LPUSH", KEYS[3], "1")
end
if tonumber(ARGV[5]) > 0 then
    redis.call("XADD", KEYS[4], "MAXLEN", "~", ARGV[5], "*", "e", "enqueued", "id", ARGV[2], "t", ARGV[4])
end
return 1
