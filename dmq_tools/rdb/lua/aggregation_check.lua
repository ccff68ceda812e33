-- aggregation_check: cut an aggregation set from a group when it is due.   asynq rdb.go: aggregationCheckCmd
-- KEYS[1] -> asynq:{<q>}:g:<group>
-- KEYS[2] -> asynq:{<q>}:g:<group>:<new set id>
-- KEYS[3] -> asynq:{<q>}:aggregation_sets   zset, member = set key, score = set deadline
-- KEYS[4] -> asynq:{<q>}:groups
-- ARGV[1] -> max size (0 = unlimited)
-- ARGV[2] -> max delay, seconds (0 = none)
-- ARGV[3] -> grace period, seconds
-- ARGV[4] -> set deadline, Unix s (now + 2 min)
-- ARGV[5] -> now, Unix s
-- ARGV[6] -> group name
-- Returns 1 if a set was created in KEYS[2], else 0.
local size = redis.call("ZCARD", KEYS[1])
if size == 0 then
    return 0
end
local maxSize = tonumber(ARGV[1])
local maxDelay = tonumber(ARGV[2])
local grace = tonumber(ARGV[3])
local now = tonumber(ARGV[5])

local function move(stop)
    local members = redis.call("ZRANGE", KEYS[1], 0, stop, "WITHSCORES")
    for i = 1, #members, 2 do
        redis.call("ZADD", KEYS[2], members[i + 1], members[i])
    end
    redis.call("ZREMRANGEBYRANK", KEYS[1], 0, stop)
    redis.call("ZADD", KEYS[3], ARGV[4], KEYS[2])
end

if maxSize ~= 0 and size >= maxSize then
    move(maxSize - 1)
    if size == maxSize then
        redis.call("SREM", KEYS[4], ARGV[6])
    end
    return 1
end
if maxDelay ~= 0 then
    local oldest = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
    if tonumber(oldest[2]) <= now - maxDelay then
        move(maxSize - 1)
        if size <= maxSize or maxSize == 0 then
            redis.call("SREM", KEYS[4], ARGV[6])
        end
        return 1
    end
end
local newest = redis.call("ZRANGE", KEYS[1], -1, -1, "WITHSCORES")
if tonumber(newest[2]) <= now - grace then
    move(maxSize - 1)
    if size <= maxSize or maxSize == 0 then
        redis.call("SREM", KEYS[4], ARGV[6])
    end
    return 1
end
return 0
