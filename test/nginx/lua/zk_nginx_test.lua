-- Handlers of the real-nginx integration test (test/nginx/run.sh). Everything the test looks at
-- goes to the shared dict `zktest` (keys "m:*" for the master, "w:<pid>:*" for a worker's
-- long-lived timer client, "s:<pid>:*" for its shared client, "watch:*" for the waiting watch
-- in a content handler) and is read back by GET /report as sorted `key=value` lines.
local M = {}

local dict = ngx.shared.zktest
local T = require("zk_test_dict")(dict, "zktest")
local now_ms, put, append, guarded = T.now_ms, T.put, T.append, T.guarded
local config = { hosts = "127.0.0.1:2181", root = "/zk_nginx_test" }

local function threads()
    local file = io.open("/proc/self/status", "r")
    if not file then return -1 end
    local text = file:read("*a")
    file:close()
    return tonumber(text:match("\nThreads:%s*(%d+)")) or -1
end

-- The path of the native library this process has mapped (none before the first require).
local function mapped_native()
    local file = io.open("/proc/self/maps", "r")
    if not file then return "?" end
    for line in file:lines() do
        local path = line:match("%s(/%S*zookeeper[^/%s]*%.so)$")
        if path then
            file:close()
            return path
        end
    end
    file:close()
    return "none"
end

local function event_text(kind, event)
    if type(event) ~= "table" then return kind .. ":" .. tostring(event) end
    return string.format("%s:%s:%s:%s", kind, tostring(event.type), tostring(event.state), tostring(event.path))
end

-- ---- master ------------------------------------------------------------------------------

-- init_by_lua (master, before the fork): load the module, create (but never connect) a client,
-- and record the thread count at every step. With connect_in_master, also try what nginx must
-- refuse there: connect, a call, zk.shared{}.
function M.init_master(options)
    for k, v in pairs(options or {}) do config[k] = v end
    put("m:pid", ngx.worker.pid())
    put("m:threads_before_require", threads())
    local zk = require("resty.zookeeper")
    put("m:version", zk._VERSION)
    put("m:native", mapped_native())
    put("m:native_env", os.getenv("RESTY_ZOOKEEPER_NATIVE") or "")
    put("m:threads_after_require", threads())
    local client, err = zk.new{ connect_string = config.hosts, timeout = 3000 }
    put("m:new", client and "ok" or ("nil " .. tostring(err)))
    put("m:threads_after_new", threads())
    if config.connect_in_master and client then
        -- Only for the "fork after connect" check: a session in the master (reading settings at
        -- startup, say) would be shared by every forked worker: connect must refuse it with a
        -- clear error, and the workers must still connect.
        local ok, connect_err = client:connect()
        put("m:connect", ok and "ok" or ("nil " .. tostring(connect_err)))
        local data, get_err = client:get_data("/zookeeper")
        put("m:get", data and "ok" or ("nil " .. tostring(get_err)))
        put("m:close", tostring(client:close()))
        local shared, shared_err = zk.shared{ connect_string = config.hosts }
        put("m:shared", shared and "client" or ("nil " .. tostring(shared_err)))
        put("m:threads_after_close", threads())
    end
    client = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    put("m:threads_after_gc", threads())
end

-- ---- a worker's long-lived client, in a timer of its own ------------------------------------

