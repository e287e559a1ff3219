-- The fault campaign's Lua writer (test/chaos/run.sh), one piece of code for the native module
-- (test/chaos/lua_writer.lua, under luajit) and nginx's shared client (test/chaos/nginx_writer.lua).
--
-- A writer takes turns: a sequential create under <dir>/s- (data "<name>:<seq>"), a versioned set
-- of <dir>/counter (data "<name>:<seq>"), a burst of sequential creates sent at once; it writes a
-- ledger line for each call it made:
--   create <seq> ack <path> <ms>     acknowledged
--   create <seq> unknown <code> <ms> connection loss or timeout: it may or may not have happened
--   create <seq> fail <code> <ms>    refused (it did not happen)
--   set <seq> ack <version> <ms> / set <seq> unknown <code> <ms> / set <seq> fail <code> <ms>
--   version <v>                      the counter's version read back (after an unknown or refused set)
--   state <epoch ms> <state> <session id> <server>
-- test/chaos/check.py reads the ledgers against the server's truth.
local W = {}
W.__index = W

-- The codes after which a call may or may not have happened (docs/errors.md).
local UNCERTAIN = { [-4] = true, [-7] = true }

-- opts: client, name, dir, log(line), now_ms(), session_id() (the client's current one)
function W.new(opts)
    local self = setmetatable({}, W)
    for k, v in pairs(opts) do self[k] = v end
    self.seq = 0
    self.version = nil -- the counter's version, unknown until read
    return self
end

-- Makes the writer's directory and counter (idempotent: it may be rerun after a failure).
function W:prepare()
    for _, path in ipairs{ "/chaos", self.dir, self.dir .. "/counter" } do
        local ok, err, code = self.client:create(path, "")
        if not ok and code ~= -110 then return nil, path .. ": " .. tostring(err) .. " " .. tostring(code) end
    end
    return true
end

function W:timed(fn, ...)
    local t0 = self.now_ms()
    local a, b, c = fn(self.client, ...)
    return self.now_ms() - t0, a, b, c
end

function W:outcome(ok, code)
    if ok then return "ack" end
    return UNCERTAIN[code] and "unknown" or "fail"
end

function W:create()
    self.seq = self.seq + 1
    local ms, path, _, code = self:timed(self.client.create, self.dir .. "/s-", self.name .. ":" .. self.seq,
        "persistent", true)
    local kind = self:outcome(path, code)
    self.log(string.format("create %d %s %s %d", self.seq, kind, path or tostring(code), ms))
end

function W:set()
    if not self.version then
        local ms, stat, _, code = self:timed(self.client.stat, self.dir .. "/counter")
        self.log(string.format("read %s %d", stat and "ack" or tostring(code), ms))
        if not stat then return end
        self.version = stat.version
        self.log("version " .. stat.version)
    end
    self.seq = self.seq + 1
    local ms, stat, _, code = self:timed(self.client.set_data, self.dir .. "/counter", self.name .. ":" .. self.seq,
        self.version)
    local kind = self:outcome(stat, code)
    self.log(string.format("set %d %s %s %d", self.seq, kind, stat and stat.version or tostring(code), ms))
    self.version = stat and stat.version or nil
end

-- BURST creates sent at once (client:batch), each logged as its own create: many requests in
-- flight when a connection drops.
local BURST = 5

function W:burst()
    local calls, first = {}, self.seq + 1
    for i = 1, BURST do
        calls[i] = { "create", self.dir .. "/s-", self.name .. ":" .. (first + i - 1), "persistent", true }
    end
    self.seq = self.seq + BURST
    local ms, results = self:timed(self.client.batch, calls)
    for i = 1, BURST do
        local r = results and results[i]
        local path, code = r and r[1], r and r[3]
        -- Without results the batch as a whole failed: each create may have been sent.
        local kind = r and self:outcome(path, code) or "unknown"
        self.log(string.format("create %d %s %s %d", first + i - 1, kind, path or tostring(code), ms))
    end
end

-- A create, a set, then a burst of creates, in turn.
function W:step()
    self.steps = (self.steps or 0) + 1
    local turn = self.steps % 3
    if turn == 1 then self:create() elseif turn == 2 then self:set() else self:burst() end
end

-- A one-line record of the client's session: "state <ms> <state> <sid> <server>".
function W:record_state(state, at)
    local info = self.client:_debug() or {}
    self.log(string.format("state %.0f %s %s %s", at or self.now_ms(), tostring(state), tostring(self.session_id()),
        tostring(info.server)))
end

-- For an on_state callback: notes the change, for drain() to record. The callback calls nothing
-- on the client: the native module runs due callbacks inside any method call, even _debug(), so
-- the next change's callback would run inside this one and be recorded first.
function W:heard(state)
    self.pending = self.pending or {}
    self.pending[#self.pending + 1] = { state, self.now_ms() }
end

function W:drain()
    local pending = self.pending or {}
    self.pending = {}
    for _, change in ipairs(pending) do self:record_state(change[1], change[2]) end
end

return W
