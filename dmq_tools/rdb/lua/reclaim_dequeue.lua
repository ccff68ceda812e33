-- reclaim_dequeue: give back what a dequeue call whose reply was lost leased (dmq; asynq has no
-- counterpart: its dequeue leases one task, lost with the reply until the recoverer, ~1-2 min,
-- takes it and counts a retry). The token is voided in every receipt first, so the call leases
-- nothing if it reaches Redis only now.
-- For each queue i (0-based), six KEYS starting at 6*i+1:
--   receipt (dmq:{<q>}:leased:<worker>), active, lease, pending (asynq:{<q>}:...), wake, events (dmq)
-- ARGV[1] -> the lost call's token
-- ARGV[2] -> now (Unix ns), pending_since
-- ARGV[3] -> event stream MAXLEN (0 = record no event)
-- ARGV[4] -> worker (server) id, for the "requeued" event
-- ARGV[5..] -> task key prefix of each queue
-- Returns the number of tasks given back (to the front of pending, retry count unchanged, as
-- requeue.lua); ids no longer active (finished or recovered meanwhile) are left alone.
local token = ARGV[1]
local maxlen = tonumber(ARGV[3])
local back = 0
for i = 0, #KEYS / 6 - 1 do
    local b = i * 6
    local receipt, active, lease, pending = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]
    local ids = redis.pcall("HGET", receipt, token)
    if type(ids) ~= "table" then
        redis.call("HSET", receipt, token, "-")
        redis.call("EXPIRE", receipt, 3600)
    end
    if type(ids) == "string" and ids ~= "-" then
        local moved = 0
        for id in string.gmatch(ids, "%S+") do
            if redis.call("LREM", active, 0, id) > 0 then
                redis.pcall("ZREM", lease, id)
                redis.call("RPUSH", pending, id)
                redis.pcall("HSET", ARGV[5 + i] .. id, "state", "pending", "pending_since", ARGV[2])
                if maxlen > 0 then
                    redis.pcall("XADD", KEYS[b + 6], "MAXLEN", "~", maxlen, "*", "e", "requeued", "id", id,
                        "w", ARGV[4])
                end
                moved = moved + 1
            end
        end
        if moved > 0 and redis.pcall("LLEN", KEYS[b + 5]) == 0 then
            redis.call("LPUSH", KEYS[b + 5], "1")
        end
        back = back + moved
    end
end
return back
