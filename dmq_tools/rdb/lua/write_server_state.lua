-- write_server_state: the heartbeat's presence record.        asynq rdb.go: writeServerStateCmd
-- KEYS[1] -> asynq:servers:{<host>:<pid>:<sid>}   STRING ServerInfo
-- KEYS[2] -> asynq:workers:{<host>:<pid>:<sid>}   HASH task id -> WorkerInfo
-- ARGV[1] -> TTL, whole seconds (10)
-- ARGV[2] -> ServerInfo bytes
-- ARGV[3..] -> task id, WorkerInfo bytes, ...
-- The index zsets (asynq:servers, asynq:workers) are ZADDed by the caller in the same round trip.
-- Returns nothing (nil).
redis.call("SETEX", KEYS[1], ARGV[1], ARGV[2])
redis.call("DEL", KEYS[2])
for i = 3, #ARGV, 2 do
    redis.call("HSET", KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call("EXPIRE", KEYS[2], ARGV[1])
return redis.status_reply("OK")
