-- add_to_group_unique: unique lock, then add to a group.      asynq rdb.go: addToGroupUniqueCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:g:<group>
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4] -> asynq:{<q>}:unique:<type>:<md5(payload)>
-- KEYS[5] -> dmq:{<q>}:events
-- ARGV[1] -> encoded TaskMessage
-- ARGV[2] -> task ID
-- ARGV[3] -> now, Unix seconds
-- ARGV[4] -> group name
-- ARGV[5] -> lock TTL, whole seconds
-- ARGV[6] -> task type
-- ARGV[7] -> event stream MAXLEN (0 = none)
-- Returns 1 added, -1 lock held, 0 ID exists. The hash gets no unique_key field (as asynq).
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[2], "zset")
refused = refused or refuse_wrong_type(KEYS[3], "set")
refused = refused or (tonumber(ARGV[7]) > 0 and refuse_wrong_type(KEYS[5], "stream"))
if refused then
    return refused
end
local ok = redis.call("SET", KEYS[4], ARGV[2], "NX", "EX", ARGV[5])
if not ok then
    return -1
end
if redis.call("EXISTS", KEYS[1]) == 1 then
    return 0
end
redis.call("HSET", KEYS[1], "msg", ARGV[1], "state", "aggregating", "group", ARGV[4])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[4])
if tonumber(ARGV[7]) > 0 then
    redis.call("XADD", KEYS[5], "MAXLEN", "~", ARGV[7], "*", "e", "aggregating", "id", ARGV[2], "t", ARGV[6])
end
return 1
