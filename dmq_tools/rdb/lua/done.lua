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
-- Returns one code per task: 1 done, 0 NOT FOUND (not active, no lease or no hash; as asynq, the
-- steps before the failing one stay applied and nothing is counted).
-- Corrupt state (dmq): a lease key of the wrong type fails the call before anything moves.
local lt = redis.call("TYPE", KEYS[2])["ok"]
if lt ~= "zset" and lt ~= "none" then
    return redis.error_reply("WRONGTYPE " .. KEYS[2] .. " holds a " .. lt .. ", not a zset")
end
local out = {}
local n = 0
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
            redis.call("XADD", KEYS[5], "MAXLEN", "~", maxlen, "*", "e", ARGV[j + 4], "id", id,
                "t", ARGV[j + 1], "d", ARGV[j + 2], "w", ARGV[6])
        end
    end
    out[#out + 1] = code
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
