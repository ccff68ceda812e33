-- dequeue: lease up to N pending tasks, trying queues in the given order.   asynq rdb.go: dequeueCmd
-- (asynq leases one task of one queue per call; this batch variant repeats asynq's steps per task,
-- filling the batch from the first queue, then the next ones, so the worker's order is respected.)
-- For each queue i (0-based), seven KEYS starting at 7*i+1:
--   pending, paused, active, lease  (asynq:{<q>}:...), wake, events, receipt (dmq:{<q>}:...)
-- KEYS[7] -> the first queue's receipt: a token voided there leases nothing (see below)
-- ARGV[1] -> lease expiry, Unix seconds (now + 30 s)
-- ARGV[2] -> maximum number of tasks to lease
-- ARGV[3] -> event stream MAXLEN (0 = record no event)
-- ARGV[4] -> worker (server) id, for the "started" event
-- ARGV[5] -> this call's token ("" = keep no receipt)
-- ARGV[6] -> token of the worker's last call whose reply arrived ("" = none): its receipts go
-- ARGV[7..] -> task key prefix of each queue (asynq:{<q>}:t:)
-- Receipts (dmq): the ids leased from a queue are kept under the token in its receipt hash until
-- the worker's next call, so a call whose reply was lost can be given back
-- (reclaim_dequeue.lua). A token already voided by reclaim_dequeue (the call arrives after the
-- worker gave up on it) leases nothing.
-- Returns a flat array: queue index (1-based), task id, stored msg bytes, ... A paused queue is
-- skipped (asynq). An id whose hash is gone is dropped from active/lease (never left dangling).
-- The lease zset gets one ZADD for the queue's tasks of the call (its type checked once, before
-- the first task is leased), not one per task: the same entries, ~0.5 µs less per task.
-- History (dmq): one "started" entry per queue and call, ids=<JSON array>, t=<shared type> or
-- types=<JSON array>, w=<worker id> (one XADD instead of one per task).
-- When the batch is full and a queue still holds tasks, its wake token is pushed again so other
-- idle workers wake up.
-- Corrupt state never aborts the script halfway (dmq): a queue whose pending, active or lease key
-- has the wrong type is skipped, and an id whose task key is not a hash is dropped from active
-- (its key is left as it is for the operator). Each is reported as a triple
-- (-(queue index), key, "<found type>") after the leased tasks. A wrong-type events or wake key
-- only loses dmq's extras (the event, the wake token) and is reported the same way.
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

local function same_type(types)
    for k = 2, #types do
        if types[k] ~= types[1] then return false end
    end
    return true
end

local max = tonumber(ARGV[2])
local maxlen = tonumber(ARGV[3])
local out = {}
local bad = {}
local got = 0
local nq = #KEYS / 7
local token, acked = ARGV[5], ARGV[6]
if token ~= "" and nq > 0 and redis.call("HEXISTS", KEYS[7], token) == 1 then
    return {}
end
local function report(i, key)
    bad[#bad + 1] = -(i + 1)
    bad[#bad + 1] = key
    bad[#bad + 1] = redis.call("TYPE", key)["ok"]
end
for i = 0, nq - 1 do
    if got >= max then break end
    local b = i * 7
    local pending, paused, active, lease = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]
    local prefix = ARGV[7 + i]
    local mine = {}
    local types = {}
    local leases = {}         -- score, id, ... for one ZADD (the lease key's type checked once)
    local lease_ok = nil
    local events = maxlen
    if redis.call("EXISTS", paused) == 0 then
        while got < max do
            local id = redis.pcall("RPOPLPUSH", pending, active)
            if type(id) == "table" then            -- pending or active is not a list
                local t = redis.call("TYPE", pending)["ok"]
                if t ~= "list" and t ~= "none" then
                    report(i, pending)
                else
                    report(i, active)
                end
                break
            end
            if not id then break end
            local key = prefix .. id
            local msg = redis.pcall("HGET", key, "msg")
            if type(msg) == "table" then           -- the task key is not a hash
                redis.call("LREM", active, 1, id)
                report(i, key)
            elseif msg then
                if lease_ok == nil then
                    local lt = redis.call("TYPE", lease)["ok"]
                    lease_ok = lt == "zset" or lt == "none"
                end
                if not lease_ok then               -- the lease key is not a sorted set: undo, skip
                    redis.call("LREM", active, 1, id)
                    redis.call("RPUSH", pending, id)
                    report(i, lease)
                    break
                end
                leases[#leases + 1] = ARGV[1]
                leases[#leases + 1] = id
                if #leases >= 200 then              -- at most 100 tasks per ZADD: unpack fills Lua's stack
                    redis.call("ZADD", lease, unpack(leases))
                    leases = {}
                end
                redis.call("HSET", key, "state", "active")
                redis.call("HDEL", key, "pending_since")
                got = got + 1
                mine[#mine + 1] = id
                if events > 0 then
                    types[#types + 1] = msg_type(msg)
                end
                out[#out + 1] = i + 1
                out[#out + 1] = id
                out[#out + 1] = msg
            else
                redis.call("LREM", active, 1, id)
            end
        end
        if #leases > 0 then
            redis.call("ZADD", lease, unpack(leases))
        end
        if events > 0 and #mine > 0 then
            -- one entry for the queue's tasks of this call (as enqueue_batch's): ids, and t when
            -- they share a type, else types (rdb/inspect_history.py reads one event per id)
            local e
            if same_type(types) then
                e = redis.pcall("XADD", KEYS[b + 6], "MAXLEN", "~", events, "*", "e", "started",
                    "ids", cjson.encode(mine), "t", types[1], "w", ARGV[4])
            else
                e = redis.pcall("XADD", KEYS[b + 6], "MAXLEN", "~", events, "*", "e", "started",
                    "ids", cjson.encode(mine), "types", cjson.encode(types), "w", ARGV[4])
            end
            if type(e) == "table" and e["err"] then
                report(i, KEYS[b + 6])
            end
        end
        if token ~= "" then
            -- the new entry first, then the acknowledged one goes: the hash rarely empties, so the
            -- TTL is set only when it is created
            local receipt = KEYS[b + 7]
            if #mine > 0 then
                local fresh = redis.call("EXISTS", receipt) == 0
                if type(redis.pcall("HSET", receipt, token, table.concat(mine, " "))) == "number" and fresh then
                    redis.call("EXPIRE", receipt, 3600)
                end
            end
            if acked ~= "" then redis.pcall("HDEL", receipt, acked) end
        end
        if got >= max then
            local left = redis.pcall("LLEN", pending)
            if type(left) == "number" and left > 0 then
                local w = redis.pcall("LLEN", KEYS[b + 5])
                if w == 0 then
                    redis.call("LPUSH", KEYS[b + 5], "1")
                elseif type(w) == "table" then
                    report(i, KEYS[b + 5])
                end
            end
        end
    end
end
for _, v in ipairs(bad) do
    out[#out + 1] = v
end
return out
