-- Handlers of bench/nginx/run.sh (conf: bench/nginx/nginx.conf.in). Every ZooKeeper variant
-- answers 200 with the 100 bytes it read, after checking them against DATA; on any failure it
-- answers 500 and counts the error message in the `bench_stats` shared dict (GET /stats lists
-- the counts, GET /stats?reset=1 clears them), so that an error is never measured as a success.
--
--   /shared    zk.shared():get_data(path)                 (one session per worker, made in init_worker)
--   /ours      zk.new, connect, get_data, close           (a session per request, our module)
--   /original  the same with bench/nginx/lua/original_client.lua (the original's approach)
--   /dict      discovery.members(dict, members_path)      (mirrored by worker 0; no round trip)
--   /plain     no ZooKeeper work (the ceiling of nginx + Lua here)
--   /sid       a session of original_client, opened and closed: its id (ZooKeeper numbers
--              sessions in sequence, so two probes tell how many sessions were made between)
local zk = require "resty.zookeeper"
local discovery = require "resty.zookeeper.discovery"
local original = require "original_client"

local ngx = ngx
local tostring = tostring

local _M = {}

-- What run.sh writes into the znode and into each member: 100 bytes.
local DATA = string.rep("0123456789", 10)
_M.DATA = DATA
local MEMBERS = 10

local conf

--- init_by_lua (master): { zk = "127.0.0.1:port", path =, members_path =, timeout =, session_timeout = }
function _M.configure(c)
    conf = c
    conf.host, conf.port = c.zk:match("^([^:]+):(%d+)$")
    conf.port = tonumber(conf.port)
end

local function count_error(what)
    local stats = ngx.shared.bench_stats
    local ok = stats:incr(what, 1, 0)
    if not ok then ngx.log(ngx.ERR, "bench: ", what) end
end

--- init_worker_by_lua: the worker's shared client; worker 0 also runs the members mirror.
function _M.init_worker()
    local client, err = zk.shared{
        connect_string = conf.zk, timeout = conf.timeout, session_timeout = conf.session_timeout,
    }
    if not client then
        ngx.log(ngx.ERR, "bench: zk.shared: ", err)
        count_error("init_worker: zk.shared: " .. tostring(err))
        return
    end
    if ngx.worker.id() == 0 then
        local ok, merr = discovery.mirror{ client = client, path = conf.members_path, dict = "bench_members", data = true }
        if not ok then
            ngx.log(ngx.ERR, "bench: mirror: ", merr)
            count_error("init_worker: mirror: " .. tostring(merr))
        end
    end
end

local function fail(variant, err)
    count_error(variant .. ": " .. tostring(err))
    ngx.status = 500
    ngx.say(variant, ": ", tostring(err))
end

local function check(variant, data)
    if data ~= DATA then
        return fail(variant, "wrong data (" .. #data .. " bytes)")
    end
    ngx.print(data)
end

function _M.shared()
    local client, err = zk.shared()
    if not client then return fail("shared", err) end
    local data
    data, err = client:get_data(conf.path)
    if not data then return fail("shared", "get_data: " .. tostring(err)) end
    return check("shared", data)
end

function _M.ours()
    local client, err = zk.new{ timeout = conf.timeout, session_timeout = conf.session_timeout }
    if not client then return fail("ours", "new: " .. tostring(err)) end
    local ok
    ok, err = client:connect(conf.zk)
    if not ok then
        client:close()
        return fail("ours", "connect: " .. tostring(err))
    end
    local data, gerr = client:get_data(conf.path)
    local closed, cerr = client:close()
    if not data then return fail("ours", "get_data: " .. tostring(gerr)) end
    if not closed then return fail("ours", "close: " .. tostring(cerr)) end
    return check("ours", data)
end

function _M.original()
    local client = original.new{ timeout = conf.timeout, session_timeout = conf.session_timeout }
    local ok, err = client:connect(conf.host, conf.port)
    if not ok then return fail("original", err) end
    local data, gerr = client:get_data(conf.path)
    local closed, cerr = client:close()
    if not data then return fail("original", "get_data: " .. tostring(gerr)) end
    if not closed then return fail("original", "close: " .. tostring(cerr)) end
    return check("original", data)
end

function _M.dict()
    local members, err = discovery.members("bench_members", conf.members_path)
    if not members then return fail("dict", err) end
    if #members ~= MEMBERS then return fail("dict", #members .. " members, expected " .. MEMBERS) end
    local first = members[1]
    if first.name ~= "m00" then return fail("dict", "first member " .. tostring(first.name)) end
    return check("dict", first.data or "")
end

function _M.plain()
    ngx.print(DATA)
end

function _M.sid()
    local client = original.new{ timeout = conf.timeout, session_timeout = conf.session_timeout }
    local ok, err = client:connect(conf.host, conf.port)
    if not ok then return fail("sid", err) end
    local sid = client.session_id
    ok, err = client:close()
    if not ok then return fail("sid", err) end
    ngx.say(sid)
end

function _M.stats()
    local stats = ngx.shared.bench_stats
    if ngx.var.arg_reset then
        stats:flush_all()
        stats:flush_expired()
        return ngx.say("reset")
    end
    for _, key in ipairs(stats:get_keys(0)) do
        ngx.say(stats:get(key), "\t", key)
    end
end

return _M
