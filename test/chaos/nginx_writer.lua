-- The fault campaign's nginx client: the worker's shared client (zk.shared) runs the writer
-- (test/chaos/writer.lua) in a timer and keeps a discovery registration (/chaos/reg/<name>).
-- Control by files under the campaign's directory, as test/chaos/lua_writer.lua: `quiesce` stops
-- the writes; afterwards the timer records each change of state, session and registration
-- ("registered <epoch ms> true|false <sid>") until `stop` or the worker exits.
local M = {}

local function now_ms()
    ngx.update_time()
    return math.floor(ngx.now() * 1000)
end

local function exists(path)
    local f = io.open(path)
    if f then f:close() end
    return f ~= nil
end

function M.start(opts)
    local zk = require "resty.zookeeper"
    local discovery = require "resty.zookeeper.discovery"
    local ledger = assert(io.open(opts.run .. "/" .. opts.name .. ".ledger", "a"))
    ledger:setvbuf("line")
    local function log(line) ledger:write(line, "\n") end

    local client, err = zk.shared{ connect_string = opts.hosts, timeout = opts.call_ms, session_timeout = opts.session_ms }
    if not client then log("error shared " .. tostring(err)); return end
    local writer = require("writer").new{
        client = client, name = opts.name, dir = "/chaos/" .. opts.name, log = log, now_ms = now_ms,
        session_id = function() return client.session_id end,
    }
    client:on_state(function(state) writer:record_state(state) end)
    local reg = "/chaos/reg/" .. opts.name
    local ok, reg_err = discovery.register{ client = client, path = reg, data = "pid=" .. ngx.worker.pid() }
    if not ok then log("error register " .. tostring(reg_err)); return end

    local function run()
        while client:session_state() ~= "connected" do ngx.sleep(0.05) end
        writer:record_state("start")
        while true do
            local prepared, prep_err = writer:prepare()
            if prepared then break end
            log("retry prepare " .. tostring(prep_err))
            ngx.sleep(0.1)
        end
        while not discovery.registered(reg) do ngx.sleep(0.05) end
        log("ephemeral " .. reg .. " " .. tostring(client.session_id))
        log("ready")
        while not exists(opts.run .. "/quiesce") and not ngx.worker.exiting() do
            writer:step()
            ngx.sleep(0.02)
        end
        log("quiesced")
        local last = ""
        while not exists(opts.run .. "/stop") and not ngx.worker.exiting() do
            local now = string.format("%s %s %s", client:session_state(), tostring(discovery.registered(reg)),
                tostring(client.session_id))
            if now ~= last then
                last = now
                log(string.format("registered %d %s", now_ms(), now))
            end
            ngx.sleep(0.02)
        end
        log("end")
    end
    local started, timer_err = ngx.timer.at(0, function(premature)
        if premature then return end
        local fine, e = xpcall(run, debug.traceback)
        if not fine then log("error " .. tostring(e):gsub("\n", " | ")) end
    end)
    if not started then log("error timer " .. tostring(timer_err)) end
end

return M
