-- alert_observe: one evaluator's observation of one alert rule, as an atomic state transition.
-- dmq-only (asynq has no alerts). Several evaluators share the state, so each transition that
-- notifies (fire, recover) is taken by exactly one of them.
-- KEYS[1] -> dmq:alerts:rule:<name>   HASH state, since, fired_at, ok_since, value, message
-- KEYS[2] -> dmq:alerts:rules         SET of rule names with a state (for active_alerts)
-- ARGV[1] -> 1 when the signal breaches the threshold now, else 0
-- ARGV[2] -> for: milliseconds the breach must last before the alert fires (hysteresis)
-- ARGV[3] -> recover_after: milliseconds the signal must stay fine before the recovery notice
-- ARGV[4] -> current value (text, for the notice)
-- ARGV[5] -> message (text, for the notice)
-- ARGV[6] -> rule name (member of KEYS[2])
-- Returns {code, state, fired_at}: code 1 = this caller must send the firing notice,
-- 2 = this caller must send the recovery notice, 0 = nothing to send. Times are Redis TIME in Unix ms.
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)  -- whole ms: exact in text
local state = redis.call("HGET", KEYS[1], "state") or "ok"
redis.call("SADD", KEYS[2], ARGV[6])
if ARGV[1] == "1" then
    redis.call("HSET", KEYS[1], "value", ARGV[4], "message", ARGV[5], "seen", tostring(now))
    if state == "firing" then
        redis.call("HDEL", KEYS[1], "ok_since")
        return {0, state, redis.call("HGET", KEYS[1], "fired_at") or ""}
    end
    if state ~= "pending" then
        redis.call("HSET", KEYS[1], "state", "pending", "since", tostring(now))
        state = "pending"
    end
    local since = tonumber(redis.call("HGET", KEYS[1], "since")) or now
    if now - since >= tonumber(ARGV[2]) then
        redis.call("HSET", KEYS[1], "state", "firing", "fired_at", tostring(now))
        redis.call("HDEL", KEYS[1], "ok_since")
        return {1, "firing", tostring(now)}
    end
    return {0, state, ""}
end
if state == "pending" then
    -- a breach shorter than `for` (a flap) ends silently
    redis.call("HSET", KEYS[1], "state", "ok", "value", ARGV[4], "message", ARGV[5])
    redis.call("HDEL", KEYS[1], "since")
    return {0, "ok", ""}
end
if state == "firing" then
    local ok_since = tonumber(redis.call("HGET", KEYS[1], "ok_since"))
    if not ok_since then
        redis.call("HSET", KEYS[1], "ok_since", tostring(now))
        ok_since = now
    end
    if now - ok_since >= tonumber(ARGV[3]) then
        local fired_at = redis.call("HGET", KEYS[1], "fired_at") or ""
        redis.call("HSET", KEYS[1], "state", "ok", "resolved_at", tostring(now), "value", ARGV[4],
                   "message", ARGV[5])
        redis.call("HDEL", KEYS[1], "since", "ok_since")
        return {2, "ok", fired_at}
    end
    return {0, "firing", redis.call("HGET", KEYS[1], "fired_at") or ""}
end
return {0, state, ""}
