-- dequeue: lease up to N pending tasks, trying queues in the given order.   asynq rdb.go: dequeueCmd
-- (asynq leases one task of one queue per call; this batch variant repeats asynq's steps per task,
-- filling the batch from the first queue, then the next ones, so the worker's order is respected.)
-- For each queue i (0-based), six KEYS starting at 6*i+1:
--   pending, paused, active, lease  (asynq:{<q>}:...), wake, events (dmq:{<q>}:...)
-- ARGV[1] -> lease expiry, Unix seconds (now + 30 s)
-- ARGV[2] -> maximum number of tasks to lease
-- ARGV[3] -> event stream MAXLEN (0 = record no event)
-- ARGV[4] -> worker (server) id, for the "started" event
-- ARGV[5..] -> task key prefix of each queue (asynq:{<q>}:t:)
-- Returns a flat array: queue index (1-based), task id, stored msg bytes, ... A paused queue is
-- skipped (asynq). An id whose hash is gone is dropped from active/lease (never left dangling).
-- When the batch is full and a queue still holds tasks, its wake token is pushed again so other
-- idle workers wake up.
local function msg_type(msg)
    -- field 1 (type) comes first in the encoding: tag 0x0a, varint length, bytes
    if string.byte(msg, 1) ~= 10 then return "" end
    local len, mul, pos = 0, 1, 2
    while true do
        local b = string.byte(msg, pos)
        if not b then return "" end
        pos = pos + 1
        len = len + (b % 128) * mul
        if b < 128 then break end
        mul = mul * 128
    end
    return string.sub(msg, pos, pos + len - 1)
end

local max = tonumber(ARGV[2])
local maxlen = tonumber(ARGV[3])
local out = {}
local got = 0
local nq = #KEYS / 6
for i = 0, nq - 1 do
    if got >= max then break end
    local b = i * 6
    local pending, paused, active, lease = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]
    local prefix = ARGV[5 + i]
    if redis.call("EXISTS", paused) == 0 then
        while got < max do
            local id = redis.call("RPOPLPUSH", pending, active)
            if not id then break end
            local key = prefix .. id
            local msg = redis.call("HGET", key, "msg")
            if msg then
                redis.call("HSET", key, "state", "active")
                redis.call("HDEL", key, "pending_since")
                redis.call("ZADD", lease, ARGV[1], id)
                got = got + 1
                out[#out + 1] = i + 1
                out[#out + 1] = id
                out[#out + 1] = msg
                if maxlen > 0 then
                    redis.call("XADD", KEYS[b + 6], "MAXLEN", "~", maxlen, "*",
                        "e", "started", "id", id, "t", msg_type(msg), "w", ARGV[4])
                end
            else
                redis.call("LREM", active, 1, id)
            end
        end
        if got >= max and redis.call("LLEN", pending) > 0 and redis.call("LLEN", KEYS[b + 5]) == 0 then
            redis.call("LPUSH", KEYS[b + 5], "1")
        end
    end
end
return out
