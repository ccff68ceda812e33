-- forward: move due scheduled/retry tasks to pending, or back into their group.   asynq rdb.go: forwardCmd
-- KEYS[1] -> asynq:{<q>}:scheduled or asynq:{<q>}:retry
-- KEYS[2] -> asynq:{<q>}:pending
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4] -> dmq:{<q>}:wake
-- ARGV[1] -> now (Unix s)
-- ARGV[2] -> task key prefix asynq:{<q>}:t:
-- ARGV[3] -> now (Unix ns), pending_since
-- ARGV[4] -> group key prefix asynq:{<q>}:g:
-- Returns the number moved (at most 100 per call; the caller repeats until 0).
-- Difference from asynq (trap T10): the group branch also SADDs the group into `groups`, so the
-- aggregator sees it.
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 100)
local to_pending = 0
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
    local group = redis.call("HGET", key, "group")
    if group and group ~= "" then
        redis.call("ZADD", ARGV[4] .. group, ARGV[1], id)
        redis.call("ZREM", KEYS[1], id)
        redis.call("HSET", key, "state", "aggregating")
        redis.call("SADD", KEYS[3], group)
    else
        redis.call("LPUSH", KEYS[2], id)
        redis.call("ZREM", KEYS[1], id)
        redis.call("HSET", key, "state", "pending", "pending_since", ARGV[3])
        to_pending = to_pending + 1
    end
end
if to_pending > 0 and redis.call("LLEN", KEYS[4]) == 0 then
    redis.call("LPUSH", KEYS[4], "1")
end
return #ids
