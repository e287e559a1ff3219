-- resty.zookeeper inside nginx: the same native core, driven over cosockets so that no call
-- ever blocks the worker. The core (Swift) keeps the whole protocol: framing, xids, pings,
-- host rotation, SetWatches and auth after a reconnect, expiry. This file only moves bytes
-- between ngx.socket.tcp and the core, wakes the calls that wait, and runs callbacks.
--
-- Two kinds of client:
--  * per request (zk.new, connect, calls, close in one handler, as the original client): the
--    waiting call itself does the socket I/O, in the request's own context;
--  * shared by a worker (zk.shared): a timer owns the connection (a writer loop, a reader light
--    thread and a callback light thread); requests from any context hand their operation over
--    and wait on an ngx.semaphore.
local semaphore = require "ngx.semaphore"

local ngx = ngx
local ngx_log, ngx_DEBUG, ngx_ERR, ngx_WARN = ngx.log, ngx.DEBUG, ngx.ERR, ngx.WARN
local get_phase = ngx.get_phase
local tcp = ngx.socket.tcp
local spawn, kill = ngx.thread.spawn, ngx.thread.kill
local select, unpack, pairs, type, pcall, tostring = select, unpack, pairs, type, pcall, tostring
local math_min, math_max = math.min, math.max

local get_request
do
    local ok, base = pcall(require, "resty.core.base")
    get_request = ok and base.get_request or nil
end

local PENDING, READY, EVENT = 0, 1, 2
local RECEIVE_SIZE = 65536
-- How long the shared client's loop sleeps at most: it notices a worker's exit this soon.
local EXIT_CHECK_MS = 200
-- How long the shared client waits after a failed attempt to open a session before the next.
local RETRY_PAUSE_S = 0.5

-- Phases where a call may yield (cosockets, ngx.sleep and semaphores work there).
local YIELDABLE = {
    rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
    ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}
-- Methods that answer at once, in any phase.
local INSTANT = { session_state = true, _debug = true, on_state = true, set_timeout = true, __field = true }

