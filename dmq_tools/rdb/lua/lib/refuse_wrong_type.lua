-- refuse_wrong_type(key, want): a library function, not a script (no KEYS/ARGV of its own).
-- scripts.py prepends it to every script that calls it: the error reply for a key that exists
-- with another type than `want`, else nil. The enqueue scripts check every key before their
-- first write, so a corrupt queue refuses the whole call instead of leaving orphan records.
local function refuse_wrong_type(key, want)
    local t = redis.call("TYPE", key)["ok"]
    if t ~= "none" and t ~= want then
        return redis.error_reply("WRONGTYPE key " .. key .. " holds a " .. t .. ", not a " .. want
            .. "; nothing was written")
    end
end
