-- Handlers of the OpenResty-mode suite (test/nginx/openresty.sh). What the suite looks at goes to
-- the shared dict `zkor` ("m:*" the master, "w:<pid>:*" a worker's shared client, "phase:*" the
-- calls made in non-yieldable phases, "cb:*" watch callbacks, "fired:<path>" watch() answers),
-- read back by GET /report as sorted key=value lines.
local M = {}

local dict = ngx.shared.zkor
local T = require("zk_test_dict")(dict, "zkor")
local now_ms, put, append, guarded = T.now_ms, T.put, T.append, T.guarded
local config = {
    hosts = "127.0.0.1:2181", root = "/zk_openresty_test", timeout = 3000, session_timeout = 10000,
    watch_timeout = 30000,
}

local function result_text(res, err)
    return tostring(res) .. " | " .. tostring(err)
end

-- ---- master ------------------------------------------------------------------------------

-- init_by_lua: neither a shared client nor a connected one may exist in the master.
function M.init_master(options)
    for k, v in pairs(options or {}) do config[k] = v end
    local zk = require("resty.zookeeper")
    local shared, err = zk.shared{ connect_string = config.hosts }
    put("m:shared", shared and "client" or ("nil " .. tostring(err)))
    local client = zk.new{ connect_string = config.hosts }
    local ok, connect_err = client:connect()
    put("m:connect", ok and "ok" or ("nil " .. tostring(connect_err)))
end

-- ---- a worker's shared client, discovery --------------------------------------------------

function M.init_worker()
    local pid = ngx.worker.pid()
    local prefix = "w:" .. pid .. ":"
    local zk = require("resty.zookeeper")
    local discovery = require("resty.zookeeper.discovery")
    local client, err = zk.shared{
        connect_string = config.hosts, timeout = config.timeout, session_timeout = config.session_timeout,
    }
    if not client then
        put(prefix .. "error", "shared: " .. tostring(err))
        return
    end
    put(prefix .. "started", string.format("%.0f", now_ms()))
    client:on_state(function(state) append(prefix .. "states", tostring(state)) end)

    -- A waiting call cannot run here (no yielding in init_worker).
    put("phase:init_worker", result_text(client:get_data("/")))

    local reg = config.root .. "/reg/w-" .. pid
    put(prefix .. "reg", reg)
    local ok, reg_err = discovery.register{ client = client, path = reg, data = "pid=" .. pid }
    if not ok then put(prefix .. "error", "register: " .. tostring(reg_err)) end
    if ngx.worker.id() == 0 then
        ok, reg_err = discovery.mirror{ client = client, path = config.root .. "/reg", dict = "zkdisc", data = true }
        if not ok then put(prefix .. "error", "mirror: " .. tostring(reg_err)) end
    end

    -- What the suite watches: state, session, server, registration, every 50 ms.
    ok, err = ngx.timer.every(0.05, function(premature)
        if premature then return end
        put(prefix .. "state", client:session_state())
        put(prefix .. "sid", tostring(client.session_id))
        local info = client:_debug()
        put(prefix .. "server", tostring(info and info.server))
        put(prefix .. "registered", tostring(discovery.registered(reg)))
    end)
    if not ok then put(prefix .. "error", "timer.every: " .. tostring(err)) end
end

-- ---- handlers ------------------------------------------------------------------------------

M.report = T.report

local function shared_client()
    local client, err = require("resty.zookeeper").shared()
    if not client then error("zk.shared(): " .. tostring(err)) end
    return client
end

local function answer_event(path, event, err, started, kind)
    local elapsed = now_ms() - started
    if event then
        dict:incr("fired:" .. path, 1, 0)
        ngx.say(string.format("event type=%s state=%s path=%s elapsed_ms=%.0f pid=%d via=%s",
            tostring(event.type), tostring(event.state), tostring(event.path), elapsed, ngx.worker.pid(), kind))
    else
        ngx.say(string.format("err=%s elapsed_ms=%.0f pid=%d via=%s", tostring(err), elapsed, ngx.worker.pid(), kind))
    end