-- A client made with zk.new drives its connection from the request or timer that connected it:
-- this timer connects, sets its node and watches up, then runs the callbacks (dispatch) until
-- the worker exits, and closes the session then, so that its ephemeral node goes at once.
local function worker_start(premature)
    if premature then return end
    local pid = ngx.worker.pid()
    local prefix = "w:" .. pid .. ":"
    local zk = require("resty.zookeeper")
    put(prefix .. "threads_before_connect", threads())
    local started = now_ms()
    local client, err = zk.new{ connect_string = config.hosts, timeout = 5000, session_timeout = 30000 }
    if not client then
        put(prefix .. "error", "new: " .. tostring(err))
        return
    end
    local ok
    ok, err = client:connect()
    put(prefix .. "connect_ms", string.format("%.0f", now_ms() - started))
    if not ok then
        put(prefix .. "error", "connect: " .. tostring(err))
        return
    end
    put(prefix .. "threads_after_connect", threads())
    put(prefix .. "session", tostring(client.session_id))

    client:on_state(function(state) append(prefix .. "states", tostring(state)) end)

    local created
    created, err = client:create(config.root, "", "persistent")
    if not created and err ~= "node already exists" then
        put(prefix .. "error", "create root: " .. tostring(err))
        return
    end
    local worker_node = config.root .. "/worker-" .. pid
    local payload = "pid=" .. pid
    created, err = client:create(worker_node, payload, "ephemeral")
    if created ~= worker_node then
        put(prefix .. "error", "create node: " .. tostring(err))
        return
    end
    put(prefix .. "node", worker_node)
    local data
    data, err = client:get_data(worker_node)
    put(prefix .. "readback", data == payload and "ok" or ("got " .. tostring(data) .. " " .. tostring(err)))

    -- A one-shot data watch (fires once) and a persistent watch (fires on every change).
    local stat
    data, stat = client:get(worker_node, function(event)
        append(prefix .. "events", event_text("get", event))
        dict:incr(prefix .. "n_get", 1, 0)
    end)
    if data == nil then
        put(prefix .. "error", "get with watch: " .. tostring(stat))
        return
    end
    ok, err = client:add_watch(worker_node, "persistent", function(event)
        append(prefix .. "events", event_text("persistent", event))
        dict:incr(prefix .. "n_persistent", 1, 0)
    end)
    if not ok then
        put(prefix .. "error", "add_watch: " .. tostring(err))
        return
    end

    put(prefix .. "state", client:session_state())
    put(prefix .. "ready", "yes")

    -- This timer runs its client's callbacks until the worker exits.
    local ticks = 0
    while not ngx.worker.exiting() do
        local ran, dispatch_err = client:dispatch(1000)
        if ran == nil then
            put(prefix .. "dispatch_error", tostring(dispatch_err))
            ngx.sleep(0.1)
        end
        ticks = ticks + 1
        if ticks % 20 == 0 then put(prefix .. "ticks", ticks) end
    end
    -- nginx is stopping (quit or reload): end the session now, so the ephemeral goes with it.
    local closed, close_err = client:close()
    ngx.log(ngx.NOTICE, "zktest: worker ", pid, " closed its client: ", tostring(closed), " ", tostring(close_err or ""))
end

-- The worker's shared client (zk.shared, one session owned by the module's timer): a timer
-- makes an ephemeral node through it, ROOT/shared-<pid>; the module closes the session when the
-- worker exits, so the node must vanish at once.
local function shared_start(premature)
    if premature then return end
    local pid = ngx.worker.pid()
    local prefix = "s:" .. pid .. ":"
    local client, err = require("resty.zookeeper").shared()
    if not client then
        put(prefix .. "error", "shared(): " .. tostring(err))
        return
    end
    local ok
    ok, err = client:connect() -- waits until the session is there
    if not ok then
        put(prefix .. "error", "connect: " .. tostring(err))
        return
    end
    local res
    res, err = client:create(config.root, "", "persistent")
    if not res and err ~= "node already exists" then
        put(prefix .. "error", "create root: " .. tostring(err))
        return
    end
    local node = config.root .. "/shared-" .. pid
    res, err = client:create(node, "pid=" .. pid, "ephemeral")
    if res ~= node then
        put(prefix .. "error", "create node: " .. tostring(err))
        return
    end
    put(prefix .. "node", node)
    put(prefix .. "session", tostring(client.session_id))
    put(prefix .. "ready", "yes")
end

function M.init_worker()
    local zk = require("resty.zookeeper")
    local shared, shared_err = zk.shared{ connect_string = config.hosts, timeout = 5000, session_timeout = 30000 }
    if not shared then put("s:" .. ngx.worker.pid() .. ":error", "zk.shared: " .. tostring(shared_err)) end
    -- A misspelt option is refused, for both kinds of client (and `name` only for zk.shared).
    local _, shared_unknown = zk.shared{ name = "misspelt", connect_string = config.hosts, sesion_timeout = 1 }
    local _, new_unknown = zk.new{ connect_string = config.hosts, name = "x" }
    put("s:" .. ngx.worker.pid() .. ":unknown_option", tostring(shared_unknown) .. "|" .. tostring(new_unknown))
    for key, start in pairs{ w = worker_start, s = shared_start } do
        local ok, err = ngx.timer.at(0, function(premature)
            local run_ok, run_err = xpcall(function() start(premature) end, debug.traceback)
            if not run_ok then
                put(key .. ":" .. ngx.worker.pid() .. ":error", "raised: " .. tostring(run_err))
            end
        end)
        if not ok then ngx.log(ngx.ERR, "zktest: timer.at: ", err) end
    end
end

-- ---- content handlers ----------------------------------------------------------------------

M.report = T.report

local function connect_new(timeout)
    local zk = require("resty.zookeeper")
    local client, err = zk.new{ connect_string = config.hosts, timeout = timeout or 5000, session_timeout = 10000 }
    if not client then return nil, "new: " .. tostring(err) end
    local ok
    ok, err = client:connect()
    if not ok then return nil, "connect: " .. tostring(err) end
    return client
