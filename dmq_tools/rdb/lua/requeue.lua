-- requeue: give a still-running task back at shutdown, to run next.   asynq rdb.go: requeueCmd
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:pending
-- KEYS[4] -> asynq:{<q>}:t:<id>
-- KEYS[5] -> dmq:{<q>}:wake
-- KEYS[6] -> dmq:{<q>}:events
-- ARGV[1] -> task id
-- ARGV[2] -> now, Unix ns (pending_since: asynq leaves it unset; setting it keeps latency right,
--            protocol checklist item 5)
-- ARGV[3] -> task type   ARGV[4] -> events MAXLEN   ARGV[5] -> worker id
-- Returns 1; error NOT FOUND if the task is not active. retried is unchanged.
-- Corrupt state (dmq): a destination key of the wrong type fails the call with a WRONGTYPE error
-- naming the key before anything moves, so the task stays active (never half-moved).
local t = redis.call("TYPE", KEYS[3])["ok"]
if t ~= "list" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[3] .. " holds a " .. t .. ", not a list")
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
redis.call("RPUSH", KEYS[3], ARGV[1])
redis.call("HSET", KEYS[4], "state", "pending", "pending_since", ARGV[2])
if redis.pcall("LLEN", KEYS[5]) == 0 then
    redis.call("LPUSH", KEYS[5], "1")
end
if tonumber(ARGV[4]) > 0 then
    redis.pcall("XADD", KEYS[6], "MAXLEN", "~", ARGV[4], "*", "e", "requeued", "id", ARGV[1],
        "t", ARGV[3], "w", ARGV[5])
end
return 1
