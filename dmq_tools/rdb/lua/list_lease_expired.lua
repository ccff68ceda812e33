-- list_lease_expired: active tasks whose lease ran out.         asynq rdb.go: listLeaseExpiredCmd
-- KEYS[1] -> asynq:{<q>}:lease
-- KEYS[2] -> asynq:{<q>}:active
-- ARGV[1] -> cutoff (Unix s)
-- ARGV[2] -> task key prefix
-- Returns a flat array: id, msg, id, msg, ... Ids without a hash are skipped (asynq v0.25+) and,
-- unlike asynq, dropped from lease and active so they cannot dangle (trap T4). An id whose task
-- key is not a hash is dropped the same way and listed as id, 0 (dmq: corrupt state).
local ids = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1])
local out = {}
for _, id in ipairs(ids) do
    local msg = redis.pcall("HGET", ARGV[2] .. id, "msg")
    if type(msg) == "table" then
        redis.call("ZREM", KEYS[1], id)
        redis.call("LREM", KEYS[2], 0, id)
        out[#out + 1] = id
        out[#out + 1] = 0
    elseif msg then
        out[#out + 1] = id
        out[#out + 1] = msg
    else
        redis.call("ZREM", KEYS[1], id)
        redis.call("LREM", KEYS[2], 0, id)
    end
end
return out