end

-- The client a recipe request uses: the worker's shared one, or one of its own (connected).
local function recipe_client(via, keepalive)
    if via == "shared" then return shared_client() end
    local client = assert(require("resty.zookeeper").new{ connect_string = config.hosts, timeout = 10000, keepalive = keepalive })
    assert(client:connect())
    return client
end

-- What /rlock holds: the lock, a side of the read-write lock (kind=read|write), or a lease of
-- the semaphore of `leases` (kind=lease); `is_held` answers true for a lease while it has it.
local function recipe_hold(client, args)
    if args.kind == "read" or args.kind == "write" then
        local rw = client:read_write_lock(args.path)
        return args.kind == "read" and rw:read_lock() or rw:write_lock()
    end
    if args.kind ~= "lease" then return client:lock(args.path) end
    local semaphore, lease = client:semaphore(args.path, tonumber(args.leases) or 1), nil
    return {
        acquire = function(_, timeout)
            local err, code
            lease, err, code = semaphore:acquire(timeout)
            return lease and true, err, code
        end,
        is_held = function() return lease ~= nil end,
        release = function() return lease:release() end,
    }
end

-- GET /rlock?via=shared|request&path=...&hold=ms[&kind=read|write|lease&leases=n]: acquires the
-- lock (waiting: the call yields), holds it `hold` ms, releases it; answers when it held it
-- (ngx.now(), s).
function M.rlock()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local client = recipe_client(args.via)
        local lock = recipe_hold(client, args)
        local ok, err = lock:acquire(20000)
        if not ok then
            ngx.say("fail acquire: ", tostring(err))
        else
            ngx.update_time()
            local from = ngx.now()
            ngx.sleep((tonumber(args.hold) or 300) / 1000)
            ngx.update_time()
            local to = ngx.now()
            local held = lock:is_held()
            ok, err = lock:release()
            ngx.say(string.format("held from=%.3f to=%.3f is_held=%s release=%s via=%s kind=%s", from, to, tostring(held),
                result_text(ok, err), args.via, args.kind or "lock"))
        end
        if args.via ~= "shared" then client:close() end
    end)
end

-- GET /rcount?via=shared|request&path=...: adds 1 to the shared counter; answers the value.
function M.rcount()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local client = recipe_client(args.via)
        local value, err = client:counter(args.path):add(1)
        ngx.say(value and ("added value=" .. value) or ("fail add: " .. tostring(err)))
        if args.via ~= "shared" then client:close() end
    end)
end

-- GET /keep?op=read|ephemeral&path=...[&keepalive=off][&idle=ms][&hold=ms]: a per-request
-- client (its session kept between requests for `idle` ms, 500 by default, unless
-- keepalive=off) reads `path` or creates an ephemeral node there, waits `hold` ms, then
-- closes; answers its session id.
function M.keep()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local keepalive = args.keepalive ~= "off" and { timeout = tonumber(args.idle) or 500 }
        local client = assert(require("resty.zookeeper").new{
            connect_string = config.hosts, session_timeout = 20000, keepalive = keepalive,
        })
        local ok, err = client:connect()
        if not ok then return ngx.say("fail connect: ", tostring(err)) end
        local sid, res = client.session_id, nil
        if args.op == "ephemeral" then
            res, err = client:create(args.path, "", "ephemeral")
        else
            res, err = client:get_data(args.path)
        end
        if args.hold then ngx.sleep(tonumber(args.hold) / 1000) end -- overlap with another request
        ok = client:close()
        if not res then return ngx.say("fail ", tostring(args.op), ": ", tostring(err)) end
        ngx.say("sid=", sid, " close=", tostring(ok), " state=", client:session_state())
    end)
end

