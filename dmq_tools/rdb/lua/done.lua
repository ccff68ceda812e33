-- done: finish successful tasks of one queue (retention 0), in a batch.   asynq rdb.go: doneCmd / doneUniqueCmd
-- KEYS[1] -> asynq:{<q>}:active
-- KEYS[2] -> asynq:{<q>}:lease
-- KEYS[3] -> asynq:{<q>}:processed:<date>
-- KEYS[4] -> asynq:{<q>}:processed
-- KEYS[5] -> dmq:{<q>}:events
-- KEYS[6] -> dmq:{<q>}:minutes:<date>
-- ARGV[1] -> stats expiry, Unix seconds (now + 90 days)
-- ARGV[2] -> MaxInt64 as a string
-- ARGV[3] -> event stream MAXLEN (0 = none)
-- ARGV[4] -> minute field, "p:HHMM"
-- ARGV[5] -> minutes hash TTL, seconds
-- ARGV[6] -> worker id
-- ARGV[7] -> task key prefix asynq:{<q>}:t:
-- ARGV[8..] -> groups of five: task id, type, duration ms, unique key ("" = none), event name
--              ("succeeded", or "revoked" for RevokeTask, which asynq also finishes with done)
-- History (dmq): one entry for the call when its tasks share the event name: ids=<JSON array>,
-- t=<shared type> or types=<JSON array>, ds=<JSON array of durations>, w (rdb/inspect_history.py
-- reads one event per id); otherwise one entry per task (e, id, t, d, w).
-- Returns one code per task: 1 done, 0 NOT FOUND (not active, no lease or no hash; as asynq, the
-- steps before the failing one stay applied and nothing is counted).
-- Corrupt state (dmq): a lease key of the wrong type fails the call before anything moves.
local lt = redis.call("TYPE", KEYS[2])["ok"]
if lt ~= "zset" and lt ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[2] .. " holds a " .. lt .. ", not a zset")
end
local out = {}
local n = 0
local ids, types, ds, names = {}, {}, {}, {}
local maxlen = tonumber(ARGV[3])
for j = 8, #ARGV, 5 do
    local id = ARGV[j]
    local code = 0
    if redis.call("LREM", KEYS[1], 0, id) ~= 0 and redis.call("ZREM", KEYS[2], id) ~= 0
        and redis.call("DEL", ARGV[7] .. id) ~= 0 then
        code = 1
        n = n + 1
        local ukey = ARGV[j + 3]
        if ukey ~= "" and redis.call("GET", ukey) == id then
            redis.call("DEL", ukey)
        end
        if maxlen > 0 then
            ids[#ids + 1] = id
            types[#types + 1] = ARGV[j + 1]
            ds[#ds + 1] = ARGV[j + 2]
            names[#names + 1] = ARGV[j + 4]
        end
    end
    out[#out + 1] = code
end
if #ids > 0 then
    local one, shared = true, true
    for k = 2, #ids do
        if names[k] ~= names[1] then one = false end
        if types[k] ~= types[1] then shared = false end
    end
    if one and shared then
        redis.call("XADD", KEYS[5], "MAXLEN", "~", maxlen, "*", "e", names[1], "ids", cjson.encode(ids),
            "t", types[1], "ds", cjson.encode(ds), "w", ARGV[6])
    elseif one then
        redis.call("XADD", KEYS[5], "MAXLEN", "~", maxlen, "*", "e", names[1], "ids", cjson.encode(ids),
            "types", cjson.encode(types), "ds", cjson.encode(ds), "w", ARGV[6])
    else
        for k = 1, #ids do
            redis.call("XADD", KEYS[5], "MAXLEN", "~", maxlen, "*", "e", names[k], "id", ids[k],
                "t", types[k], "d", ds[k], "w", ARGV[6])
        end
    end
end
if n > 0 then
    if redis.call("INCRBY", KEYS[3], n) == n then
        redis.call("EXPIREAT", KEYS[3], ARGV[1])
    end
    local total = redis.call("GET", KEYS[4])
    if total and string.len(total) >= 19 then
        for _ = 1, n do
            if redis.call("GET", KEYS[4]) == ARGV[2] then
                redis.call("SET", KEYS[4], 1)
            else
                redis.call("INCR", KEYS[4])
            end
        end
    else
        redis.call("INCRBY", KEYS[4], n)
    end
    redis.call("HINCRBY", KEYS[6], ARGV[4], n)
    if redis.call("TTL", KEYS[6]) == -1 then
        redis.call("EXPIRE", KEYS[6], ARGV[5])
    end
end
return out
