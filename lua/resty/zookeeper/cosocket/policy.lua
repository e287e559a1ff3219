-- Where a call of a cosocket client may go ahead: phases where it can wait (yield), and the
-- request or timer that owns a per-request client's connection.
local get_phase = ngx.get_phase
local tostring = tostring

local get_request
do
    local ok, base = pcall(require, "resty.core.base")
    get_request = ok and base.get_request or nil
end

local _M = {}

-- Phases where a call may yield (cosockets, ngx.sleep and semaphores work there).
local YIELDABLE = {
    rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
    ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}

-- Whether the current phase lets a call wait.
function _M.may_wait()
    return YIELDABLE[get_phase()] == true
end

function _M.phase()
    return get_phase()
end

-- `nil, "resty.zookeeper: <method>: <why>"`, the answer of a refused call.
function _M.refuse(method, message)
    return nil, "resty.zookeeper: " .. method .. ": " .. message
end

-- Why `method` may not go ahead here (a phase without yielding, another request's client), or
-- nil; a per-request client's connect takes its request as owner. `instant` holds the methods
-- that answer at once, in any phase.
function _M.refusal(st, method, instant)
    local phase = get_phase()
    if not instant[method] and not YIELDABLE[phase] then
        if phase == "init" and method == "connect" then
            return "no session in init_by_lua (the master process): every worker would share it; "
                .. "connect in a request, a timer, or use zk.shared() in init_worker_by_lua"
        end
        return "cannot wait in the " .. tostring(phase) .. " phase (no yielding there); "
            .. "call it from rewrite, access, content or a timer (ngx.timer.at)"
    end
    if not st.shared and get_request and not instant[method] then
        local r = get_request()
        if st.owner and st.owner ~= r then
            return "this client's connection belongs to another request or timer; "
                .. "use zk.shared() for a session shared by a worker's requests"
        end
        if method == "connect" then st.owner = r end
    end
end

return _M
