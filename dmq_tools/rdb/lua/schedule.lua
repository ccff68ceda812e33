-- schedule: a new task into the scheduled zset.               asynq rdb.go: scheduleCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:scheduled     zset, score = process-at (Unix s)
-- KEYS[3] -> dmq:{<q>}:events
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> process-at, Unix seconds
-- ARGV[3] -> task ID
-- ARGV[4] -> task type
-- ARGV[5] -> event stream MAXLEN (0 = none)
-- Returns 1 scheduled, 0 ID exists. (No pending_since and no group field, as asynq.)
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[2], "zset")
refused = refused or (tonumber(ARGV[5]) > 0 and refuse_wrong_type(KEYS[3], "stream"))
if refused then
    return refused
end
if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "scheduled")
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[3])
if tonumber(ARGV[5]) > 0 then
    redis.call("XADD", KEYS[3], "MAXLEN", "~", ARGV[5], "*", "e", "scheduled", "id", ARGV[3], "t", ARGV[4])
end
return 1
