-- delete_all_pending: delete every pending task.               asynq inspect.go: deleteAllPendingCmd
-- KEYS[1] -> asynq:{<q>}:pending
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- Returns the number deleted. Unique locks are NOT released (asynq, trap T5).
local ids = redis.call("LRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[1] .. id)
end
redis.call("DEL", KEYS[1])
return #ids
