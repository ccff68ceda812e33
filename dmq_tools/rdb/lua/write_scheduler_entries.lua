-- write_scheduler_entries: replace a scheduler's entry list.   asynq rdb.go: writeSchedulerEntriesCmd
-- KEYS[1] -> asynq:schedulers:{<scheduler_id>}   list of SchedulerEntry protobufs
-- ARGV[1] -> TTL of the list, seconds (2 x heartbeat interval)
-- ARGV[2..] -> encoded SchedulerEntry messages
-- Returns 1. (The caller ZADDs the key into asynq:schedulers with score now + TTL.)
redis.call("DEL", KEYS[1])
for i = 2, #ARGV do
    redis.call("LPUSH", KEYS[1], ARGV[i])
end
redis.call("EXPIRE", KEYS[1], ARGV[1])
return 1
