-- delete_aggregation_set: drop an aggregated set and its tasks.   asynq rdb.go: deleteAggregationSetCmd
-- KEYS[1] -> asynq:{<q>}:g:<group>:<set id>
-- KEYS[2] -> asynq:{<q>}:aggregation_sets
-- ARGV[1] -> task key prefix
-- Returns the number of task hashes deleted.
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("DEL", ARGV[1] .. id)
end
redis.call("DEL", KEYS[1])
redis.call("ZREM", KEYS[2], KEYS[1])
return #ids
