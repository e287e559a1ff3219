-- The original client's test harness, unchanged in spirit: connect, exists, get_data, ensure the
-- parent, create a sequential child, list children, delete it, watch, close. It now fires its
-- own watch from a second client so it finishes unattended, and exits non-zero on any failure.
--
--   LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" lua test/test_zk.lua 127.0.0.1:2181 /parent
local zk = require("resty.zookeeper")

local host = arg[1] or "127.0.0.1:2181"
local parent = arg[2] or "/test_zk"
local failures = 0

local function check(ok, what, err)
    if ok then
        print("ok   " .. what)
    else
        failures = failures + 1
        print("FAIL " .. what .. (err and (": " .. tostring(err)) or ""))
    end
    return ok
end

local client, err = zk.new{ connect_string = host, timeout = 5000, session_timeout = 30000, debug = os.getenv("ZK_DEBUG") == "1" }
if not check(client, "new", err) then os.exit(1) end

local ok
ok, err = client:connect()
if not check(ok, "connect to " .. host, err) then os.exit(1) end
print("session id: " .. tostring(client.session_id) .. ", timeout: " .. tostring(client.session_timeout))

local exists
exists, err = client:exists("/")
check(exists == true, "exists /", err)

local data
data, err = client:get_data("/zookeeper")
check(data ~= nil, "get_data /zookeeper", err)

exists, err = client:exists(parent)
check(exists ~= nil, "exists " .. parent, err)
if not exists then
    local created
    created, err = client:create(parent, "", "persistent")
    check(created == parent, "create parent " .. parent, err)
end

local child
child, err = client:create(parent .. "/child-", "payload", "ephemeral", true)
check(child and child:match("^" .. parent:gsub("%p", "%%%0") .. "/child%-%d%d%d%d%d%d%d%d%d%d$"), "create sequential child", err)

local children
children, err = client:get_children(parent)
local found = false
for _, name in ipairs(children or {}) do
    if child and parent .. "/" .. name == child then found = true end
end
check(found, "get_children lists " .. tostring(child), err)

data, err = client:get_data(child or "")
check(data == "payload", "get_data of the child", err)

ok, err = client:delete(child or "", -1)
check(ok == true, "delete the child", err)
exists = client:exists(child or "/")
check(exists == false, "the child is gone")

-- watch: this session waits on the parent's children; a second client, in a second process
-- started in the background, creates a child half a second later.
local interpreter = arg[-1] or "lua"
local other = parent .. "/from-second-client"
local script = string.format([[
local zk = require("resty.zookeeper")
local c = assert(zk.new{ connect_string = %q, timeout = 5000 })
assert(c:connect())
c:create(%q, "", "ephemeral")
c:close()
]], host, other)
local command = string.format("(sleep 0.5; %s -e %q >/dev/null 2>&1) &", interpreter, script)
local status = os.execute(command)
check(status == 0 or status == true, "start the second client")

local event
event, err = client:watch(parent, "get_children")
check(event and event.type == 4 and event.state == 3 and event.path == parent,
    "watch fired: type=" .. tostring(event and event.type) .. " state=" .. tostring(event and event.state)
    .. " path=" .. tostring(event and event.path), err)

ok, err = client:close()
check(ok == true, "close", err)
ok, err = client:close()
check(ok == true, "close again")
check(select(2, client:exists("/")) == "not connected", "calls after close say not connected")

if failures > 0 then
    print(failures .. " check(s) failed")
    os.exit(1)
end
print("all checks passed")