end

-- GET /op?op=set|create|delete&path=...&data=... with a client of its own.
function M.op()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local client, err = connect_new()
        if not client then
            ngx.say("fail ", err)
            return
        end
        local res
        if args.op == "set" then
            local stat
            stat, err = client:set_data(args.path, args.data or "")
            res = stat and ("version=" .. tostring(stat.version))
        elseif args.op == "create" then
            res, err = client:create(args.path, args.data or "", args.mode or "persistent")
        elseif args.op == "delete" then
            res, err = client:delete(args.path)
        else
            err = "unknown op " .. tostring(args.op)
        end
        client:close()
        if res then
            ngx.say("ok ", tostring(res), " pid=", ngx.worker.pid())
        else
            ngx.say("fail ", tostring(err), " pid=", ngx.worker.pid())
        end
    end)
end

-- GET /crud: the whole life of a per-request client.
function M.crud()
    guarded(function()
        local started = now_ms()
        local failures = {}
        local function expect(cond, what, got, err)
            if cond then
                ngx.say("ok   ", what)
            else
                failures[#failures + 1] = what
                ngx.say("FAIL ", what, ": got ", tostring(got), " err ", tostring(err))
            end
        end
        local zk = require("resty.zookeeper")
        local client, err = zk.new{ connect_string = config.hosts, timeout = 5000, session_timeout = 10000 }
        expect(client ~= nil, "new", client, err)
        if not client then return end
        local res
        res, err = client:get_data(config.root)
        expect(res == nil and err == "not connected", "call before connect", res, err)
        res, err = client:connect()
        expect(res == true, "connect", res, err)
        if res ~= true then return end
        expect(type(client.session_id) == "string" and client.session_id:match("^0x%x+$"), "session_id", client.session_id)
        res, err = client:create(config.root, "", "persistent")
        expect(res == config.root or err == "node already exists", "create root", res, err)
        local dir = config.root .. "/crud-" .. ngx.worker.pid() .. "-" .. ngx.var.request_id
        local payload = "payload " .. ngx.var.request_id
        res, err = client:create(dir, payload, "persistent")
        expect(res == dir, "create " .. dir, res, err)
        res, err = client:create(dir, payload, "persistent")
        expect(res == nil and err == "node already exists", "create again", res, err)
        res, err = client:get_data(dir)
        expect(res == payload, "get_data", res, err)
        local child
        child, err = client:create(dir .. "/c-", "x", "ephemeral", true)
        expect(type(child) == "string" and child:match("/c%-%d%d%d%d%d%d%d%d%d%d$"), "create sequential ephemeral", child, err)
        res, err = client:get_children(dir)
        expect(type(res) == "table" and #res == 1 and dir .. "/" .. tostring(res[1]) == child, "get_children", res and res[1], err)
        res, err = client:delete(dir)
        expect(res == nil and err ~= nil, "delete non-empty fails", res, err)
        res, err = client:delete(child)
        expect(res == true, "delete child", res, err)
        res, err = client:delete(dir)
        expect(res == true, "delete dir", res, err)
        res, err = client:exists(dir)
        expect(res == false, "exists after delete", res, err)
        res, err = client:get_data(dir)
        expect(res == nil and err == "node does not exist", "get_data after delete", res, err)
        res, err = client:close()
        expect(res == true, "close", res, err)
        res, err = client:get_data(config.root)
        expect(res == nil and err == "not connected", "call after close", res, err)
        ngx.say(string.format("elapsed_ms=%.1f pid=%d", now_ms() - started, ngx.worker.pid()))
        ngx.say(#failures == 0 and "crud ok" or ("crud failed: " .. table.concat(failures, ", ")))
    end)
end

-- GET /watch?path=...&kind=exists&timeout=ms: the contract's watch in a handler (it waits on
-- the request's cosocket; the worker keeps serving).
function M.watch()
    guarded(function()
        local args = ngx.req.get_uri_args()
        local timeout = tonumber(args.timeout) or 3000
        local client, err = connect_new(timeout)
        if not client then
            ngx.say("fail ", err)
            return
        end
        local pid = ngx.worker.pid()
        put("watch:pending", pid)
        local started = now_ms()
        local event
        event, err = client:watch(args.path, args.kind or "exists")
        local elapsed = now_ms() - started
        dict:delete("watch:pending")
        client:close()
        if event then
            ngx.say(string.format("event type=%s state=%s path=%s elapsed_ms=%.0f pid=%d",
                tostring(event.type), tostring(event.state), tostring(event.path), elapsed, pid))
        else
            ngx.say(string.format("err=%s elapsed_ms=%.0f pid=%d", tostring(err), elapsed, pid))
        end
    end)
end

return M
