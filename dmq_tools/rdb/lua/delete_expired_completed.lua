-- delete_expired_completed: the janitor's batch.              asynq rdb.go: deleteExpiredCompletedTasksCmd
-- KEYS[1] -> asynq:{<q>}:completed
-- ARGV[1] -> now (Unix s)
-- ARGV[2] -> task key prefix
-- ARGV[3] -> batch size (100)
-- Returns the number deleted; the caller repeats until 0.
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[2] .. id)
    redis.call("ZREM", KEYS[1], id)
end
return #ids
