-- run_task: move one task to pending so it runs next.          asynq inspect.go: runTaskCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:pending
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4] -> dmq:{<q>}:wake            wake-up token list (dmq addition)
-- ARGV[1] -> task ID
-- ARGV[2] -> queue key prefix asynq:{<q>}:
-- ARGV[3] -> group key prefix asynq:{<q>}:g:
-- Returns 1 moved; 0 no such task; -1 active; -2 already pending. Error reply "NOT FOUND" if the
-- ID is missing from the container its state names. pending_since, retried and error_msg are
-- left unchanged, as asynq.
if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
local v = redis.call("HMGET", KEYS[1], "state", "group")
local state, group = v[1], v[2]
if state == "active" then
    return -1
elseif state == "pending" then
    return -2
elseif state == "aggregating" then
    local gkey = ARGV[3] .. group
    if redis.call("ZREM", gkey, ARGV[1]) == 0 then
        return redis.error_reply("NOT FOUND")
    end
    if redis.call("ZCARD", gkey) == 0 then
        redis.call("SREM", KEYS[3], group)
    end
else
    if redis.call("ZREM", ARGV[2] .. state, ARGV[1]) == 0 then
        return redis.error_reply("NOT FOUND")
    end
end
redis.call("LPUSH", KEYS[2], ARGV[1])
redis.call("HSET", KEYS[1], "state", "pending")
if redis.call("LLEN", KEYS[4]) == 0 then
    redis.call("LPUSH", KEYS[4], "1")
end
return 1
