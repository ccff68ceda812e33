-- scheduler_anchor: the shared start time of an `@every` entry, so replicas agree on its ticks.
--                                                     dmq addition (asynq has no counterpart)
-- KEYS[1] -> dmq:scheduler:anchor:<entry_key>   string, Unix seconds
-- ARGV[1] -> now, Unix seconds (used when no replica has set the anchor yet)
-- ARGV[2] -> TTL, seconds (refreshed by every call)
-- Returns the anchor, Unix seconds (a string).
redis.call("SET", KEYS[1], ARGV[1], "NX")
redis.call("EXPIRE", KEYS[1], ARGV[2])
return redis.call("GET", KEYS[1])
