-- forward: move due scheduled/retry tasks to pending, or back into their group.   asynq rdb.go: forwardCmd
-- KEYS[1] -> asynq:{<q>}:scheduled or asynq:{<q>}:retry
-- KEYS[2] -> asynq:{<q>}:pending
-- KEYS[3] -> asynq:{<q>}:groups
-- KEYS[4] -> dmq:{<q>}:wake
-- ARGV[1] -> now (Unix s)
-- ARGV[2] -> task key prefix asynq:{<q>}:t:
-- ARGV[3] -> now (Unix ns), pending_since
-- ARGV[4] -> group key prefix asynq:{<q>}:g:
-- Returns {n, bad key, ...}: n = ids handled (at most 100 per call; the caller repeats until 0).
-- Corrupt state (dmq): a task key that is not a hash has its id dropped from KEYS[1] (the key is
-- left as it is), a group key that is not a sorted set keeps its task where it is; both keys are
-- listed after n. A pending list of the wrong type fails the call before anything moves.
-- Difference from asynq (trap T10): the group branch also SADDs the group into `groups`, so the
-- aggregator sees it.
local t = redis.call("TYPE", KEYS[2])["ok"]
if t ~= "list" and t ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[2] .. " holds a " .. t)
end
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 100)
local to_pending = 0
local handled = 0
local bad = {}
for _, id in ipairs(ids) do
    local key = ARGV[2] .. id
    local group = redis.pcall("HGET", key, "group")
    if type(group) == "table" then
        redis.call("ZREM", KEYS[1], id)
        bad[#bad + 1] = key
        handled = handled + 1
    elseif group and group ~= "" then
        local z = redis.pcall("ZADD", ARGV[4] .. group, ARGV[1], id)
        if type(z) == "table" then
            bad[#bad + 1] = ARGV[4] .. group
        else
            redis.call("ZREM", KEYS[1], id)
            redis.call("HSET", key, "state", "aggregating")
            redis.call("SADD", KEYS[3], group)
            handled = handled + 1
        end
    else
        redis.call("LPUSH", KEYS[2], id)
        redis.call("ZREM", KEYS[1], id)
        redis.call("HSET", key, "state", "pending", "pending_since", ARGV[3])
        to_pending = to_pending + 1
        handled = handled + 1
    end
end
if to_pending > 0 then
    local w = redis.pcall("LLEN", KEYS[4])
    if w == 0 then
        redis.call("LPUSH", KEYS[4], "1")
    end
end
local out = {handled}
for _, k in ipairs(bad) do
    out[#out + 1] = k
end
return out
