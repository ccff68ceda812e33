-- add_to_group: a new task into a group for aggregation.      asynq rdb.go: addToGroupCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:g:<group>     zset, score = time added (Unix s)
-- KEYS[3] -> asynq:{<q>}:groups        set of group names
-- KEYS[4] -> dmq:{<q>}:events
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task ID
-- ARGV[3] -> now, Unix seconds
-- ARGV[4] -> group name
-- ARGV[5] -> task type
-- ARGV[6] -> event stream MAXLEN (0 = none)
-- Returns 1 added, 0 ID exists.
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[2], "zset")
refused = refused or refuse_wrong_type(KEYS[3], "set")
refused = refused or (tonumber(ARGV[6]) > 0 and refuse_wrong_type(KEYS[4], "stream"))
if refused then
    return refused
end
if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
if tonumber(ARGV[6]) > 0 then
    redis.call("XADD", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "e", "aggregating", "id", ARGV[2], "t", ARGV[5])
end
return 1
