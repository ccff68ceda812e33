-- delete_all: delete every task of a zset.                     asynq inspect.go: deleteAllCmd
-- KEYS[1] -> asynq:{<q>}:scheduled|retry|archived|completed
-- ARGV[1] -> task key prefix asynq:{<q>}:t:
-- Returns the number deleted. Owned unique locks are released (GET == task ID).
local ids = redis.call("ZRANGE", KEYS[1], 0, -1)
for _, id in ipairs(ids) do
    local tkey = ARGV[1] .. id
    local ukey = redis.call("HGET", tkey, "unique_key")
    if ukey and ukey ~= "" and redis.call("GET", ukey) == id then
        redis.call("DEL", ukey)
    end
    redis.call("DEL", tkey)
end
redis.call("DEL", KEYS[1])
return #ids
