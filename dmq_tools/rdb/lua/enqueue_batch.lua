-- enqueue_batch: many new tasks of one queue straight into pending, in order.
--                asynq rdb.go: enqueueCmd applied to each task (as BatchEnqueue's pipeline does)
-- KEYS[1] -> asynq:{<q>}:pending       list
-- KEYS[2] -> dmq:{<q>}:wake            wake-up token list (dmq addition)
-- KEYS[3] -> dmq:{<q>}:events          event stream (dmq addition)
-- KEYS[3+i] -> asynq:{<q>}:t:<id_i>    task hash of the i-th task, i = 1..n (n <= 500)
-- ARGV[1] -> now, Unix nanoseconds (pending_since)
-- ARGV[2] -> event stream MAXLEN (0 = record no event)
-- ARGV[3i], ARGV[3i+1], ARGV[3i+2] -> encoded TaskMessage, task ID, task type of the i-th task
-- Returns an array: per task 1 if enqueued, 0 if its ID already exists (it is skipped).
-- Same task records as enqueue per task; cheaper: one EXISTS over every hash first (per-task
-- checks only when some ID is taken), one LPUSH of all the IDs (LPUSH k a b = LPUSH k a;
-- LPUSH k b), and one event for the whole call: e=enqueued, ids=<JSON array of the IDs written>,
-- t=<their type> when they share one, else types=<JSON array> (readers expand it per task).
-- Every key is checked before the first write: a key of the wrong type (a corrupt queue)
-- refuses the whole call instead of failing halfway and leaving orphan records.
-- refuse_wrong_type comes from lib/refuse_wrong_type.lua, prepended when the script is loaded.
local refused = refuse_wrong_type(KEYS[1], "list")
refused = refused or refuse_wrong_type(KEYS[2], "list")
refused = refused or (tonumber(ARGV[2]) > 0 and refuse_wrong_type(KEYS[3], "stream"))
if refused then
    return refused
end
local n = #KEYS - 3
local codes = {}
local ids = {}
local maxlen = tonumber(ARGV[2])
local check = n > 0 and redis.call("EXISTS", unpack(KEYS, 4, 3 + n)) > 0
local types = {}
local one_type = true
local seen = {}   -- an ID given twice in this batch: the second one conflicts, as with enqueue
for i = 1, n do
    local key = KEYS[3 + i]
    local a = 3 * i
    if seen[key] or (check and redis.call("EXISTS", key) == 1) then
        codes[i] = 0
    else
        redis.call("HSET", key, "msg", ARGV[a], "state", "pending", "pending_since", ARGV[1])
        seen[key] = true
        ids[#ids + 1] = ARGV[a + 1]
        types[#types + 1] = ARGV[a + 2]
        one_type = one_type and ARGV[a + 2] == types[1]
        codes[i] = 1
    end
end
if #ids > 0 then
    redis.call("LPUSH", KEYS[1], unpack(ids))
    if redis.call("LLEN", KEYS[2]) == 0 then
        redis.call("LPUSH", KEYS[2], "1")
    end
    if maxlen > 0 then
        if one_type then
            redis.call("XADD", KEYS[3], "MAXLEN", "~", ARGV[2], "*", "e", "enqueued",
                "ids", cjson.encode(ids), "t", types[1])
        else
            redis.call("XADD", KEYS[3], "MAXLEN", "~", ARGV[2], "*", "e", "enqueued",
                "ids", cjson.encode(ids), "types", cjson.encode(types))
        end
    end
end
return codes
