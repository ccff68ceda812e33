-- schedule_unique: take the unique lock, then schedule.       asynq rdb.go: scheduleUniqueCmd
-- KEYS[1] -> asynq:{<q>}:unique:<type>:<md5(payload)>
-- KEYS[2] -> asynq:{<q>}:t:<id>
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> dmq:{<q>}:events
-- ARGV[1] -> task ID
-- ARGV[2] -> lock TTL, whole seconds ((process_at + ttl) - now)
-- ARGV[3] -> process-at, Unix seconds
-- ARGV[4] -> encoded TaskMessage
-- ARGV[5] -> task type
-- ARGV[6] -> event stream MAXLEN (0 = none)
-- Returns 1 scheduled, -1 lock held, 0 ID exists.
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[3], "zset")
refused = refused or (tonumber(ARGV[6]) > 0 and refuse_wrong_type(KEYS[4], "stream"))
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
redis.call("HSET", KEYS[2], "msg", ARGV[4], "state", "scheduled", "unique_key", KEYS[1])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1])
if tonumber(ARGV[6]) > 0 then
    redis.call("XADD", KEYS[4], "MAXLEN", "~", ARGV[6], "*", "e", "scheduled", "id", ARGV[1], "t", ARGV[5])
end
return 1