-- GET /retry?via=shared|request&failures=n&base_ms=ms: client:retry around a function that
-- fails as a lost connection does `failures` times, then asks whether "/" exists; answers what
-- it found, the calls and the time the retry took (s).
function M.retry()
    guarded(function()
        local args = ngx.req.get_uri_args()
        -- (a session of its own, not kept: check k-quit expects only its session kept at QUIT)
        local client = recipe_client(args.via, false)
        local failures, calls = tonumber(args.failures) or 3, 0
        local LOSS = require("resty.zookeeper").errors.CONNECTIONLOSS
        ngx.update_time()
        local started = ngx.now()
        local found, err = client:retry(function()
            calls = calls + 1
            if calls <= failures then return nil, "connection loss", LOSS end
            return client:exists("/")
        end, { attempts = failures + 1, base_ms = tonumber(args.base_ms) or 200, max_ms = 5000 })
        ngx.update_time()
        ngx.say(string.format("retried found=%s err=%s calls=%d took=%.3f via=%s", tostring(found), tostring(err), calls,
            ngx.now() - started, args.via))
        if args.via ~= "shared" then client:close() end
    end)
end

-- Waits (yielding) until `client` is in `state` or `ms` passed; answers the state it is in.
local function wait_for_state(client, state, ms)
    local deadline = now_ms() + ms
    while client:session_state() ~= state and now_ms() < deadline do ngx.sleep(0.05) end
    return client:session_state()
end

-- The client /readonly reads with: the shared one named "ro", or with `request` a per-request
-- one, connected (its session not kept). Nil and what to answer when there is none.
local function readonly_client(args)
    local zk = require("resty.zookeeper")
    local options = {
        connect_string = args.hosts, read_only = true, timeout = tonumber(args.timeout) or 1000, session_timeout = 6000,
    }
    if not args.request then
        options.name = "ro"
        local client, err = zk.shared(options)
        if not client then return nil, "fail shared: " .. tostring(err) end
        return client
    end
    options.keepalive = false
    local client = assert(zk.new(options))
    local ok, err = client:connect()
    if not ok then return nil, "fail connect: " .. tostring(err) end
    return client
end

-- GET /readonly?moved=1: waits (20 s at most) until the shared client "ro" is on a read-write
-- server, writes there, answers the state and the write's result, and closes the client.
local function readonly_moved()
    local client = assert(require("resty.zookeeper").shared("ro"))
    wait_for_state(client, "connected", 20000)
    local path, err = client:create("/ro-write-" .. ngx.worker.pid(), "x", "ephemeral")
    ngx.say(string.format("state=%s write=%s", tostring(client:session_state()), tostring(path or err)))
    client:close()
end

-- GET /readonly?hosts=...&timeout=ms&seconds=s[&request=1]: a shared client (name "ro",
-- read_only; with `request`, a per-request one) on the given hosts; once on a read-only
-- server, reads "/" every 20 ms for `seconds` while the client asks the other hosts whether
-- they serve writes (a per-request client does not ask). Answers the state, the reads made,
-- the slowest read in ms and the code a write fails with.
function M.readonly()
    guarded(function()
        local args = ngx.req.get_uri_args()
        if args.moved then return readonly_moved() end
        local client, failure = readonly_client(args)
        if not client then return ngx.say(failure) end
        local state = wait_for_state(client, "connected_read_only", 15000)
        if state ~= "connected_read_only" then return ngx.say("fail state ", tostring(state)) end
        local reads, slowest, failed = 0, 0, nil
        local stop = now_ms() + (tonumber(args.seconds) or 4) * 1000
        while now_ms() < stop do
            local started = now_ms()
            local data, read_err = client:get_data("/")
            local took = now_ms() - started
            if data == nil and read_err then failed = failed or tostring(read_err) end
            reads = reads + 1
            if took > slowest then slowest = took end
            ngx.sleep(0.02)
        end
        local _, _, write_code = client:create("/ro-write-" .. ngx.worker.pid(), "x")
        ngx.say(string.format("state=%s reads=%d slowest=%.0f failed=%s write=%s",
            state, reads, slowest, tostring(failed), tostring(write_code)))
        if args.request then client:close() end
    end)
end

