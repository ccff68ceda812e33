-- list_zset_entries: a page of a task zset, ascending by score.   asynq inspect.go: listZSetEntriesCmd
-- KEYS[1] -> asynq:{<q>}:scheduled|retry|archived|completed or asynq:{<q>}:g:<group>
-- ARGV[1] -> ZRANGE start rank
-- ARGV[2] -> ZRANGE stop rank
-- ARGV[3] -> task key prefix asynq:{<q>}:t:
-- Returns {id, msg, result, score, ...}; msg is false for an ID without a hash.
local entries = redis.call("ZRANGE", KEYS[1], ARGV[1], ARGV[2], "WITHSCORES")
local out = {}
for i = 1, #entries, 2 do
    local id = entries[i]
    local v = redis.pcall("HMGET", ARGV[3] .. id, "msg", "result")
    if v["err"] then v = {false, false} end   -- a task key of the wrong type: listed as unreadable
    table.insert(out, id)
    table.insert(out, v[1])
    table.insert(out, v[2])
    table.insert(out, entries[i + 1])
end
return out
