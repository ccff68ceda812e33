-- archive_all_aggregating: archive every task of a group.      asynq inspect.go: archiveAllAggregatingCmd
-- KEYS[1] -> asynq:{<q>}:g:<group>
-- KEYS[2] -> asynq:{<q>}:archived
-- KEYS[3] -> asynq:{<q>}:groups
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- ARGV[2] -> now, Unix s
-- ARGV[3] -> trim cutoff, Unix s (now - 90 days)
-- ARGV[4] -> max archive size (10000)
-- ARGV[5] -> group name
-- Returns the number archived.
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("ZADD", KEYS[2], ARGV[2], id)
    redis.call("HSET", ARGV[1] .. id, "state", "archived")
end
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[3])
redis.call("ZREMRANGEBYRANK", KEYS[2], 0, -tonumber(ARGV[4]))
redis.call("DEL", KEYS[1])
redis.call("SREM", KEYS[3], ARGV[5])
return #ids
