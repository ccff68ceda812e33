-- memory_usage: approximate bytes used by one queue, by sampling.   asynq inspect.go: memoryUsageCmd
-- KEYS[1] -> asynq:{<q>}:active      list
-- KEYS[2] -> asynq:{<q>}:pending     list
-- KEYS[3] -> asynq:{<q>}:scheduled   zset
-- KEYS[4] -> asynq:{<q>}:retry       zset
-- KEYS[5] -> asynq:{<q>}:archived    zset
-- KEYS[6] -> asynq:{<q>}:completed   zset
-- KEYS[7] -> asynq:{<q>}:groups      set
-- ARGV[1] -> task key prefix   asynq:{<q>}:t:
-- ARGV[2] -> task sample size  (asynq: 20)
-- ARGV[3] -> group sample size (asynq: 5)
-- ARGV[4] -> group key prefix  asynq:{<q>}:g:
-- Returns {asynq's figure, extra}. The first is asynq v0.26's number exactly: the same keys in the
-- same order, the same float sum, truncated once when Redis turns the Lua number into an integer.
-- `extra` is what dmq also counts and asynq does not: the group sorted sets and the groups set.
-- Differences from asynq only where asynq's script fails: an id without a hash is left out of its
-- sample (asynq raises on MEMORY USAGE's nil), a container of the wrong type counts its own
-- MEMORY USAGE only (asynq raises WRONGTYPE), and groups that are all empty add 0 (asynq: NaN).
local sample = tonumber(ARGV[2])
local function usage(key)
    local b = redis.call("MEMORY", "USAGE", key)
    if b then return b end
    return 0
end
local function sampled(ids, total)
    local sum, n = 0, 0
    for _, id in ipairs(ids) do
        local b = redis.call("MEMORY", "USAGE", ARGV[1] .. id)
        if b then
            sum = sum + b
            n = n + 1
        end
    end
    if n == 0 then return 0 end
    return sum / n * total
end
local function kind(key)
    return redis.call("TYPE", key)["ok"]
end
local memusg = 0
for i = 1, 2 do
    if kind(KEYS[i]) == "list" then
        memusg = memusg + sampled(redis.call("LRANGE", KEYS[i], 0, sample - 1), redis.call("LLEN", KEYS[i]))
    end
    memusg = memusg + usage(KEYS[i])
end
for i = 3, 6 do
    if kind(KEYS[i]) == "zset" then
        memusg = memusg + sampled(redis.call("ZRANGE", KEYS[i], 0, sample - 1), redis.call("ZCARD", KEYS[i]))
    end
    memusg = memusg + usage(KEYS[i])
end
local extra = 0
if kind(KEYS[7]) == "set" then
    local groups = redis.call("SMEMBERS", KEYS[7])
    if #groups > 0 then
        local total, ids = 0, {}
        for i, g in ipairs(groups) do
            local gkey = ARGV[4] .. g
            if kind(gkey) == "zset" then
                total = total + redis.call("ZCARD", gkey)
                if i <= tonumber(ARGV[3]) then
                    for _, id in ipairs(redis.call("ZRANGE", gkey, 0, sample - 1)) do
                        table.insert(ids, id)
                    end
                end
            end
            extra = extra + usage(gkey)
        end
        memusg = memusg + sampled(ids, total)
    end
end
extra = extra + usage(KEYS[7])
return {memusg, extra}
