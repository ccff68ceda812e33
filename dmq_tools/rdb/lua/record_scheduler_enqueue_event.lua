-- record_scheduler_enqueue_event: add one enqueue to an entry's history, capped.
--                                                     asynq rdb.go: recordSchedulerEnqueueEventCmd
-- KEYS[1] -> asynq:scheduler_history:<entry_id>   zset of SchedulerEnqueueEvent protobufs
-- ARGV[1] -> enqueue time, Unix seconds (the score)
-- ARGV[2] -> encoded SchedulerEnqueueEvent
-- ARGV[3] -> maximum number of events kept (asynq: 1000)
-- ARGV[4] -> TTL of the history key in seconds, 0 = none (dmq addition: no orphaned history)
-- Returns 1.
-- Trim to max-1 by rank (oldest first), then add: at most `max` events remain.
redis.call("ZREMRANGEBYRANK", KEYS[1], 0, -tonumber(ARGV[3]))
redis.call("ZADD", KEYS[1], ARGV[1], ARGV[2])
if tonumber(ARGV[4]) > 0 then
    redis.call("EXPIRE", KEYS[1], ARGV[4])
end
return 1
