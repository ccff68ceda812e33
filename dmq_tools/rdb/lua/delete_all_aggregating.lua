-- delete_all_aggregating: delete every task of a group.        asynq inspect.go: deleteAllAggregatingCmd
-- KEYS[1] -> asynq:{<q>}:g:<group>
-- KEYS[2] -> asynq:{<q>}:groups
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- ARGV[2] -> group name
-- Returns the number deleted. Unique locks are NOT released (asynq, trap T5).
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[1] .. id)
end
redis.call("SREM", KEYS[2], ARGV[2])
redis.call("DEL", KEYS[1])
return #ids
