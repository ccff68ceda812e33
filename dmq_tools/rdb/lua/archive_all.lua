-- archive_all: archive every task of a zset.                   asynq inspect.go: archiveAllCmd
-- KEYS[1] -> asynq:{<q>}:scheduled|retry
-- KEYS[2] -> asynq:{<q>}:archived
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- ARGV[2] -> now, Unix s
-- ARGV[3] -> trim cutoff, Unix s (now - 90 days)
-- ARGV[4] -> max archive size (10000)
-- Returns the number archived. Trimmed hashes are not deleted, as asynq.
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("ZADD", KEYS[2], ARGV[2], id)
    redis.call("HSET", ARGV[1] .. id, "state", "archived")
end
redis.call("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[3])
redis.call("ZREMRANGEBYRANK", KEYS[2], 0, -tonumber(ARGV[4]))
redis.call("DEL", KEYS[1])
return #ids
