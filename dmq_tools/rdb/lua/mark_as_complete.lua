-- mark_as_complete: finish a successful task that has a retention.   asynq rdb.go: markAsCompleteCmd (+Unique)
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:completed     zset, score = expiry (completed_at + retention, Unix s)
-- KEYS[4] -> asynq:{<q>}:t:<id>
-- KEYS[5] -> asynq:{<q>}:processed:<date>
-- KEYS[6] -> asynq:{<q>}:processed
-- KEYS[7] -> dmq:{<q>}:events
-- KEYS[8] -> dmq:{<q>}:minutes:<date>
-- ARGV[1] -> task id
-- ARGV[2] -> stats expiry (Unix s)
-- ARGV[3] -> task expiry (Unix s)
-- ARGV[4] -> msg re-encoded with completed_at = now
-- ARGV[5] -> MaxInt64
-- ARGV[6] -> unique key ("" = none; released only if it holds this id)
-- ARGV[7] -> task type            ARGV[8] -> duration ms
-- ARGV[9] -> events MAXLEN        ARGV[10] -> minute field "p:HHMM"
-- ARGV[11] -> minutes TTL (s)     ARGV[12] -> worker id
-- ARGV[13] -> result bytes to store ("" with ARGV[14] == "0" = leave `result` as it is)
-- ARGV[14] -> "1" if ARGV[13] is a result to store
-- Returns 1; error NOT FOUND if the task is not active; error INTERNAL if the completed zset
-- already held the id (asynq).
-- Corrupt state (dmq): a destination key of the wrong type fails the call with a WRONGTYPE error
-- naming the key before anything moves, so the task stays active (never half-moved).
local t = redis.call("TYPE", KEYS[3])["ok"]
if t ~= "zset" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[3] .. " holds a " .. t .. ", not a zset")
end
t = redis.call("TYPE", KEYS[4])["ok"]
if t ~= "hash" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[4] .. " holds a " .. t .. ", not a hash")
end
t = redis.call("TYPE", KEYS[2])["ok"]
if t ~= "zset" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[2] .. " holds a " .. t .. ", not a zset")
end
if redis.call("LREM", KEYS[1], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[2], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZADD", KEYS[3], ARGV[3], ARGV[1]) ~= 1 then
    return redis.error_reply("INTERNAL")
end
redis.call("HSET", KEYS[4], "msg", ARGV[4], "state", "completed")
if ARGV[14] == "1" then
    redis.call("HSET", KEYS[4], "result", ARGV[13])
end
if redis.call("INCR", KEYS[5]) == 1 then
    redis.call("EXPIREAT", KEYS[5], ARGV[2])
end
if redis.call("GET", KEYS[6]) == ARGV[5] then
    redis.call("SET", KEYS[6], 1)
else
    redis.call("INCR", KEYS[6])
end
if ARGV[6] ~= "" and redis.call("GET", ARGV[6]) == ARGV[1] then
    redis.call("DEL", ARGV[6])
end
if tonumber(ARGV[9]) > 0 then
    redis.call("XADD", KEYS[7], "MAXLEN", "~", ARGV[9], "*", "e", "succeeded", "id", ARGV[1],
        "t", ARGV[7], "d", ARGV[8], "w", ARGV[12])
end
redis.call("HINCRBY", KEYS[8], ARGV[10], 1)
if redis.call("TTL", KEYS[8]) == -1 then
    redis.call("EXPIRE", KEYS[8], ARGV[11])
end
return 1
