-- remove_queue: delete an empty queue's containers.            asynq inspect.go: removeQueueCmd
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:archived
-- KEYS[6] -> asynq:{<q>}:lease
-- Returns 1 removed; -1 some container holds tasks (QueueNotEmpty). The caller SREMs asynq:queues.
if redis.call("LLEN", KEYS[1]) > 0 or redis.call("LLEN", KEYS[2]) > 0 then
    return -1
end
for i = 3, 5 do
    if redis.call("ZCARD", KEYS[i]) > 0 then
        return -1
    end
end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
