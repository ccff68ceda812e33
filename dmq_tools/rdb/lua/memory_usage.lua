-- memory_usage: approximate bytes used by one queue, by sampling.   asynq inspect.go: memoryUsageCmd
-- KEYS[1] -> asynq:{<q>}:pending     list
-- KEYS[2] -> asynq:{<q>}:active      list
-- KEYS[3] -> asynq:{<q>}:scheduled   zset
-- KEYS[4] -> asynq:{<q>}:retry       zset
-- KEYS[5] -> asynq:{<q>}:archived    zset
-- KEYS[6] -> asynq:{<q>}:completed   zset
-- KEYS[7] -> asynq:{<q>}:groups      set
-- ARGV[1] -> task key prefix   asynq:{<q>}:t:
-- ARGV[2] -> task sample size  (asynq: 20)
-- ARGV[3] -> group sample size (asynq: 5)
-- ARGV[4] -> group key prefix  asynq:{<q>}:g:
-- Returns bytes: for each container, average MEMORY USAGE of the first sampled task hashes times
-- its length, plus the container itself. IDs without a hash are skipped (asynq HEAD's guard).
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
    return math.ceil(sum / n * total)
end
local memory = 0
for i = 1, 2 do
    local len = redis.call("LLEN", KEYS[i])
    if len > 0 then
        memory = memory + sampled(redis.call("LRANGE", KEYS[i], 0, sample - 1), len) + usage(KEYS[i])
    end
end
for i = 3, 6 do
    local len = redis.call("ZCARD", KEYS[i])
    if len > 0 then
        memory = memory + sampled(redis.call("ZRANGE", KEYS[i], 0, sample - 1), len) + usage(KEYS[i])
    end
end
local groups = redis.call("SMEMBERS", KEYS[7])
if #groups > 0 then
    local total, ids = 0, {}
    for i, g in ipairs(groups) do
        local gkey = ARGV[4] .. g
        total = total + redis.call("ZCARD", gkey)
        if i <= tonumber(ARGV[3]) then
            for _, id in ipairs(redis.call("ZRANGE", gkey, 0, sample - 1)) do
                table.insert(ids, id)
            end
            memory = memory + usage(gkey)
        end
    end
    memory = memory + sampled(ids, total) + usage(KEYS[7])
end
return memory
