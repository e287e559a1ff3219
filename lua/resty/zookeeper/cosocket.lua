-- resty.zookeeper inside nginx: the same native core, driven over cosockets so that no call
-- ever blocks the worker. The core (Swift) keeps the whole protocol: framing, xids, pings,
-- host rotation, SetWatches and auth after a reconnect, expiry. The Lua side only moves bytes
-- between ngx.socket.tcp and the core, wakes the calls that wait, and runs callbacks:
--
--  * cosocket/links.lua    carries out the core's I/O commands on cosockets, runs callbacks;
--  * cosocket/request.lua  the per-request driver (zk.new, connect, calls, close in one
--                          handler, as the original client): the waiting call does the I/O;
--  * cosocket/shared.lua   the driver of a client shared by a worker (zk.shared): a timer owns
--                          the connection, requests hand their operations over;
--  * cosocket/policy.lua   which phases may wait, which request owns a per-request client;
--  * cosocket/handles.lua  client:<method>_async(...) handles;
--  * cosocket/tls.lua      TLS on the links (nginx's OpenSSL, client certificates);
--  * cosocket/keepalive.lua per-request clients' sessions kept between requests;
--  * cosocket/retry.lua    client:retry, which calls a Lua function between the core's steps.
--
-- This file makes the client objects and routes each call to its driver.
local policy = require "resty.zookeeper.cosocket.policy"
local tls = require "resty.zookeeper.cosocket.tls"

local pairs, type, tostring, error, rawget, setmetatable, getmetatable, select = pairs, type, tostring, error, rawget, setmetatable, getmetatable, select
local newproxy = newproxy

return function(native)
    local hosted = native._hosted
    -- The methods as the core declares them (LuaMethodTable.swift), and those that answer at
    -- once, in any phase.
    local declared, INSTANT = hosted.methods, {}
    for name, flags in pairs(declared) do INSTANT[name] = flags.instant end
    local begin, finish = hosted.begin, hosted.finish
    local links = require("resty.zookeeper.cosocket.links")(hosted)
    local drive = require("resty.zookeeper.cosocket.request")(hosted, links)
    local shared_driver = require("resty.zookeeper.cosocket.shared")(hosted, links, native.errors)
    local keepalive -- below: it makes clients of its own to close idle sessions
    local flush, run_callbacks, print_log_lines = links.flush, links.run_callbacks, links.print_log_lines
    local refuse = policy.refuse

    local _M = {}
    for k, v in pairs(native) do
        if k ~= "_hosted" and k ~= "new" then _M[k] = v end
    end

    local STATE = {} -- key of a client's driver state in its wrapper table

    local function refusal(st, method)
        return policy.refusal(st, method, INSTANT)
    end

    -- After a call: a per-request client carries out what the answer left to do (the close of
    -- a link, say); one that waited also runs the callbacks that came due, as the blocking
    -- client does (an instant call runs none: a callback that reads a field must not have the
    -- next callback run inside it).
    local function settle(st, waited, ...)
        if not st.shared then
            flush(st)
            if waited then run_callbacks(st) end
        end
        if st.debug then print_log_lines(st) end
        return ...
    end

    local function answer(st, ticket, ...)
        if ticket == 0 then return settle(st, false, ...) end
        if st.shared then shared_driver.await(st, ticket) else drive(st, ticket) end
        return settle(st, true, finish(st.core, ticket))
    end

    local function call(self, method, ...)
        local st = self[STATE]
        local why = refusal(st, method)
        if why then return refuse(method, why) end
        return answer(st, begin(st.core, method, ...))
    end

    local call_async = require("resty.zookeeper.cosocket.handles")(hosted, {
        refusal = refusal, refuse = refuse, answer = answer, settle = settle,
        kick = function(st)
            if st.shared then st.wake:post(1) else flush(st) end
        end,
    })

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

    -- Recipe objects (client:lock(path)...): the core keeps the recipe and answers an id; the
    -- object holds it and the client. Its methods are the declared "<kind>:<method>"s, calls on
    -- the client with the id first; collected, it tells the core to give its work up.
    local OBJECT, kinds = {}, {}
    local function kind_meta(kind)
        local meta = kinds[kind]
        if not meta then
            meta = { __metatable = "locked", __index = {} }
            meta.__tostring = function(object)
                return "resty.zookeeper " .. kind .. " (" .. tostring(rawget(object, OBJECT).id) .. ")"
            end
            kinds[kind] = meta
        end
        return meta
    end

    -- The answer of a call that makes an object: its id, and the kind when the core names one.
    local function make_object(client, kind, id, named, ...)
        if type(id) ~= "number" then return id, named, ... end -- nil, err, code
        if type(named) == "string" then kind = named end
        local st = rawget(client, STATE)
        local proxy = newproxy(true)
        getmetatable(proxy).__gc = function() if st.core then hosted.drop(st.core, id) end end
        return setmetatable({ [OBJECT] = { client = client, id = id, kind = kind, proxy = proxy } }, kind_meta(kind))
    end

    for name, flags in pairs(declared) do
        local kind, method = name:match("^([%w_]+):([%w_]+)$")
        if kind then
            kind_meta(kind).__index[method] = function(object, ...)
                local o = type(object) == "table" and rawget(object, OBJECT)
                if not o or o.kind ~= kind then
                    error("bad argument #1 to '" .. method .. "' (resty.zookeeper " .. kind .. " expected; use "
                        .. kind .. ":" .. method .. "(...))", 2)
                end
                if flags.object then return make_object(o.client, kind, call(o.client, name, o.id, ...)) end
                return call(o.client, name, o.id, ...)
            end
        elseif flags.object then
            methods[name] = function(self, ...)
                check_self(self, name)
                return make_object(self, name, call(self, name, ...))
            end
        elseif not flags.hidden then
            methods[name] = function(self, ...)
                check_self(self, name)
                return call(self, name, ...)
            end
        end
    end

    -- retry runs a Lua function between the core's decisions (cosocket/retry.lua).
    local retry = require("resty.zookeeper.cosocket.retry")(call)
    methods.retry = function(self, ...)
        check_self(self, "retry")
        return retry(self, ...)
    end

    Client.__index = function(self, key)
        local method = methods[key]
        if method then return method end
        if type(key) == "string" and #key > 6 and key:sub(-6) == "_async" then
            return function(client, ...)
                return call_async(check_self(client, key), key, ...)
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
        local tls_options, tls_err = tls.prepare(copy.tls)
        if tls_options == nil then return nil, tls_err end
        local st = {
            core = core, shared = shared, debug = copy.debug, links = {},
            connect_timeout = type(copy.timeout) == "number" and copy.timeout or 3000,
            tls = tls_options,
            turn_waiters = 0,
        }
        if not shared then
            -- Names of the links' nginx pools (a kept session's connection waits in its own).
            -- Whether a session may be kept is the core's to say (__take, __park).
            st.pool_names, st.pool_name = {}, keepalive.pool_name
        end
        return setmetatable({ [STATE] = st }, Client), st
    end

    keepalive = require("resty.zookeeper.cosocket.keepalive")(hosted,
        function() return select(2, make({ keepalive = false }, false)) end,
        function(st)
            -- A session whose connection went meanwhile comes back first: closing one that is
            -- not connected would leave it to expire.
            local _, state = begin(st.core, "session_state")
            if state ~= "connected" then answer(st, begin(st.core, "connect")) end
            return answer(st, begin(st.core, "close"))
        end)

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

    -- A shared client connects by itself: connect() only waits for it (where it may wait).
    methods.connect = function(self, ...)
        local st = check_self(self, "connect")
        if not st.shared then
            if not refusal(st, "connect") then keepalive.take(st, ...) end
            return call(self, "connect", ...)
        end
        if not policy.may_wait() then return true end
        return shared_driver.wait_connected(st, st.connect_timeout)
    end

    methods.close = function(self)
        local st = check_self(self, "close")
        if not st.shared then
            if not refusal(st, "close") and keepalive.park(st) then return true end
            return call(self, "close")
        end
        if not st.closing then
            for name, client in pairs(shared_clients) do
                if client == self then shared_clients[name] = nil end
            end
        end
        shared_driver.close(st, policy.may_wait())
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
        if policy.phase() == "init" then
            return nil, "resty.zookeeper: no session in init_by_lua (the master process): every worker would share it; "
                .. "make the shared client in init_worker_by_lua"
        end
        local client, st = make(opts, true)
        if not client then return nil, st end
        local ok, err = shared_driver.start(st)
        if not ok then return nil, err end
        shared_clients[name] = client
        return client
    end

    return _M
end
