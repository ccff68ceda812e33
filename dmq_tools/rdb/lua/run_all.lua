-- run_all: move every task of a zset to pending.               asynq inspect.go: runAllCmd
-- KEYS[1] -> asynq:{<q>}:scheduled|retry|archived|completed
-- KEYS[2] -> asynq:{<q>}:pending
-- KEYS[3] -> dmq:{<q>}:wake
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- Returns the number of tasks moved.
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    redis.call("LPUSH", KEYS[2], id)
    redis.call("HSET", ARGV[1] .. id, "state", "pending")
end
redis.call("DEL", KEYS[1])
if #ids > 0 and redis.call("LLEN", KEYS[3]) == 0 then
    redis.call("LPUSH", KEYS[3], "1")
end
return #ids
