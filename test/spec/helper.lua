-- Shared helpers of the busted specs: the server under test (env ZK_CONNECT, as
-- scripts/test-lua.sh exports it), unique node paths, clients that are closed after each file,
-- the server's four-letter words, background Lua processes, kazoo calls, clocks.
--
--   local H = require("test.spec.helper")   -- from the repository root
local zk = require("resty.zookeeper")

local H = { zk = zk }

H.connect_string = os.getenv("ZK_CONNECT")
assert(H.connect_string and H.connect_string ~= "",
    "set ZK_CONNECT=host:port of a ZooKeeper server (scripts/test-lua.sh starts one)")

-- The interpreter these specs run under, for child processes.
H.interpreter = type(jit) == "table" and "luajit" or "lua5.1"

-- The repository root (this file is test/spec/helper.lua).
do
    local source = debug.getinfo(1, "S").source:gsub("^@", "")
    H.root = source:match("^(.*)/test/spec/[^/]*$") or "."
end

-- ---- assertion counting ----------------------------------------------------------------------
-- Every luassert assertion that runs is counted (in a table that outlives busted's per-file
-- insulation); H.report_assertions() writes the running total to $ZK_ASSERT_COUNT_FILE.
local namespaces = require("luassert.namespaces")
if not namespaces.__zk_counter then
    namespaces.__zk_counter = { n = 0 }
    for _, assertion in pairs(namespaces.assertion) do
        local callback = assertion.callback
        assertion.callback = function(...)
            namespaces.__zk_counter.n = namespaces.__zk_counter.n + 1
            return callback(...)
        end
    end
end

function H.report_assertions()
    local file = os.getenv("ZK_ASSERT_COUNT_FILE")
    if file and file ~= "" then
        local f = assert(io.open(file, "w"))
        f:write(tostring(namespaces.__zk_counter.n), "\n")
        f:close()
    end
end

-- ---- small utilities --------------------------------------------------------------------------
function H.shell_quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local ok_socket, socket = pcall(require, "socket")
function H.now()
    if ok_socket and socket.gettime then return socket.gettime() end
    local p = io.popen("date +%s.%N")
    local t = tonumber(p:read("*l"))
    p:close()
    return t
end

-- Whether a shell command succeeded (os.execute answers a number in Lua 5.1, a boolean in 5.2).
function H.shell_ok(command)
    local status = os.execute(command)
    return status == 0 or status == true
end

function H.sleep(seconds)
    os.execute("sleep " .. tostring(seconds))
end

-- Polls `fn` every `step` seconds until it returns a true value or `timeout` seconds pass;
-- returns that value (or nil).
function H.wait_until(fn, timeout, step)
    local deadline = H.now() + (timeout or 5)
    while true do
        local value = fn()
        if value then return value end
        if H.now() >= deadline then return nil end
        H.sleep(step or 0.1)
    end
end