return function(native)
    local hosted = native._hosted
    local begin, check, finish, forget = hosted.begin, hosted.check, hosted.finish, hosted.forget
    local next_event, next_log_line = hosted.next_event, hosted.next_log_line
    local io_next, io_report, io_tick, io_wait_ms = hosted.io_next, hosted.io_report, hosted.io_tick, hosted.io_wait_ms

    local _M = {}
    for k, v in pairs(native) do
        if k ~= "_hosted" and k ~= "new" then _M[k] = v end
    end

    local STATE = {} -- key of a client's driver state in its wrapper table

    local function print_log_lines(st)
        while true do
            local line = next_log_line(st.core)
            if not line then return end
            ngx_log(ngx_DEBUG, line)
        end
    end

    -- Runs the due callbacks, from Lua so that they may call the client (and yield).
    local function run_one(callback, ...)
        if callback == nil then return false end
        local ok, err = pcall(callback, ...)
        if not ok then ngx_log(ngx_ERR, "resty.zookeeper: error in callback: ", tostring(err)) end
        return true
    end

    local function run_callbacks(st)
        local core = st.core
        while run_one(next_event(core)) do end
    end

    -- ---- moving bytes --------------------------------------------------------------------

    local function drop_link(st, link)
        local sock = st.links[link]
        st.links[link] = nil
        if st.current == link then st.current = nil end
        if st.readers and st.readers[link] then
            kill(st.readers[link])
            st.readers[link] = nil
        end
        if sock then sock:close() end
    end

    local read_loop

    -- Carries out what the core asks (connect, send, close). One flusher at a time: another
    -- caller finds the flag set and leaves the commands it queued to the running loop.
    local function flush(st)
        if st.flushing then return end
        st.flushing = true
        local core = st.core
        while true do
            local kind, link, a, b = io_next(core)
            if not kind then break end
            if kind == "connect" then
                local sock = tcp()
                sock:settimeout(st.connect_timeout)
                local ok, err = sock:connect(a, b)
                if ok then
                    st.links[link] = sock
                    st.current = link
                    io_report(core, "established", link)
                    if st.shared then st.readers[link] = spawn(read_loop, st, link, sock) end
                else
                    if st.debug then ngx_log(ngx_DEBUG, "resty.zookeeper: connect to ", a, ":", b, " failed: ", err) end
                    io_report(core, "failed", link)
                end
            elseif kind == "send" then
                local sock = st.links[link]
                if sock then
                    local ok = sock:send(a)
                    if not ok then
                        drop_link(st, link)
                        io_report(core, "closed", link)
                    end
                end
            else
                drop_link(st, link)
            end
        end
        st.flushing = false
    end

    -- ---- a client shared by a worker: the timer that owns its connection -------------------

    -- Wakes the waiting calls whose answer is there, and the callback thread.
    local function deliver(st)
        local core = st.core
        for ticket, sema in pairs(st.waiting) do
            if check(core, ticket) == READY then
                st.waiting[ticket] = nil
                sema:post(1)
            end
        end
        if check(core, 0) == EVENT then st.events:post(1) end
    end

    read_loop = function(st, link, sock)
        local core = st.core
        sock:settimeout(3600 * 1000) -- the core's timers, not this read, decide what is dead
        while true do
            local data, err = sock:receiveany(RECEIVE_SIZE)
            if data then
                io_report(core, "received", link, data)
            elseif err ~= "timeout" then
                st.readers[link] = nil
                st.links[link] = nil
                if st.current == link then st.current = nil end
                sock:close()
                io_report(core, "closed", link)
                deliver(st)
                st.wake:post(1)
                return
            end
            deliver(st)
            st.wake:post(1) -- replies may ask for writes (SetWatches, auth)
        end
    end

    local function callback_loop(st)
        while not st.stopped do
            run_callbacks(st)
            deliver(st) -- a dispatch() may be waiting for callbacks to have run
            st.events:wait(1)
        end
    end

    local function session_state(st)
        local _, state = begin(st.core, "session_state")
        return state
    end

    -- The shared client's timer: writes, ticks, reconnects (a new session after an expiry),
    -- and at the worker's exit closes the session so its ephemeral nodes go at once.
    local function owner_loop(premature, st)
        local core = st.core
        st.callbacks = spawn(callback_loop, st)
        while not premature and not st.closing and not ngx.worker.exiting() do
            flush(st)
            if st.connect_ticket and check(core, st.connect_ticket) == READY then
                local ok, err = finish(core, st.connect_ticket)
                st.connect_ticket = nil
                if not ok then
                    -- No session to be had (no server answering, no quorum): the core closed
                    -- this attempt; try again after a pause.
                    ngx_log(ngx_WARN, "resty.zookeeper: shared client: ", tostring(err), "; trying again")
                    st.retry_at = ngx.now() + RETRY_PAUSE_S
                end
            end
            local state = session_state(st)
            if (state == "expired" or state == "closed") and not st.connect_ticket
                and ngx.now() >= (st.retry_at or 0) then
                ngx_log(ngx_WARN, "resty.zookeeper: shared session ", state, "; opening a new one")
                st.connect_ticket = begin(core, "connect")
                if st.connect_ticket == 0 then st.connect_ticket = nil end
            end
            deliver(st)
            local ms = io_wait_ms(core) or EXIT_CHECK_MS
            if ms > 0 then st.wake:wait(math_min(ms, EXIT_CHECK_MS) / 1000) end
            io_tick(core)
            deliver(st)
        end
        -- Closing: closeSession, its answer (up to a second), then every link.
        local ticket = begin(core, "close")
        local deadline = ngx.now() + 1
        while ticket ~= 0 and check(core, ticket) ~= READY and ngx.now() < deadline do
            flush(st)
            st.wake:wait(0.05)
            io_tick(core)
        end
        if ticket ~= 0 then finish(core, ticket) end
        flush(st)
        st.stopped = true
        st.events:post(1)
        for link in pairs(st.links) do drop_link(st, link) end
        for ticket, sema in pairs(st.waiting) do
            st.waiting[ticket] = nil
            sema:post(1)
        end
        if st.callbacks then kill(st.callbacks) end
        st.done:post(1000)
    end

    -- ---- waiting for a ticket ------------------------------------------------------------

    -- A per-request client: the waiting call drives the connection itself. Light threads of
    -- one request may share it: one reads while the others wait their turn. Time passes in
    -- the read's timeout (a reader light thread would not do: killing a thread blocked in a
    -- read closes the cosocket), so a long wait (watch, dispatch) logs nginx's "lua tcp socket
    -- read timed out" at each ping unless `lua_socket_log_errors off` is set, as the original's
    -- watch did.
    local function drive(st, ticket)
        local core = st.core
        while true do
            local status = check(core, ticket)
            if status == READY then return end
            if status == EVENT then
                run_callbacks(st)
            elseif st.reading then
                st.turn = st.turn or semaphore.new()
                st.turn_waiters = st.turn_waiters + 1
                st.turn:wait(math_max(1, io_wait_ms(core, ticket) or 1000) / 1000)
                st.turn_waiters = st.turn_waiters - 1
            else
                flush(st)
                local ms = io_wait_ms(core, ticket) or 1000
                local link = st.current
                local sock = link and st.links[link]
                if ms <= 0 then
                    io_tick(core)
                elseif sock then
                    st.reading = true
                    sock:settimeout(math_max(1, ms))
                    local data, err = sock:receiveany(RECEIVE_SIZE)
                    st.reading = false
                    if data then
                        io_report(core, "received", link, data)
                    elseif err == "timeout" then
                        io_tick(core)
                    else
                        drop_link(st, link)
                        io_report(core, "closed", link)
                    end
                    if st.turn_waiters > 0 then st.turn:post(st.turn_waiters) end
                else
                    ngx.sleep(math_min(ms, 50) / 1000)
                    io_tick(core)
                end
            end
        end
    end

    -- A shared client: hand the operation to the owner timer and wait for its answer.
    local function await(st, ticket)
        local core = st.core
        if check(core, ticket) == READY then return end
        local sema = semaphore.new()
        st.waiting[ticket] = sema
        st.wake:post(1)
        while check(core, ticket) ~= READY and not st.stopped do
            local ms = io_wait_ms(core, ticket) or 1000
            sema:wait(math_max(1, math_min(ms, 1000)) / 1000)
        end
        st.waiting[ticket] = nil
    end

    local function refuse(method, message)
        return nil, "resty.zookeeper: " .. method .. ": " .. message
    end

    -- After a call: a per-request client carries out what the answer left to do (the close of
    -- a link, say) and runs the callbacks that came due, as the blocking client does.
    local function settle(st, ...)
        if not st.shared then
            flush(st)
            run_callbacks(st)
        end
        if st.debug then print_log_lines(st) end
        return ...
    end

    local function answer(st, ticket, ...)
        if ticket == 0 then return settle(st, ...) end
        if st.shared then await(st, ticket) else drive(st, ticket) end
        return settle(st, finish(st.core, ticket))
    end

    -- Why `method` may not go ahead here (a phase without yielding, another request's
    -- client), or nil; a per-request client's connect takes its request as owner.
    local function refusal(st, method)
        local phase = get_phase()
        if not INSTANT[method] and not YIELDABLE[phase] then
            if phase == "init" and method == "connect" then
                return "no session in init_by_lua (the master process): every worker would share it; "
                    .. "connect in a request, a timer, or use zk.shared() in init_worker_by_lua"
            end
            return "cannot wait in the " .. tostring(phase) .. " phase (no yielding there); "
                .. "call it from rewrite, access, content or a timer (ngx.timer.at)"
        end
        if not st.shared and get_request and not INSTANT[method] then
            local r = get_request()
            if st.owner and st.owner ~= r then
                return "this client's connection belongs to another request or timer; "
                    .. "use zk.shared() for a session shared by a worker's requests"
            end
            if method == "connect" then st.owner = r end
        end
    end

    local function call(self, method, ...)
        local st = self[STATE]
        local why = refusal(st, method)
        if why then return refuse(method, why) end
        return answer(st, begin(st.core, method, ...))
    end

    -- ---- async handles: client:<method>_async(...) -> handle; handle:wait() -----------------

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

    -- The call starts now (its request goes out with the next flush); the core says which
    -- methods have an _async form. A handle collected unwaited gives its ticket up.
    local function call_async(self, name, ...)
        local st = self[STATE]
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
            h.values = pack(settle(st, unpack(ticket_and_values, 2, ticket_and_values.n)))
        else
            if st.shared then st.wake:post(1) else flush(st) end
            local proxy = newproxy(true)
            getmetatable(proxy).__gc = function()
                if not h.values then forget(st.core, ticket) end
            end
            h.proxy = proxy
        end
        return setmetatable(h, Handle)
    end

    -- ---- client objects --------------------------------------------------------------------

    local Client = { __metatable = "locked" }
    local methods = {}

    local function check_self(self, name)
        local st = type(self) == "table" and rawget(self, STATE)
        if not st then
            error("bad argument #1 to '" .. name .. "' (resty.zookeeper client expected; use client:" .. name .. "(...))", 3)
        end
        return st
    end

    local native_methods = debug.getregistry()["resty.zookeeper.client"].methods
    for name in pairs(native_methods) do
        methods[name] = function(self, ...)
            check_self(self, name)
            return call(self, name, ...)
        end
    end

    Client.__index = function(self, key)
        local method = methods[key]
        if method then return method end
        if type(key) == "string" and #key > 6 and key:sub(-6) == "_async" then
            return function(client, ...)
                check_self(client, key)
                return call_async(client, key, ...)
            end
        end
        if type(key) == "string" then
            local _, value = begin(rawget(self, STATE).core, "__field", key)
            return value
        end
    end
    Client.__tostring = function(self)
        return (rawget(self, STATE).shared and "resty.zookeeper shared client (" or "resty.zookeeper client (")
            .. tostring(rawget(self, STATE).core):match("%((.*)%)") .. ")"
    end

    local function make(opts, shared)
        local copy = {}
        for k, v in pairs(opts) do copy[k] = v end -- the core checks them all (`name` with _shared)
        copy._hosted, copy._shared = true, shared or nil
        local core, err = native.new(copy)
        if not core then return nil, err end
        local st = {
            core = core, shared = shared, debug = copy.debug, links = {},
            connect_timeout = type(copy.timeout) == "number" and copy.timeout or 3000,
            turn_waiters = 0,
        }
        return setmetatable({ [STATE] = st }, Client), st
    end

    --- A client for one request (or timer), as the original's: connect, calls, close.
    function _M.new(opts)
        if opts ~= nil and type(opts) ~= "table" then
            error("bad argument #1 to 'new' (table expected, got " .. type(opts) .. ")", 2)
        end
        local client, err = make(opts or {}, false)
        if not client then return nil, err end
        return client
    end

    -- ---- the shared client ---------------------------------------------------------------

    local shared_clients = {}

    -- Waits (polling, yielding) until the shared session is connected or `ms` passed.
    local function wait_connected(st, ms)
        local deadline = ngx.now() + ms / 1000
        while true do
            local state = session_state(st)
            if state == "connected" or state == "connected_read_only" then return true end
            if state == "closed" then return nil, "session closed", native.errors.CLOSED end
            if state == "auth_failed" then return nil, "session auth_failed", native.errors.AUTHFAILED end
            if ngx.now() >= deadline then return nil, "timeout", native.errors.OPERATIONTIMEOUT end
            ngx.sleep(0.01)
        end
    end

    -- A shared client connects by itself: connect() only waits for it (where it may wait).
    methods.connect = function(self, ...)
        local st = check_self(self, "connect")
        if not st.shared then return call(self, "connect", ...) end
        if not YIELDABLE[get_phase()] then return true end
        return wait_connected(st, st.connect_timeout)
    end

    methods.close = function(self)
        local st = check_self(self, "close")
        if not st.shared then return call(self, "close") end
        if not st.closing then
            st.closing = true
            for name, client in pairs(shared_clients) do
                if client == self then shared_clients[name] = nil end
            end
            st.wake:post(1)
        end
        if YIELDABLE[get_phase()] and not st.stopped then st.done:wait(2) end
        return true
    end

    --- The worker's shared client `name` ("default"): with options, made (and connecting in
    --- the background) on first use; without, looked up.
    function _M.shared(opts)
        if opts == nil or type(opts) == "string" then
            local client = shared_clients[opts or "default"]
            if client then return client end
            return nil, "resty.zookeeper: no shared client named " .. tostring(opts or "default")
                .. " (make it with zk.shared{ connect_string = ... }, in init_worker_by_lua for example)"
        end
        if type(opts) ~= "table" then
            error("bad argument #1 to 'shared' (table, string or nil expected, got " .. type(opts) .. ")", 2)
        end
        local name = opts.name or "default"
        if shared_clients[name] then return shared_clients[name] end
        if get_phase() == "init" then
            return nil, "resty.zookeeper: no session in init_by_lua (the master process): every worker would share it; "
                .. "make the shared client in init_worker_by_lua"
        end
        local client, st = make(opts, true)
        if not client then return nil, st end
        st.readers, st.waiting = {}, {}
        st.wake, st.events, st.done = semaphore.new(), semaphore.new(), semaphore.new()
        local ticket, ok, err = begin(st.core, "connect")
        if ticket == 0 and not ok then return nil, err end
        st.connect_ticket = ticket ~= 0 and ticket or nil
        local started, timer_err = ngx.timer.at(0, owner_loop, st)
        if not started then
            begin(st.core, "close")
            return nil, "resty.zookeeper: cannot start the shared client's timer: " .. tostring(timer_err)
        end
        shared_clients[name] = client
        return client
    end

    return _M
end
