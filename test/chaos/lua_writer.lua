-- The fault campaign's native Lua client (luajit): a writer (test/chaos/writer.lua) and a child
-- watch re-armed on every event, whose view is the last listing it got.
--
--   luajit lua_writer.lua CONNECT WORK NAME SESSION_MS CALL_MS WATCHED_DIR
--
-- Control by files under WORK (made by run.sh): `quiesce` stops the writes, `dump` writes the
-- watcher's view to WORK/<NAME>.view, `stop` ends the process. The ledger is WORK/<NAME>.ledger.
-- After the writes it stays idle until the session ends (the quorum-loss phase) or `stop`.
local connect, work, name, session_ms, call_ms, watched = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5]), arg[6]
local ffi = require "ffi"
ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } chaos_timespec;
    int clock_gettime(int clock, chaos_timespec *ts);
    int poll(void *fds, unsigned long n, int timeout);
]]
local ts = ffi.new("chaos_timespec")
local function now_ms()
    ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME: comparable with run.sh's `date +%s%3N`
    return tonumber(ts.tv_sec) * 1000 + math.floor(tonumber(ts.tv_nsec) / 1e6)
end
local function sleep_ms(ms) ffi.C.poll(nil, 0, ms) end
local function exists(file)
    local f = io.open(work .. "/" .. file)
    if f then f:close() end
    return f ~= nil
end

local ledger = assert(io.open(work .. "/" .. name .. ".ledger", "a"))
ledger:setvbuf("line")
local function log(line) ledger:write(line, "\n") end

local zk = require "resty.zookeeper"
local client = assert(zk.new{ connect_string = connect, timeout = call_ms, session_timeout = session_ms })
local ok, err = client:connect()
if not ok then log("error connect " .. tostring(err)); os.exit(1) end

local writer = require("writer").new{
    client = client, name = name, dir = "/chaos/" .. name, log = log, now_ms = now_ms,
    session_id = function() return client.session_id end,
}
client:on_state(function(state) writer:heard(state) end)
writer:record_state("start")

-- Setup calls retry: a fault may already be under way.
local function retry(what, fn)
    for _ = 1, 200 do
        local res, e = fn()
        if res then return res end
        log("retry " .. what .. " " .. tostring(e))
        sleep_ms(100)
    end
    log("error " .. what); os.exit(1)
end
retry("prepare", function() return writer:prepare() end)
retry("watched", function()
    local made, e, code = client:create(watched, "")
    return (made or code == -110) and true, e
end)
retry("eph-parent", function()
    local made, e, code = client:create("/chaos/eph", "")
    return (made or code == -110) and true, e
end)
local eph = retry("ephemeral", function() return client:create("/chaos/eph/" .. name, "", "ephemeral") end)
log("ephemeral " .. eph .. " " .. tostring(client.session_id))

-- The child watch: re-armed (with a fresh listing) after each node event it delivers. Session
-- events (type -1: disconnected, reconnected) leave the watch in place, so a change made while
-- the client was away must come from the watch the client set again on reconnecting
-- (SetWatches). `armed` is set before the call: the event can run its callback inside the very
-- call that set the watch (the reply and the event arrive together), and must then leave it unset.
local view, armed = nil, false
local function fired(event)
    if event.type ~= -1 then armed = false end
end
local function rearm()
    if armed then return end
    armed = true
    local names = client:children(watched, fired)
    if names then
        table.sort(names)
        view = names
    else
        armed = false
    end
end

log("ready")
while not exists("quiesce") do
    rearm()
    writer:step()
    writer:drain()
    sleep_ms(20)
end
log("quiesced")
while not exists("dump") do rearm(); client:dispatch(50); writer:drain() end
local t_dump = now_ms()
while now_ms() - t_dump < 1500 do rearm(); client:dispatch(50); writer:drain() end
local out = assert(io.open(work .. "/" .. name .. ".view", "w"))
out:write("children ", watched, " ", view and table.concat(view, " ") or "<none>", "\n")
out:close()
log("viewed")

-- Idle through the quorum loss: the session state is polled as well as heard (on_state runs in
-- dispatch), and the first sight of each state is recorded.
local last = client:session_state()
while not exists("stop") do
    client:dispatch(20)
    writer:drain()
    local state = client:session_state()
    if state ~= last then
        last = state
        writer:record_state("polled:" .. state)
    end
    if state == "expired" then break end
end
writer:drain()
log("end")
