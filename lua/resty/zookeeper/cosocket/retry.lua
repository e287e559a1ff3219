-- client:retry(fn [, policy]) on a cosocket client, as the C glue's (retry.c) for a native one:
-- calls fn until it answers anything but a failure `nil, err, code` worth another attempt. Which
-- codes, the back-off and when to give up are the core's (LuaRetry.swift over RetryPolicy), and
-- so is the wait: its "retry" call answers after the back-off, waiting as any call does here
-- (yielding; the connection stays driven, callbacks run).
local select, type, unpack = select, type, unpack

local function pack(...) return { n = select("#", ...), ... } end

-- `call(client, method, ...)`: a call of the core as cosocket.lua routes it.
return function(call)
    return function(self, fn, policy)
        local started, err, code = call(self, "retry", fn, policy) -- checks fn and the policy
        if type(started) ~= "number" then return started, err, code end
        local attempt = 0
        while true do
            local answer = pack(fn())
            if answer[1] ~= nil or type(answer[3]) ~= "number" then return unpack(answer, 1, answer.n) end
            attempt = attempt + 1
            if not call(self, "retry", nil, policy, started, attempt, answer[3]) then
                return unpack(answer, 1, answer.n) -- given up: fn's last answer
            end
        end
    end
end
