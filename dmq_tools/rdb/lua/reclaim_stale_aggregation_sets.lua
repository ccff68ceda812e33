-- reclaim_stale_aggregation_sets: put expired sets back into their groups.   asynq rdb.go: reclaimStateAggregationSetsCmd
-- KEYS[1] -> asynq:{<q>}:aggregation_sets
-- KEYS[2] -> asynq:{<q>}:groups
-- ARGV[1] -> now (Unix s)
-- ARGV[2] -> group key prefix asynq:{<q>}:g:
-- Returns the number of sets reclaimed.
-- Difference from asynq (trap T10): the group name is SADDed back into `groups`, so the
-- reclaimed tasks stay visible to the aggregator.
local sets = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
for _, setkey in ipairs(sets) do
    local gkey = string.match(setkey, "^(.*):[^:]+$")
    local members = redis.call("ZRANGE", setkey, 0, -1, "WITHSCORES")
    for i = 1, #members, 2 do
        redis.call("ZADD", gkey, members[i + 1], members[i])
    end
    redis.call("DEL", setkey)
    if #members > 0 then
        redis.call("SADD", KEYS[2], string.sub(gkey, string.len(ARGV[2]) + 1))
    end
end
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
return #sets
