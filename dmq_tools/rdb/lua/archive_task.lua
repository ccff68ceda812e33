-- archive_task: move one non-active task to the archive.       asynq inspect.go: archiveTaskCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:archived
-- KEYS[3] -> asynq:{<q>}:groups
-- ARGV[1] -> task ID
-- ARGV[2] -> queue key prefix asynq:{<q>}:
-- ARGV[3] -> group key prefix asynq:{<q>}:g:
-- ARGV[4] -> now, Unix s
-- ARGV[5] -> trim cutoff, Unix s (now - 90 days)
-- ARGV[6] -> max archive size (10000)
-- Returns 1 archived; 0 no such task; -1 already archived; -2 active. Error reply "NOT FOUND" if
-- the ID is missing from its container. The trims do not delete trimmed hashes, as asynq.
if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
local v = redis.call("HMGET", KEYS[1], "state", "group")
local state, group = v[1], v[2]
if state == "active" then
    return -2
elseif state == "archived" then
    return -1
elseif state == "pending" then
    if redis.call("LREM", ARGV[2] .. "pending", 1, ARGV[1]) == 0 then
        return redis.error_reply("NOT FOUND")
    end
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
redis.call("ZADD", KEYS[2], ARGV[4], ARGV[1])
redis.call("HSET", KEYS[1], "state", "archived")
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[5])
redis.call("ZREMRANGEBYRANK", KEYS[2], 0, -tonumber(ARGV[6]))
return 1
