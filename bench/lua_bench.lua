-- Our Lua module (resty.zookeeper, native Swift core; the waiting Lua thread does the I/O).
--
--   LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" RESTY_ZOOKEEPER_NATIVE=/path/libzookeeper_lua.so \
--   lua5.1|luajit bench/lua_bench.lua HOST:PORT WORKLOAD N SECONDS
--
-- WORKLOAD: exists | get | set   sequential client:exists / client:get_data / client:set_data (100 B)
--           pexists | pget       the same, BENCH_WINDOW requests in flight (see below)
--           idle                 N clients connected in this one process, held for SECONDS:
--                                RSS, CPU over the hold, thread count
-- Op workloads stop after N ops or SECONDS, whichever comes first. Paths: BENCH_PATH (default
-- /bench/node), BENCH_SET_PATH (default /bench/set). BENCH_SESSION_TIMEOUT (ms, default 30000;
-- idle uses BENCH_IDLE_SESSION_TIMEOUT, default 10000). BENCH_TLS_DIR: connect over TLS with
-- the ca.pem, client.pem and client.key there (scripts/zk-test-certs.sh; server name localhost).
-- Prints one JSON line.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local util = require("benchutil")
local zk = require("resty.zookeeper")

local cs, workload, n, limit = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
if not (cs and workload and n and limit) then
    io.stderr:write("usage: lua_bench.lua HOST:PORT exists|get|set|idle N SECONDS\n")
    os.exit(2)
end
local path = os.getenv("BENCH_PATH") or "/bench/node"
local set_path = os.getenv("BENCH_SET_PATH") or "/bench/set"
local name = "lua-" .. util.interpreter()

local tls_dir = os.getenv("BENCH_TLS_DIR")
local tls = tls_dir and { ca_file = tls_dir .. "/ca.pem", cert_file = tls_dir .. "/client.pem",
                          key_file = tls_dir .. "/client.key", server_name = "localhost" } or nil

local function new_client(session_timeout)
    local c = assert(zk.new { connect_string = cs, timeout = 10000, session_timeout = session_timeout, tls = tls })
    local ok, err = c:connect()
    if not ok then return nil, err end
    return c
end

if workload == "idle" then
    local tmo = tonumber(os.getenv("BENCH_IDLE_SESSION_TIMEOUT") or "10000")
    local base_rss, base_threads = util.status("VmRSS"), util.status("Threads")
    local clients, failed = {}, 0
    local t0 = util.now()
    for i = 1, n do
        local c, err = new_client(tmo)
        if c then clients[#clients + 1] = c
        else
            failed = failed + 1
            if failed <= 3 then io.stderr:write("lua_bench: connect ", i, " failed: ", tostring(err), "\n") end
        end
    end
    local t_conn = util.now() - t0
    collectgarbage()
    local c0 = util.cpu_snapshot()
    local h0 = util.now()
    -- hold: sleep in the kernel (no Lua-side work); the module's I/O thread keeps the sessions alive
    os.execute(string.format("sleep %g", limit))
    local held = util.now() - h0
    local cu, csys = util.cpu_delta(c0, util.cpu_snapshot())
    local rss, hwm, threads = util.status("VmRSS"), util.status("VmHWM"), util.status("Threads")
    local alive = 0
    for _, c in ipairs(clients) do
        if c:session_state() == "connected" then alive = alive + 1 end
    end
    for _, c in ipairs(clients) do c:close() end
    util.emit({ "client", "workload", "sessions", "connected", "alive_after", "connect_s", "seconds",
        "session_timeout_ms", "cpu_user_s", "cpu_sys_s", "rss_kb", "base_rss_kb", "max_rss_kb",
        "threads", "base_threads" }, {
        client = name, workload = "idle", sessions = n, connected = #clients, alive_after = alive,
        connect_s = t_conn, seconds = held, session_timeout_ms = tmo, cpu_user_s = cu,
        cpu_sys_s = csys, rss_kb = rss, base_rss_kb = base_rss, max_rss_kb = math.max(rss, hwm),
        threads = threads, base_threads = base_threads,
    })
    os.exit(0)
end

local client = assert(new_client(tonumber(os.getenv("BENCH_SESSION_TIMEOUT") or "30000")))
local value = string.rep("x", 100)
local ops = {
    exists = function() return client:exists(path) == true end,
    get = function() local d = client:get_data(path); return d ~= nil end,
    set = function() return client:set_data(set_path, value) ~= nil end,
}
-- Pipelined: BENCH_WINDOW requests in flight from one Lua thread. BENCH_LUA_PIPELINE=async
-- (default) keeps a sliding window of handles (client:exists_async, ...: each answer waited for
-- starts the next request); =batch sends whole client:batch calls, so the window drains before
-- it refills (latency = the batch's send to completion).
local pipelined = { pexists = "exists", pget = "get_data" }
if pipelined[workload] then
    local window = tonumber(os.getenv("BENCH_WINDOW") or "1000")
    local style = os.getenv("BENCH_LUA_PIPELINE") or "async"
    local method = pipelined[workload]
    local now, lat, errors, done = util.now, {}, 0, 0
    local c0 = util.cpu_snapshot()
    local t0 = now()
    if style == "batch" then
        local calls = {}
        for i = 1, window do calls[i] = { method, path } end
        while done < n and now() - t0 < limit do
            local ts = now()
            local results = client:batch(calls)
            local us = (now() - ts) * 1e6
            for i = 1, #results do
                if results[i][1] == nil then errors = errors + 1 end
                done = done + 1
                lat[done] = us
            end
        end
    else
        local start = client[method .. "_async"]
        local handles, sent, started = {}, {}, 0
        local function launch()
            started = started + 1
            sent[started] = now()
            handles[started] = start(client, path)
        end
        while started < window and started < n do launch() end
        while done < started do
            local i = done + 1
            if handles[i]:wait() == nil then errors = errors + 1 end
            lat[i] = (now() - sent[i]) * 1e6
            handles[i], sent[i], done = nil, nil, i
            if started < n and now() - t0 < limit then launch() end
        end
    end
    local seconds = now() - t0
    local cu, cs = util.cpu_delta(c0, util.cpu_snapshot())
    table.sort(lat)
    client:close()
    util.emit(util.OPS_KEYS, {
        client = name, workload = workload, ops = done, errors = errors, seconds = seconds, window = window,
        p50_us = util.percentile(lat, 50), p99_us = util.percentile(lat, 99),
        cpu_user_s = cu, cpu_sys_s = cs, max_rss_kb = util.status("VmHWM"),
    })
    os.exit(0)
end
if not ops[workload] then
    io.stderr:write("lua_bench: unsupported workload " .. workload .. "\n")
    os.exit(2)
end
local res = util.run_sequential(name, workload, n, limit, ops[workload])
client:close()
util.emit(util.OPS_KEYS, res)
