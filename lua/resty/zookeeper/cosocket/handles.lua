-- Async handles of a cosocket client: client:<method>_async(...) starts the call and returns a
-- handle at once; handle:wait() answers as the method would, handle:ready() says whether it
-- would wait. The same API as the native handles (handles.c), on the cosocket drivers.
local select, unpack, setmetatable, getmetatable, tostring = select, unpack, setmetatable, getmetatable, tostring
local newproxy = newproxy

local READY = 1

-- `calls` is the client's call path: refusal(st, method) -> why | nil, refuse(method, why),
-- answer(st, ticket, ...), settle(st, waited, ...), kick(st) (send what was queued).
return function(hosted, calls)
    local begin, check, forget = hosted.begin, hosted.check, hosted.forget
    local refusal, refuse, answer, settle, kick = calls.refusal, calls.refuse, calls.answer, calls.settle, calls.kick

    local function pack(...) return { n = select("#", ...), ... } end

    local Handle = { __metatable = "locked" }
    Handle.__index = {
        --- What client:<method>(...) would have returned (again on every later wait).
        wait = function(h)
            if not h.values then
                local why = refusal(h.st, h.method)
                if why then return refuse(h.method, why) end
                h.values = pack(answer(h.st, h.ticket))
            end
            return unpack(h.values, 1, h.values.n)
        end,
        --- Whether wait() would answer without waiting for the server.
        ready = function(h)
            return h.values ~= nil or check(h.st.core, h.ticket) == READY
        end,
    }
    Handle.__tostring = function(h) return "resty.zookeeper handle (" .. tostring(h.ticket) .. ")" end

    -- The call starts now (its request goes out at once); the core says which methods have an
    -- _async form. A handle collected unwaited gives its ticket up.
    return function(st, name, ...)
        local method = name:sub(1, -7)
        local why = refusal(st, method)
        if why then
            local values = pack(refuse(name, why))
            return setmetatable({ st = st, method = method, values = values }, Handle)
        end
        local ticket_and_values = pack(begin(st.core, name, ...))
        local ticket = ticket_and_values[1]
        local h = { st = st, method = method, ticket = ticket }
        if ticket == 0 then
            h.values = pack(settle(st, false, unpack(ticket_and_values, 2, ticket_and_values.n)))
        else
            kick(st)
            local proxy = newproxy(true)
            getmetatable(proxy).__gc = function()
                if not h.values then forget(st.core, ticket) end
            end
            h.proxy = proxy
        end
        return setmetatable(h, Handle)
    end
end