local function random_hex(bytes)
    local f = assert(io.open("/dev/urandom", "rb"))
    local raw = f:read(bytes)
    f:close()
    return (raw:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

H.run_id = random_hex(4)
local sequence = 0

-- A path no other test (or run) uses: /lua_spec_<name>_<random>_<n>.
function H.unique(name)
    sequence = sequence + 1
    return string.format("/lua_spec_%s_%s_%d", name or "node", H.run_id, sequence)
end

function H.hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

function H.sorted(list)
    local copy = {}
    for i, v in ipairs(list) do copy[i] = v end
    table.sort(copy)
    return copy
end

-- How many children `path` has as `client` reads them (0 when it is gone).
function H.count_children(client, path)
    local names = client:get_children(path)
    return type(names) == "table" and #names or 0
end

function H.count_keys(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n
end

-- Every return value of a call, with their count: H.pack(f(...)).
function H.pack(...)
    return { n = select("#", ...), ... }
end

-- ---- clients ----------------------------------------------------------------------------------
H.clients = {}

function H.new(options)
    options = options or {}
    if options.connect_string == nil then options.connect_string = H.connect_string end
    if options.timeout == nil then options.timeout = 5000 end
    local client, err = zk.new(options)
    assert(client, "zk.new: " .. tostring(err))
    return client
end

-- A connected client, closed by H.close_all().
function H.client(options)
    local client = H.new(options)
    local ok, err = client:connect()
    assert(ok == true, "connect to " .. H.connect_string .. ": " .. tostring(err))
    H.clients[#H.clients + 1] = client
    return client
end

function H.close_all()
    for _, client in ipairs(H.clients) do client:close() end
    H.clients = {}
end

-- A describe block's client and its own root node (holding `data`, "" by default): made at
-- setup and handed to `assign`; removed, with every client, at teardown.
function H.rooted(name, assign, data)
    -- busted puts setup and teardown in the spec's environment, not in the globals.
    local busted = getfenv(2)
    local client, root
    busted.setup(function()
        client = H.client()
        root = H.unique(name)
        assert(client:create(root, data or ""))
        assign(client, root)
    end)
    busted.teardown(function()
        H.rmr(client, root)
        H.close_all()
        H.report_assertions()
    end)
end

-- Deletes a node and everything below it (errors ignored).
function H.rmr(client, path)
    local children = client:get_children(path)
    if type(children) == "table" then
        for _, name in ipairs(children) do H.rmr(client, path .. "/" .. name) end
    end
    client:delete(path)
end

-- ---- the server's four-letter words -----------------------------------------------------------
-- `word`'s answer from the server under test, or from the one at `address` (host:port).
function H.four_letter(word, address)
    local p = io.popen(H.shell_quote(H.root .. "/scripts/zk-testbed.sh") .. " 4lw "
        .. H.shell_quote(address or H.connect_string) .. " " .. word .. " 2>/dev/null")
    local out = p:read("*a")
    p:close()
    return out
end

-- The sessions the server's `cons` lists: their ids (set) and count. The connection that asks
-- (a four-letter word, no session) has no sid= and is not counted.
function H.sessions()
    local out = H.four_letter("cons")
    local ids, count = {}, 0
    for line in out:gmatch("[^\n]+") do
        local sid = line:match("sid=(0x%x+)")
        if sid then
            ids[sid] = true
            count = count + 1
        end
    end
    return ids, count, out
end

-- Polls `cons` until exactly `expected` sessions are listed (up to `timeout` s); returns the
-- last count seen.
function H.wait_session_count(expected, timeout)
    local count
    H.wait_until(function()
        count = select(2, H.sessions())
        return count == expected
    end, timeout or 5, 0.2)
    return count
end

-- ---- child processes --------------------------------------------------------------------------
-- Runs `command` through the shell; returns its output (stdout and stderr) and exit status.
function H.run(command)
    local p = io.popen("( " .. command .. " ) 2>&1; echo \"__exit=$?\"")
    local out = p:read("*a")
    p:close()
    local status = tonumber(out:match("__exit=(%d+)%s*$"))
    return (out:gsub("__exit=%d+%s*$", "")), status
end

-- Lua code for a child interpreter: the same module search path, the same native library.
local function lua_prelude()
    return string.format("package.path = %q\n", package.path)
end

-- Runs a Lua chunk in a child interpreter (the one running the specs) and waits for it.
function H.run_lua(code)
    return H.run(H.interpreter .. " -e " .. H.shell_quote(lua_prelude() .. code))
end

-- Starts a Lua chunk in a child interpreter after `delay` seconds, in the background. Returns a
-- function that waits (up to `timeout` s) for it to end and returns its exit status.
function H.background_lua(delay, code)
    local marker = os.tmpname()
    os.remove(marker)
    os.execute(string.format("( sleep %s; %s -e %s >/dev/null 2>&1; echo $? > %s ) >/dev/null 2>&1 &",
        tostring(delay), H.interpreter, H.shell_quote(lua_prelude() .. code), H.shell_quote(marker)))
    return function(timeout)
        local status = H.wait_until(function()
            local f = io.open(marker, "r")
            if not f then return nil end
            local text = f:read("*a")
            f:close()
            return tonumber(text)   -- nil while the shell is still writing it
        end, timeout or 15)
        os.remove(marker)
        return status
    end
end

-- Lua code of a second client that connects to the server under test and runs `body` with
-- `c` bound to it; the child exits non-zero when the body raises.
function H.second_client_code(body)
    return string.format([[
local zk = require("resty.zookeeper")
local c = assert(zk.new{ connect_string = %q, timeout = 5000 })
assert(c:connect())
%s
c:close()
]], H.connect_string, body)
end

-- Runs Python code with a started kazoo client `zk` (and `sys`) through test/kazoo_peer.py exec,
-- the suites' one kazoo helper; sys.argv is the connect string, then the extra arguments.
-- Returns the standard output (with kazoo's log lines from stderr appended after it, never
-- mixed in) and the exit status.
function H.kazoo(body, ...)
    local args = { H.shell_quote(H.connect_string), "exec", H.shell_quote(body) }
    for i = 1, select("#", ...) do args[#args + 1] = H.shell_quote(select(i, ...)) end
    local errors = os.tmpname()
    local out, status = H.run("/usr/bin/python3 " .. H.shell_quote(H.root .. "/test/kazoo_peer.py") .. " " .. table.concat(args, " ")
        .. " 2>" .. H.shell_quote(errors))
    local f = io.open(errors, "r")
    local logged = f and f:read("*a") or ""
    if f then f:close() end
    os.remove(errors)
    if logged ~= "" then out = out .. "\n--- stderr ---\n" .. logged end
    return out, status
end

-- H.kazoo for code that prints key=value lines: answers them as a table (and fails the test
-- on a non-zero exit), then the whole output.
function H.kazoo_values(body, ...)
    local out, status = H.kazoo(body, ...)
    assert(status == 0, out)
    local values = {}
    local stdout = out:match("^(.-)\n%-%-%- stderr %-%-%-\n") or out
    for key, value in stdout:gmatch("([%w_]+)=([^\n]*)") do values[key] = value end
    return values, out
end

-- Ends a session from outside: kazoo takes it over with its id and password, then closes it.
-- Answers the id kazoo resumed ("0x...").
function H.end_session(session_id, password)
    return H.kazoo_values([[
import binascii
from kazoo.client import KazooClient
other = KazooClient(hosts=sys.argv[0], client_id=(int(sys.argv[1], 16), binascii.unhexlify(sys.argv[2])), timeout=6)
other.start(timeout=10)
print("resumed=" + hex(other.client_id[0]))
other.stop()
other.close()
]], session_id, H.hex(password)).resumed
end

-- A TCP proxy to the server (a Python process of ours) whose connections can be cut: while cut,
-- it drops every connection and accepts none. Returns { address = "127.0.0.1:port", cut(),
-- restore(), stop() }.
local PROXY = [[
import os, socket, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
flag = sys.argv[2]
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(os.getpid(), listener.getsockname()[1], flush=True)
lock = threading.Lock()
open_sockets = []
def drop(sockets):
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
def pump(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    drop([a, b])
def watch():
    while True:
        if os.path.exists(flag + ".stop"):
            os._exit(0)
        if os.path.exists(flag):
            with lock:
                drop(open_sockets)
                open_sockets.clear()
        time.sleep(0.02)
threading.Thread(target=watch, daemon=True).start()
while True:
    client, _ = listener.accept()
    if os.path.exists(flag):
        drop([client])
        continue
    try:
        upstream = socket.create_connection((host, int(port)))
    except OSError:
        drop([client])
        continue
    with lock:
        open_sockets.extend([client, upstream])
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
]]

function H.proxy()
    local flag = os.tmpname()
    os.remove(flag)
    local info = os.tmpname()
    os.execute("/usr/bin/python3 -c " .. H.shell_quote(PROXY) .. " " .. H.shell_quote(H.connect_string) .. " "
        .. H.shell_quote(flag) .. " > " .. H.shell_quote(info) .. " 2>/dev/null &")
    local started = H.wait_until(function()
        local f = io.open(info, "r")
        local text = f and f:read("*a") or ""
        if f then f:close() end
        local pid, port = text:match("^(%d+) (%d+)\n")
        return pid and { pid = pid, port = port }
    end, 10)
    os.remove(info)
    assert(started, "the proxy did not start")
    local pid, port = started.pid, started.port
    local proxy = { address = "127.0.0.1:" .. port, pid = tonumber(pid) }
    function proxy.cut()
        io.open(flag, "w"):close()
        H.sleep(0.1)   -- the proxy looks every 20 ms
    end
    function proxy.restore()
        os.remove(flag)
    end
    function proxy.stop()
        io.open(flag .. ".stop", "w"):close()
        H.wait_until(function() return not H.shell_ok("kill -0 " .. proxy.pid .. " 2>/dev/null") end, 5)
        os.remove(flag)
        os.remove(flag .. ".stop")
    end
    return proxy
end

-- Captures what `print` is given while fn runs; returns the printed lines.
function H.capture_print(fn)
    local lines = {}
    local original = _G.print
    _G.print = function(...)
        local parts = {}
        for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
        lines[#lines + 1] = table.concat(parts, "\t")
    end
    local ok, err = pcall(fn)
    _G.print = original
    assert(ok, err)
    return lines
end

return H
