-- archive: move a failed active task to the archive, trimming it.   asynq rdb.go: archiveCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:lease
-- KEYS[4] -> asynq:{<q>}:archived      zset, score = archived-at (Unix s)
-- KEYS[5] -> asynq:{<q>}:processed:<date>
-- KEYS[6] -> asynq:{<q>}:failed:<date>
-- KEYS[7] -> asynq:{<q>}:processed
-- KEYS[8] -> asynq:{<q>}:failed
-- KEYS[9] -> asynq:{<q>}:t:            task key prefix (asynq passes it as a key too)
-- KEYS[10] -> dmq:{<q>}:events
-- KEYS[11] -> dmq:{<q>}:minutes:<date>
-- ARGV[1] -> task id
-- ARGV[2] -> msg with error_msg and last_failed_at = now (retried unchanged); for a record that
--            does not decode, the stored bytes unchanged
-- ARGV[3] -> now (Unix s)
-- ARGV[4] -> age cutoff: now - 90 days (Unix s)
-- ARGV[5] -> maxArchiveSize = 10000 (ZRANGE 0 -10000 keeps 9 999: asynq's off-by-one)
-- ARGV[6] -> stats expiry   ARGV[7] -> MaxInt64
-- ARGV[8] -> task type      ARGV[9] -> error text   ARGV[10] -> events MAXLEN
-- ARGV[11] -> minute "HHMM" ARGV[12] -> minutes TTL (s)   ARGV[13] -> worker id
-- ARGV[14] -> duration ms ("" = none)
-- Returns 1; error NOT FOUND if the task is not active. Always counted as a failure (asynq); the
-- unique lock is kept (asynq). Needs Redis >= 6.2 (ZRANGE ... BYSCORE), as asynq.
-- Corrupt state (dmq): a destination key of the wrong type fails the call with a WRONGTYPE error
-- naming the key before anything moves, so the task stays active (never half-moved).
local t = redis.call("TYPE", KEYS[4])["ok"]
if t ~= "zset" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[4] .. " holds a " .. t .. ", not a zset")
end
t = redis.call("TYPE", KEYS[3])["ok"]
if t ~= "zset" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[3] .. " holds a " .. t .. ", not a zset")
end
t = redis.call("TYPE", KEYS[1])["ok"]
if t ~= "hash" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[1] .. " holds a " .. t .. ", not a hash")
end
if redis.call("LREM", KEYS[2], 0, ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
if redis.call("ZREM", KEYS[3], ARGV[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
redis.call("ZADD", KEYS[4], ARGV[3], ARGV[1])
local old = redis.call("ZRANGE", KEYS[4], "-inf", ARGV[4], "BYSCORE")
if #old > 0 then
    for _, id in ipairs(old) do
        redis.call("DEL", KEYS[9] .. id)
        redis.call("ZREM", KEYS[4], id)
    end
end
local extra = redis.call("ZRANGE", KEYS[4], 0, -tonumber(ARGV[5]))
if #extra > 0 then
    for _, id in ipairs(extra) do
        redis.call("DEL", KEYS[9] .. id)
        redis.call("ZREM", KEYS[4], id)
    end
end
redis.call("HSET", KEYS[1], "msg", ARGV[2], "state", "archived")
if redis.call("INCR", KEYS[5]) == 1 then
    redis.call("EXPIREAT", KEYS[5], ARGV[6])
end
if redis.call("INCR", KEYS[6]) == 1 then
    redis.call("EXPIREAT", KEYS[6], ARGV[6])
end
if redis.call("GET", KEYS[7]) == ARGV[7] then
    redis.call("SET", KEYS[7], 1)
    redis.call("SET", KEYS[8], 1)
else
    redis.call("INCR", KEYS[7])
    redis.call("INCR", KEYS[8])
end
redis.call("HINCRBY", KEYS[11], "p:" .. ARGV[11], 1)
redis.call("HINCRBY", KEYS[11], "f:" .. ARGV[11], 1)
if redis.call("TTL", KEYS[11]) == -1 then
    redis.call("EXPIRE", KEYS[11], ARGV[12])
end
if tonumber(ARGV[10]) > 0 then
    if ARGV[14] ~= "" then
        redis.call("XADD", KEYS[10], "MAXLEN", "~", ARGV[10], "*", "e", "archived", "id", ARGV[1],
            "t", ARGV[8], "d", ARGV[14], "w", ARGV[13], "err", ARGV[9])
    else
        redis.call("XADD", KEYS[10], "MAXLEN", "~", ARGV[10], "*", "e", "archived", "id", ARGV[1],
            "t", ARGV[8], "w", ARGV[13], "err", ARGV[9])
    end
end
return 1
