-- enqueue_unique: take the unique lock, then enqueue.         asynq rdb.go: enqueueUniqueCmd
-- KEYS[1] -> asynq:{<q>}:unique:<type>:<md5(payload)>   lock, value = task ID
-- KEYS[2] -> asynq:{<q>}:t:<id>
-- KEYS[3] -> asynq:{<q>}:pending
-- KEYS[4] -> dmq:{<q>}:wake
-- KEYS[5] -> dmq:{<q>}:events
-- ARGV[1] -> task ID
-- ARGV[2] -> lock TTL, whole seconds
-- ARGV[3] -> encoded TaskMessage
-- ARGV[4] -> now, Unix nanoseconds
-- ARGV[5] -> task type
-- ARGV[6] -> event stream MAXLEN (0 = none)
-- Returns 1 enqueued; -1 lock held (ErrDuplicateTask); 0 ID exists (the lock is kept, as asynq).
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[3], "list")
refused = refused or refuse_wrong_type(KEYS[4], "list")
refused = refused or (tonumber(ARGV[6]) > 0 and refuse_wrong_type(KEYS[5], "stream"))
if refused then
    return refused
end
local ok = redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2])
if not ok then
    return -1
end
if redis.call("EXISTS", KEYS[2]) == 1 then
    return 0
end
redis.call("HSET", KEYS[2], "msg", ARGV[3], "state", "pending", "pending_since", ARGV[4],
    "unique_key", KEYS[1])
redis.call("LPUSH", KEYS[3], ARGV[1])
if redis.call("LLEN", KEYS[4]) == 0 then
    redis.call("LPUSH", KEYS[4], "1")
end
if tonumber(ARGV[6]) > 0 then
    redis.call("XADD", KEYS[5], "MAXLEN", "~", ARGV[6], "*", "e", "enqueued", "id", ARGV[1], "t", ARGV[5])
end
return 1
