-- get_task_info: one task's stored fields.                    asynq inspect.go: getTaskInfoCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- ARGV[1] -> task ID
-- ARGV[2] -> queue key prefix asynq:{<q>}:
-- Returns {msg, state, result, score}: score = ZSCORE in the scheduled/retry zset (Unix s) or
-- false for other states. Error reply "NOT FOUND" when the task hash does not exist.
if redis.call("EXISTS", KEYS[1]) == 0 then
    return redis.error_reply("NOT FOUND")
end
local v = redis.call("HMGET", KEYS[1], "msg", "state", "result")
local score = false
if v[2] == "scheduled" or v[2] == "retry" then
    score = redis.call("ZSCORE", ARGV[2] .. v[2], ARGV[1])
end
return {v[1], v[2], v[3], score}
