-- remove_queue_force: delete a queue and its tasks.            asynq inspect.go: removeQueueForceCmd
-- KEYS[1] -> asynq:{<q>}:pending
-- KEYS[2] -> asynq:{<q>}:active
-- KEYS[3] -> asynq:{<q>}:scheduled
-- KEYS[4] -> asynq:{<q>}:retry
-- KEYS[5] -> asynq:{<q>}:archived
-- KEYS[6] -> asynq:{<q>}:lease
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- Returns 1 removed; -2 the queue has active tasks. Completed tasks, groups, counters and the
-- paused flag are left behind, as asynq. The caller SREMs asynq:queues.
if redis.call("LLEN", KEYS[2]) > 0 then
    return -2
end
for _, id in ipairs(redis.call("LRANGE", KEYS[1], 0, -1)) do
    redis.call("DEL", ARGV[1] .. id)
end
for i = 3, 5 do
    for _, id in ipairs(redis.call("ZRANGE", KEYS[i], 0, -1)) do
        redis.call("DEL", ARGV[1] .. id)
    end
end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
