-- A plain blocking LuaSocket client, the approach of the original pure-Lua ZooKeeper client:
-- the handshake written by hand, then one request written and one reply read at a time
-- (receive(4) for the length, receive(len) for the payload).
--
--   lua5.1|luajit bench/luasocket_bench.lua HOST:PORT exists|get|set N SECONDS
--
-- Stops after N ops or SECONDS, whichever comes first. Paths: BENCH_PATH (default /bench/node),
-- BENCH_SET_PATH (default /bench/set, 100-byte value). Prints one JSON line.
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. package.path
local util = require("benchutil")
local socket = require("socket")

local cs, workload, n, limit = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
if not (cs and workload and n and limit) then
    io.stderr:write("usage: luasocket_bench.lua HOST:PORT exists|get|set N SECONDS\n")
    os.exit(2)
end
if workload ~= "exists" and workload ~= "get" and workload ~= "set" then
    io.stderr:write("luasocket_bench: unsupported workload " .. workload .. "\n")
    os.exit(2)
end
local path = os.getenv("BENCH_PATH") or "/bench/node"
local set_path = os.getenv("BENCH_SET_PATH") or "/bench/set"

local floor, char, byte = math.floor, string.char, string.byte
local function int32(v)
    if v < 0 then v = v + 4294967296 end
    return char(floor(v / 16777216) % 256, floor(v / 65536) % 256, floor(v / 256) % 256, v % 256)
end
local function int64(v) return int32(floor(v / 4294967296)) .. int32(v % 4294967296) end
local function get32(s, i)
    local a, b, c, d = byte(s, i, i + 3)
    local v = ((a * 256 + b) * 256 + c) * 256 + d
    if v >= 2147483648 then v = v - 4294967296 end
    return v
end
local function ustring(s) return int32(#s) .. s end
local function frame(payload) return int32(#payload) .. payload end

local host, port = cs:match("^([^,]+):(%d+)")
local sock = assert(socket.tcp())
sock:settimeout(10)
assert(sock:connect(host, tonumber(port)))
sock:setoption("tcp-nodelay", true)

local function read_frame()
    local h = assert(sock:receive(4))
    local len = get32(h, 1)
    return assert(sock:receive(len))
end

-- ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly
assert(sock:send(frame(int32(0) .. int64(0) .. int32(30000) .. int64(0) .. ustring(string.rep("\0", 16)) .. "\0")))
local resp = read_frame()
assert(get32(resp, 5) > 0, "session refused")

local xid = 0
local value = string.rep("x", 100)
local function call(opcode, body)
    xid = xid + 1
    assert(sock:send(frame(int32(xid) .. int32(opcode) .. body)))
    local r = read_frame()
    if get32(r, 1) ~= xid then error("unexpected xid " .. get32(r, 1)) end
    return get32(r, 13) == 0, r
end

local ops = {
    exists = function() return (call(3, ustring(path) .. "\0")) end,
    get = function() return (call(4, ustring(path) .. "\0")) end,
    set = function() return (call(5, ustring(set_path) .. ustring(value) .. int32(-1))) end,
}
local res = util.run_sequential("luasocket-" .. util.interpreter(), workload, n, limit, ops[workload])
call(-11, "")   -- closeSession
sock:close()
util.emit(util.OPS_KEYS, res)
