-- list_server_keys: live members of a presence index, pruning stale ones.  asynq inspect.go: listServerKeysCmd
-- KEYS[1] -> asynq:servers or asynq:workers   zset, score = expiry (Unix s)
-- ARGV[1] -> now, Unix s
-- Returns the members whose expiry is >= now; members that expired before now are removed.
local live = redis.call("ZRANGEBYSCORE", KEYS[1], ARGV[1], "+inf")
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", tonumber(ARGV[1]) - 1)
return live
