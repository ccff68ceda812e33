-- enqueue_undo: take back a half-applied fast-path enqueue (RDB.start_plain_task's MULTI/EXEC,
--               where one command failed, e.g. WRONGTYPE, and the others were applied).  dmq only
-- KEYS[1] -> asynq:{<q>}:t:<id>        task hash written by the transaction
-- KEYS[2] -> asynq:{<q>}:pending       list
-- KEYS[3] -> dmq:{<q>}:events          event stream (dmq addition)
-- ARGV[1] -> task ID (fresh: nobody else knows it)
-- ARGV[2] -> 1 if the transaction's LPUSH into pending succeeded, else 0
-- ARGV[3] -> ID of the "enqueued" event the transaction added, "" if none
-- Returns 0 if the write was taken back (nothing of it is left), 1 if a worker had already
-- taken the task from pending (it is then fully enqueued and stays).
if ARGV[2] == "1" and redis.call("LREM", KEYS[2], 1, ARGV[1]) == 0 then
    return 1
end
redis.call("DEL", KEYS[1])
if ARGV[3] ~= "" and redis.call("TYPE", KEYS[3])["ok"] == "stream" then
    redis.call("XDEL", KEYS[3], ARGV[3])
end
return 0
