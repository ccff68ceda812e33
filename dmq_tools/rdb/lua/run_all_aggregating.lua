-- run_all_aggregating: move every task of a group to pending.  asynq inspect.go: runAllAggregatingCmd
-- KEYS[1] -> asynq:{<q>}:g:<group>
-- KEYS[2] -> asynq:{<q>}:pending
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4] -> dmq:{<q>}:wake
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- ARGV[2] -> group name
-- Returns the number of tasks moved.
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("LPUSH", KEYS[2], id)
    redis.call("HSET", ARGV[1] .. id, "state", "pending")
end
redis.call("DEL", KEYS[1])
redis.call("SREM", KEYS[3], ARGV[2])
if #ids > 0 and redis.call("LLEN", KEYS[4]) == 0 then
    redis.call("LPUSH", KEYS[4], "1")
end
return #ids
