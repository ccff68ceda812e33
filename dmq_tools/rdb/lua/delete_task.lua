-- delete_task: delete one non-active task.                     asynq inspect.go: deleteTaskCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- KEYS[2] -> asynq:{<q>}:groups
-- ARGV[1] -> task ID
-- ARGV[2] -> queue key prefix asynq:{<q>}:
-- ARGV[3] -> group key prefix asynq:{<q>}:g:
-- Returns 1 deleted; 0 no such task; -1 active. Error reply "NOT FOUND" if the ID is missing
-- from its container. The unique lock is released only if it still holds this task's ID.
if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
local v = redis.call("HMGET", KEYS[1], "state", "group", "unique_key")
local state, group, ukey = v[1], v[2], v[3]
if state == "active" then
    return -1
elseif state == "pending" then
    if redis.call("LREM", ARGV[2] .. "pending", 0, ARGV[1]) == 0 then
        return redis.error_reply("NOT FOUND")
    end
elseif state == "aggregating" then
    local gkey = ARGV[3] .. group
    if redis.call("ZREM", gkey, ARGV[1]) == 0 then
        return redis.error_reply("NOT FOUND")
    end
    if redis.call("ZCARD", gkey) == 0 then
        redis.call("SREM", KEYS[2], group)
    end
else
    if redis.call("ZREM", ARGV[2] .. state, ARGV[1]) == 0 then
        return redis.error_reply("NOT FOUND")
    end
end
if ukey and ukey ~= "" and redis.call("GET", ukey) == ARGV[1] then
    redis.call("DEL", ukey)
end
return redis.call("DEL", KEYS[1])
