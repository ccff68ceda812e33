-- current_stats: one queue's counts and counters in one round trip.   asynq inspect.go: currentStatsCmd
-- KEYS[1] -> asynq:{<q>}:pending            list
-- KEYS[2] -> asynq:{<q>}:active             list
-- KEYS[3] -> asynq:{<q>}:scheduled          zset
-- KEYS[4] -> asynq:{<q>}:retry              zset
-- KEYS[5] -> asynq:{<q>}:archived           zset
-- KEYS[6] -> asynq:{<q>}:completed          zset
-- KEYS[7] -> asynq:{<q>}:processed:<today>  daily counter
-- KEYS[8] -> asynq:{<q>}:failed:<today>     daily counter
-- KEYS[9] -> asynq:{<q>}:processed          total counter
-- KEYS[10] -> asynq:{<q>}:failed            total counter
-- KEYS[11] -> asynq:{<q>}:paused
-- KEYS[12] -> asynq:{<q>}:groups            set of group names
-- ARGV[1] -> task key prefix  asynq:{<q>}:t:
-- ARGV[2] -> group key prefix asynq:{<q>}:g:
-- Returns {pending, active, scheduled, retry, archived, completed, processed_today, failed_today,
--          processed_total, failed_total, paused (0/1), group count, aggregating count,
--          oldest pending_since (Unix ns)}; counters and pending_since as strings ("0" if missing)
--          so 64-bit values keep their precision.
local function counter(key)
    local v = redis.call("GET", key)
    if v then return v end
    return "0"
end
local out = {}
out[1] = redis.call("LLEN", KEYS[1])
out[2] = redis.call("LLEN", KEYS[2])
out[3] = redis.call("ZCARD", KEYS[3])
out[4] = redis.call("ZCARD", KEYS[4])
out[5] = redis.call("ZCARD", KEYS[5])
out[6] = redis.call("ZCARD", KEYS[6])
out[7] = counter(KEYS[7])
out[8] = counter(KEYS[8])
out[9] = counter(KEYS[9])
out[10] = counter(KEYS[10])
out[11] = redis.call("EXISTS", KEYS[11])
local groups = redis.call("SMEMBERS", KEYS[12])
out[12] = #groups
local aggregating = 0
for _, g in ipairs(groups) do
    local n = redis.pcall("ZCARD", ARGV[2] .. g)      -- a group key of the wrong type counts 0
    if type(n) == "number" then aggregating = aggregating + n end
end
out[13] = aggregating
out[14] = "0"
local oldest = redis.call("LRANGE", KEYS[1], -1, -1)
if #oldest > 0 then
    local since = redis.pcall("HGET", ARGV[1] .. oldest[1], "pending_since")
    if type(since) == "string" then out[14] = since end
end
return out
