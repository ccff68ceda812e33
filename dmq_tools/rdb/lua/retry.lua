-- retry: move a failed active task to the retry zset.          asynq rdb.go: retryCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:lease
-- KEYS[4] -> asynq:{<q>}:retry         zset, score = retry-at (Unix s)
-- KEYS[5] -> asynq:{<q>}:processed:<date>
-- KEYS[6] -> asynq:{<q>}:failed:<date>
-- KEYS[7] -> asynq:{<q>}:processed
-- KEYS[8] -> asynq:{<q>}:failed
-- KEYS[9] -> dmq:{<q>}:events
-- KEYS[10] -> dmq:{<q>}:minutes:<date>
-- ARGV[1] -> task id
-- ARGV[2] -> msg with error_msg, last_failed_at = now and (if a failure) retried + 1
-- ARGV[3] -> retry-at (Unix s)
-- ARGV[4] -> stats expiry (Unix s)
-- ARGV[5] -> isFailure "1" / "0": only failures are counted
-- ARGV[6] -> MaxInt64
-- ARGV[7] -> task type   ARGV[8] -> error text   ARGV[9] -> event name (failed/retried/canceled/recovered)
-- ARGV[10] -> events MAXLEN   ARGV[11] -> minute "HHMM"   ARGV[12] -> minutes TTL (s)
-- ARGV[13] -> worker id       ARGV[14] -> duration ms ("" = none)
-- Returns 1; error NOT FOUND if the task is not active. The unique lock is kept (asynq).
-- Corrupt state (dmq): a destination key of the wrong type fails the call with a WRONGTYPE error
-- naming the key before anything moves, so the task stays active (never half-moved).
local t = redis.call("TYPE", KEYS[4])["ok"]
if t ~= "zset" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[4] .. " holds a " .. t .. ", not a zset")
end
t = redis.call("TYPE", KEYS[1])["ok"]
if t ~= "hash" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[1] .. " holds a " .. t .. ", not a hash")
end
t = redis.call("TYPE", KEYS[3])["ok"]
if t ~= "zset" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[3] .. " holds a " .. t .. ", not a zset")
end
if redis.call("LREM", KEYS[2], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[3], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "retry")
if ARGV[5] == "1" then
    if redis.call("INCR", KEYS[5]) == 1 then
        redis.call("EXPIREAT", KEYS[5], ARGV[4])
    end
    if redis.call("INCR", KEYS[6]) == 1 then
        redis.call("EXPIREAT", KEYS[6], ARGV[4])
    end
    if redis.call("GET", KEYS[7]) == ARGV[6] then
        redis.call("SET", KEYS[7], 1)
        redis.call("SET", KEYS[8], 1)
    else
        redis.call("INCR", KEYS[7])
        redis.call("INCR", KEYS[8])
    end
    redis.call("HINCRBY", KEYS[10], "p:" .. ARGV[11], 1)
    redis.call("HINCRBY", KEYS[10], "f:" .. ARGV[11], 1)
    if redis.call("TTL", KEYS[10]) == -1 then
        redis.call("EXPIRE", KEYS[10], ARGV[12])
    end
end
if tonumber(ARGV[10]) > 0 then
    if ARGV[14] ~= "" then
        redis.call("XADD", KEYS[9], "MAXLEN", "~", ARGV[10], "*", "e", ARGV[9], "id", ARGV[1],
            "t", ARGV[7], "d", ARGV[14], "w", ARGV[13], "err", ARGV[8])
    else
        redis.call("XADD", KEYS[9], "MAXLEN", "~", ARGV[10], "*", "e", ARGV[9], "id", ARGV[1],
            "t", ARGV[7], "w", ARGV[13], "err", ARGV[8])
    end
end
return 1
