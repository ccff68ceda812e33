-- list_messages: a page of a task list with each task's msg.   asynq inspect.go: listMessagesCmd
-- KEYS[1] -> asynq:{<q>}:pending or asynq:{<q>}:active   list
-- KEYS[2] -> asynq:{<q>}:lease                            zset (read only when ARGV[4] ~= "")
-- ARGV[1] -> LRANGE start (negative: counted from the oldest end)
-- ARGV[2] -> LRANGE stop
-- ARGV[3] -> task key prefix asynq:{<q>}:t:
-- ARGV[4] -> lease cutoff, Unix s ("" = do not check leases)
-- Returns {id, msg, result, orphaned (1 if the lease score <= cutoff), ...} in LRANGE order
-- (newest first); msg is false for an ID without a hash.
local ids = redis.call("LRANGE", KEYS[1], ARGV[1], ARGV[2])
local out = {}
local cutoff = tonumber(ARGV[4])
for _, id in ipairs(ids) do
    local v = redis.pcall("HMGET", ARGV[3] .. id, "msg", "result")
    if v["err"] then v = {false, false} end   -- a task key of the wrong type: listed as unreadable
    local orphaned = 0
    if cutoff then
        local s = redis.pcall("ZSCORE", KEYS[2], id)
        if type(s) == "table" then s = false end
        if s and tonumber(s) <= cutoff then orphaned = 1 end
    end
    table.insert(out, id)
    table.insert(out, v[1])
    table.insert(out, v[2])
    table.insert(out, orphaned)
end
return out
