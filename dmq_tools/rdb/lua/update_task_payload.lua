-- update_task_payload: rewrite a scheduled task's message.     asynq inspect.go: updateTaskPayloadCmd
-- KEYS[1] -> asynq:{<q>}:t:<id>
-- ARGV[1] -> re-encoded TaskMessage (new payload)
-- Returns 1 updated; 0 no such task; -1 not in the scheduled state. Other hash fields
-- (state, pending_since, group, unique_key) are kept.
if redis.call("EXISTS", KEYS[1]) == 0 then
    return 0
end
if redis.call("HGET", KEYS[1], "state") ~= "scheduled" then
    return -1
end
redis.call("HSET", KEYS[1], "msg", ARGV[1])
return 1