-- GET /watch?path=...[&kind=exists][&timeout=ms]: a per-request client waits in watch().
function M.watch()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local zk = require("resty.zookeeper")
        local client = assert(zk.new{
            connect_string = config.hosts, timeout = tonumber(args.timeout) or config.watch_timeout,
            session_timeout = 10000,
        })
        local ok, err = client:connect()
        if not ok then
            ngx.say("fail connect: ", tostring(err))
            return
        end
        dict:incr("waiting:request", 1, 0)
        local started = now_ms()
        local event
        event, err = client:watch(args.path, args.kind or "exists")
        dict:incr("waiting:request", -1, 0)
        client:close()
        answer_event(args.path, event, err, started, "request")
    end)
end

-- GET /quiet?path=...: a per-request client waits the ways a handler does, with nothing to hear:
-- dispatch(300) twice, then watch() until its 4 s timeout (past the session's first ping, at
-- about 3.3 s). Answers what each returned.
function M.quiet()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local zk = require("resty.zookeeper")
        local client = assert(zk.new{ connect_string = config.hosts, timeout = 4000, session_timeout = 10000 })
        local ok, err = client:connect()
        if not ok then
            ngx.say("fail connect: ", tostring(err))
            return
        end
        local started = now_ms()
        local n1 = client:dispatch(300)
        local n2 = client:dispatch(300)
        local event
        event, err = client:watch(args.path, "exists")
        local elapsed = now_ms() - started
        local data = client:get_data("/zookeeper")
        client:close()
        ngx.say(string.format("dispatch=%s,%s watch=%s err=%s get=%q elapsed_ms=%.0f", tostring(n1), tostring(n2),
            tostring(event and event.type), tostring(err), tostring(data), elapsed))
    end)
end

-- GET /swatch?path=...[&kind=exists]: the same through the worker's shared client.
function M.swatch()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local client = shared_client()
        dict:incr("waiting:shared", 1, 0)
        local started = now_ms()
        local event, err = client:watch(args.path, args.kind or "exists")
        dict:incr("waiting:shared", -1, 0)
        answer_event(args.path, event, err, started, "shared")
    end)
end

