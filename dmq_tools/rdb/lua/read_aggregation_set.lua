-- read_aggregation_set: the messages of a set, oldest first.  asynq rdb.go: readAggregationSetCmd
-- KEYS[1] -> asynq:{<q>}:g:<group>:<set id>
-- KEYS[2] -> asynq:{<q>}:aggregation_sets
-- ARGV[1] -> task key prefix
-- Returns {deadline (Unix s, or false), msg, msg, ...}; members without a hash are skipped.
local out = {redis.call("ZSCORE", KEYS[2], KEYS[1]) or false}
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    local msg = redis.call("HGET", ARGV[1] .. id, "msg")
    if msg then
        out[#out + 1] = msg
    end
end
return out