-- GET /ops?op=full|get|seq&id=N: one request's own operations through the shared client, each
-- result checked; "ok <op> <id> pid=<pid> sid=<session>" or HTTP 500 naming the first wrong step.
function M.ops()
    local args = ngx.req.get_uri_args()
    local op, id = args.op, args.id
    local client = shared_client()
    local dir = config.root .. "/ops"
    local function bad(step, res, err)
        ngx.status = 500
        ngx.say(string.format("fail %s %s: %s: got %s err %s", op, id, step, tostring(res), tostring(err)))
        return ngx.exit(500)
    end
    local sid = client.session_id
    if op == "full" then
        local path = dir .. "/e-" .. id
        local data = "data-" .. id
        local res, err = client:create(path, data, "ephemeral")
        if res ~= path then return bad("create", res, err) end
        res, err = client:get_data(path)
        if res ~= data then return bad("get_data", res, err) end
        local stat
        stat, err = client:set_data(path, "new-" .. id)
        if type(stat) ~= "table" or stat.version ~= 1 then return bad("set_data", stat and stat.version, err) end
        res, stat = client:get(path)
        if res ~= "new-" .. id or type(stat) ~= "table" or stat.ephemeral_owner ~= sid then
            return bad("get", res, stat and stat.ephemeral_owner)
        end
        res, err = client:delete(path, 1)
        if res ~= true then return bad("delete", res, err) end
        res, err = client:exists(path)
        if res ~= false then return bad("exists after delete", res, err) end
    elseif op == "get" then
        local res, err = client:get_data(dir)
        if res ~= "ops-dir" then return bad("get_data", res, err) end
        res, err = client:get_children(config.root)
        if type(res) ~= "table" then return bad("get_children", res, err) end
        local found = false
        for _, name in ipairs(res) do found = found or name == "ops" end
        if not found then return bad("get_children has ops", table.concat(res, ","), err) end
    elseif op == "seq" then
        local prefix = dir .. "/s-" .. id .. "-"
        local path, err = client:create(prefix, id, "ephemeral", true)
        if type(path) ~= "string" or path:sub(1, #prefix) ~= prefix or not path:sub(#prefix + 1):match("^%d%d%d%d%d%d%d%d%d%d$") then
            return bad("create sequential", path, err)
        end
        local res
        res, err = client:get_data(path)
        if res ~= id then return bad("get_data", res, err) end
        res, err = client:delete(path)
        if res ~= true then return bad("delete", res, err) end
        res, err = client:get_data(path)
        if res ~= nil or err ~= "node does not exist" then return bad("get_data after delete", res, err) end
    else
        return bad("op", op, "unknown")
    end
    ngx.say(string.format("ok %s %s pid=%d sid=%s", op, id, ngx.worker.pid(), tostring(sid)))
end

-- GET /setup?path=&data=: make a persistent node (and its parents) through the shared client.
function M.setup()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local client = shared_client()
        local at, made = 1, {}
        while true do
            local slash = args.path:find("/", at + 1, true)
            local part = slash and args.path:sub(1, slash - 1) or args.path
            local res, err = client:create(part, slash and "" or (args.data or ""), "persistent")
            if not res and err ~= "node already exists" then
                ngx.say("fail create ", part, ": ", tostring(err))
                return
            end
            made[#made + 1] = part
            if not slash then break end
            at = slash
        end
        ngx.say("ok ", table.concat(made, " "))
    end)
end

-- GET /setwatches?dir=: four kinds of watch through the shared client, their callbacks counted
-- in the dict (cb:<name> = the events, cbn:<name> = how many): an exists watch on a missing node,
-- a data watch, a child watch and a persistent watch.
function M.setwatches()
    guarded(function()
        local dir = ngx.req.get_uri_args().dir
        local client = shared_client()
        local function recorder(name)
            return function(event)
                append("cb:" .. name, string.format("%s:%s:%s", tostring(event.type), tostring(event.state), tostring(event.path)))
                dict:incr("cbn:" .. name, 1, 0)
            end
        end
        local results = {}
        local function note(name, ...) results[#results + 1] = name .. "=" .. table.concat({ tostring(select(1, ...)), tostring(select(2, ...)) }, ",") end
        for _, node in ipairs{ dir, dir .. "/data", dir .. "/parent", dir .. "/persist" } do
            local res, err = client:create(node, "v0", "persistent")
            if not res and err ~= "node already exists" then
                ngx.say("fail create ", node, ": ", tostring(err))
                return
            end
        end
        local stat, err = client:stat(dir .. "/absent", recorder("absent"))
        note("absent", stat, err)
        local data
        data, err = client:get(dir .. "/data", recorder("data"))
        note("data", data, type(err) == "table" and "stat" or err)
        local names
        names, err = client:children(dir .. "/parent", recorder("children"))
        note("children", names and #names, type(err) == "table" and "stat" or err)
        local ok
        ok, err = client:add_watch(dir .. "/persist", "persistent", recorder("persistent"))
        note("persistent", ok, err)
        ngx.say("ok ", table.concat(results, " "))
    end)
end

-- GET /members: the discovery mirror of ROOT/reg, as this worker reads it.
function M.members()
    guarded(function()
        local discovery = require("resty.zookeeper.discovery")
        local members, version = discovery.members("zkdisc", config.root .. "/reg")
        if not members then
            ngx.say("err ", tostring(version))
            return
        end
        local names = {}
        for i, m in ipairs(members) do names[i] = m.name .. "=" .. tostring(m.data) end
        ngx.say("members ", table.concat(names, " "))
        ngx.say("version ", tostring(version))
    end)
end

-- Phases: a waiting call must refuse, with the phase named, where nginx cannot yield.
function M.in_phase(phase)
    local client = require("resty.zookeeper").shared()
    if not client then
        put("phase:" .. phase, "no shared client")
        return ""
    end
    put("phase:" .. phase, result_text(client:get_data("/zookeeper")))
    return ""
end

return M
