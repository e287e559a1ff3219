-- The contract with the original pure-Lua client (/work/shared/compat.md), row by row: the
-- module, every call of the client table, the bullet points under it, and the original's
-- defects that must stay fixed.
local H = require("test.spec.helper")
local zk = H.zk

local CONTRACT_METHODS = {
    { "exists", { "/" } },
    { "get_data", { "/" } },
    { "create", { "/lua_spec_never", "", "persistent", false } },
    { "get_children", { "/" } },
    { "delete", { "/lua_spec_never" } },
    { "watch", { "/" } },
    { "add_auth", { "digest", "u:p" } },
}

describe("contract: the module", function()
    teardown(H.report_assertions)

    it("has _VERSION 1.0.0", function()
        assert.are.equal("string", type(zk._VERSION))
        assert.are.equal("1.0.0", zk._VERSION)
    end)

    it("has ZOO_OPEN_ACL_UNSAFE = { { perms = 0x1f, scheme = 'world', id = 'anyone' } }", function()
        assert.are.same({ { perms = 0x1f, scheme = "world", id = "anyone" } }, zk.ZOO_OPEN_ACL_UNSAFE)
        assert.are.equal(1, H.count_keys(zk.ZOO_OPEN_ACL_UNSAFE))
        assert.are.equal(3, H.count_keys(zk.ZOO_OPEN_ACL_UNSAFE[1]))
        assert.are.equal(31, zk.ZOO_OPEN_ACL_UNSAFE[1].perms)
    end)

    it("is the same table under resty.zookeeper, zookeeper and zk_connection", function()
        assert.is_true(rawequal(zk, require("zookeeper")))
        assert.is_true(rawequal(zk, require("zk_connection")))
        assert.are.equal("function", type(zk.new))
    end)

    it("loads in a fresh interpreter with only LUA_PATH set, under all three names", function()
        local out, status = H.run("cd " .. H.shell_quote(H.root) .. " && env -u LUA_CPATH "
            .. "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' " .. H.interpreter .. " -e "
            .. H.shell_quote([[
local a, b, c = require("resty.zookeeper"), require("zookeeper"), require("zk_connection")
io.write(a._VERSION, " ", tostring(rawequal(a, b) and rawequal(b, c)), " ", type(a.new))]]))
        assert.are.equal(0, status)
        assert.are.equal("1.0.0 true function", out)
    end)
end)

describe("contract: zk.new", function()
    teardown(H.report_assertions)

    it("has the defaults 127.0.0.1:2181, 3000 ms, 30000 ms, debug off", function()
        for _, client in ipairs({ zk.new(), zk.new({}) }) do
            assert.are.equal("userdata", type(client))
            local d = client:_debug()
            assert.are.equal("127.0.0.1:2181", d.connect_string)
            assert.are.equal(30000, d.session_timeout)
            assert.are.equal("not_connected", d.session_state)
            assert.are.equal(0, d.xid)
            assert.is_false(d.auth_set)
            assert.is_nil(d.session_id)
            assert.are.equal("127.0.0.1:2181", client.connect_string)
            assert.is_nil(client.session_id)
            assert.is_nil(client.session_timeout)
            assert.is_nil(client.session_passwd)
        end
    end)

    it("waits 3000 ms by default for a connect that cannot succeed", function()
        local client = zk.new({ connect_string = "127.0.0.1:1" })
        local started = H.now()
        local ok, err = client:connect()
        local elapsed = H.now() - started
        assert.is_nil(ok)
        assert.are.equal("connect failed: timeout", err)
        assert.is_true(elapsed >= 2.8 and elapsed < 4.5, "elapsed " .. elapsed)
        client:close()
    end)

    it("keeps the options it is given", function()
        local client = zk.new({ connect_string = H.connect_string, timeout = 1234, session_timeout = 4567, debug = false })
        local d = client:_debug()
        assert.are.equal(H.connect_string, d.connect_string)
        assert.are.equal(4567, d.session_timeout)
        assert.are.equal(H.connect_string, client.connect_string)
    end)

    it("does no network I/O", function()
        local _, before, text_before = H.sessions()
        local connections_before = select(2, text_before:gsub("\n /", ""))
        local started = H.now()
        local clients = {}
        for i = 1, 5 do clients[i] = zk.new({ connect_string = H.connect_string }) end
        local unreachable = zk.new({ connect_string = "10.255.255.1:2181" })
        assert.is_true(H.now() - started < 0.5)
        local _, after, text_after = H.sessions()
        assert.are.equal(before, after)
        assert.are.equal(connections_before, select(2, text_after:gsub("\n /", "")))
        assert.are.equal("not_connected", unreachable:session_state())
    end)

    it("answers nil, err for bad options", function()
        assert.are.same({ n = 2, nil, "timeout must be a positive number of milliseconds" }, H.pack(zk.new({ timeout = -1 })))
        assert.are.same({ n = 2, nil, "session_timeout must be a positive number of milliseconds" },
            H.pack(zk.new({ session_timeout = 0 })))
        assert.are.same({ n = 2, nil, "connect_string must be a string" }, H.pack(zk.new({ connect_string = 5 })))
        assert.are.same({ n = 2, nil, "debug must be a boolean" }, H.pack(zk.new({ debug = "yes" })))
    end)
end)

describe("contract: connect", function()
    teardown(function() H.close_all(); H.report_assertions() end)

    it("returns true and exposes the session", function()
        local client = H.new()
        assert.are.same({ n = 1, true }, H.pack(client:connect()))
        H.clients[#H.clients + 1] = client
        assert.are.equal("connected", client:session_state())
        assert.are.equal(H.connect_string, client.connect_string)
        assert.is_truthy(client.session_id:match("^0x%x+$"))
        assert.are.equal(30000, client.session_timeout)
        assert.are.equal(16, #client.session_passwd)
        -- connecting again keeps the session
        local sid = client.session_id
        assert.is_true(client:connect())
        assert.are.equal(sid, client.session_id)
    end)

    it("takes the connect string and session timeout as arguments", function()
        local client = zk.new({ connect_string = "127.0.0.1:1", timeout = 5000 })
        assert.is_true(client:connect(H.connect_string, 4000))
        H.clients[#H.clients + 1] = client
        assert.are.equal(H.connect_string, client.connect_string)
        assert.are.equal(4000, client.session_timeout)
        assert.is_true(client:exists("/"))
    end)

    it("fails with 'empty connect string'", function()
        assert.are.same({ n = 3, nil, "empty connect string", -8 }, H.pack(zk.new({ connect_string = "" }):connect()))
        assert.are.same({ n = 3, nil, "empty connect string", -8 }, H.pack(zk.new():connect("")))
        assert.are.same({ n = 3, nil, "empty connect string", -8 }, H.pack(zk.new():connect("  ")))
    end)

    it("fails with 'connect failed: ...' on a closed port", function()
        local client = zk.new({ connect_string = "127.0.0.1:1", timeout = 1000 })
        local ok, err = client:connect()
        assert.is_nil(ok)
        assert.are.equal("connect failed: timeout", err)
        assert.is_truthy(err:find("^connect failed: "))
        assert.are.same({ n = 3, nil, "not connected", -1001 }, H.pack(client:exists("/")))
        assert.is_true(client:close())
    end)
end)

describe("contract: the client's calls", function()
    local c, other, root

    setup(function()
        c = H.client()
        other = H.client()
        root = H.unique("contract")
        assert(c:create(root, "", "persistent"))
    end)

    teardown(function()
        H.rmr(other, root)
        H.close_all()
        H.report_assertions()
    end)

    it("set_timeout(ms) returns nothing and bounds the blocking watch", function()
        local client = H.client()
        assert.are.equal(0, select("#", client:set_timeout(300)))
        local started = H.now()
        assert.are.same({ n = 3, nil, "timeout", -7 }, H.pack(client:watch(root)))
        local elapsed = H.now() - started
        assert.is_true(elapsed >= 0.25 and elapsed < 2, "elapsed " .. elapsed)
        assert.are.equal(0, select("#", client:set_timeout(5000)))
        assert.is_true(client:exists(root))
    end)

    it("add_auth(digest) returns true and grants access to a digest-protected node", function()
        local path = root .. "/auth"
        assert.are.equal(path, c:create(path, "secret", "persistent", false, { acl = { zk.digest_acl("alice", "pw") } }))
        local client = H.client()
        assert.is_false(client:_debug().auth_set)
        assert.are.same({ n = 3, nil, "zk error code: -102", -102 }, H.pack(client:get_data(path)))
        assert.are.same({ n = 1, true }, H.pack(client:add_auth("digest", "alice:pw")))
        assert.is_true(client:_debug().auth_set)
        assert.are.equal("secret", client:get_data(path))
    end)

    it("add_auth answers 'auth failed, err=<code>' for a scheme the server refuses", function()
        local client = H.client()
        assert.are.same({ n = 3, nil, "auth failed, err=-115", -115 }, H.pack(client:add_auth("no-such-scheme", "x")))
        assert.are.equal("auth_failed", client:session_state())
        assert.are.same({ n = 3, nil, "authentication failed", -115 }, H.pack(client:exists("/")))
    end)

    it("exists answers true or false", function()
        assert.are.same({ n = 1, true }, H.pack(c:exists("/")))
        assert.are.same({ n = 1, true }, H.pack(c:exists(root)))
        assert.are.same({ n = 1, false }, H.pack(c:exists(root .. "/missing")))
    end)

    it("get_data answers the data, \"\" for an empty node, or 'node does not exist'", function()
        assert.are.equal(root .. "/data", c:create(root .. "/data", "hello world", "persistent", false))
        assert.are.same({ n = 1, "hello world" }, H.pack(c:get_data(root .. "/data")))
        assert.are.equal(root .. "/empty", c:create(root .. "/empty", "", "persistent", false))
        assert.are.same({ n = 1, "" }, H.pack(c:get_data(root .. "/empty")))
        local binary = "a\0b\255\1" .. string.rep("z", 1000)
        assert.are.equal(root .. "/binary", c:create(root .. "/binary", binary))
        assert.are.equal(binary, c:get_data(root .. "/binary"))
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:get_data(root .. "/missing")))
    end)

    it("create makes a persistent node by default (mode nil or 'persistent')", function()
        assert.are.same({ n = 1, root .. "/p1" }, H.pack(c:create(root .. "/p1", "1")))
        assert.are.same({ n = 1, root .. "/p2" }, H.pack(c:create(root .. "/p2", "2", "persistent", false)))
        for _, name in ipairs({ "p1", "p2" }) do
            local _, stat = c:get(root .. "/" .. name)
            assert.are.equal("0x0", stat.ephemeral_owner)
        end
        assert.are.equal("2", other:get_data(root .. "/p2"))
    end)

    it("create makes an ephemeral node, owned by the session and gone after close()", function()
        local client = H.client()
        local path = root .. "/eph"
        assert.are.same({ n = 1, path }, H.pack(client:create(path, "e", "ephemeral", false)))
        local _, stat = other:get(path)
        assert.are.equal(client.session_id, stat.ephemeral_owner)
        assert.is_true(other:exists(path))
        assert.is_true(client:close())
        assert.is_false(other:exists(path))
    end)

    it("create appends a 10-digit counter when sequential", function()
        local first = c:create(root .. "/seq-", "s", "persistent", true)
        assert.is_truthy(first:match("^" .. root:gsub("%p", "%%%0") .. "/seq%-%d%d%d%d%d%d%d%d%d%d$"), first)
        local second = c:create(root .. "/seq-", "s", "persistent", true)
        assert.are.equal(tonumber(first:sub(-10)) + 1, tonumber(second:sub(-10)))
        assert.are.equal(#first, #second)
        local eph = c:create(root .. "/eseq-", "s", "ephemeral", true)
        assert.is_truthy(eph:match("/eseq%-%d%d%d%d%d%d%d%d%d%d$"), eph)
        local _, stat = c:get(eph)
        assert.are.equal(c.session_id, stat.ephemeral_owner)
    end)

    it("create fails with the original's messages", function()
        assert.are.same({ n = 3, nil, "parent node does not exist", -101 }, H.pack(c:create(root .. "/no/such/parent", "")))
        assert.are.equal(root .. "/dup", c:create(root .. "/dup", ""))
        assert.are.same({ n = 3, nil, "node already exists", -110 }, H.pack(c:create(root .. "/dup", "")))
        assert.are.same({ n = 3, nil, "invalid path", -8 }, H.pack(c:create("no-slash", "")))
        assert.are.same({ n = 3, nil, "invalid path", -8 }, H.pack(c:create(root .. "/", "")))
        assert.are.same({ n = 3, nil, "node already exists", -110 }, H.pack(c:create("/", "")))
    end)

    it("get_children answers the names, {} for a leaf, or 'node does not exist'", function()
        local dir = root .. "/dir"
        assert(c:create(dir, ""))
        for _, name in ipairs({ "b", "a", "c" }) do assert(c:create(dir .. "/" .. name, "")) end
        local children = c:get_children(dir)
        assert.are.same({ "a", "b", "c" }, H.sorted(children))
        assert.are.equal(3, H.count_keys(children))
        assert.are.same({ n = 1, {} }, H.pack(c:get_children(dir .. "/a")))
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:get_children(root .. "/missing")))
        local top = c:get_children("/")
        local found = false
        for _, name in ipairs(top) do found = found or ("/" .. name == root) end
        assert.is_true(found)
    end)

    it("delete honours the version and answers 'bad version' / 'node does not exist'", function()
        local path = root .. "/del"
        assert(c:create(path, "v0"))
        assert(c:set_data(path, "v1"))  -- version 1 now
        assert.are.same({ n = 3, nil, "bad version", -103 }, H.pack(c:delete(path, 0)))
        assert.are.same({ n = 3, nil, "bad version", -103 }, H.pack(c:delete(path, 7)))
        assert.is_true(c:exists(path))
        assert.are.same({ n = 1, true }, H.pack(c:delete(path, 1)))
        assert.is_false(c:exists(path))
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:delete(path)))
        assert(c:create(path, ""))
        assert(c:set_data(path, "x"))
        assert.are.same({ n = 1, true }, H.pack(c:delete(path)))      -- default -1: any version
        assert(c:create(path, ""))
        assert.are.same({ n = 1, true }, H.pack(c:delete(path, -1)))
    end)

    describe("watch", function()
        local function watched(path, kind, change)
            local wait = H.background_lua(0.5, H.second_client_code(change))
            local event, err
            if kind then event, err = c:watch(path, kind) else event, err = c:watch(path) end
            assert.are.equal(0, wait())
            return event, err
        end

        it("kind 'exists' (the default) hears a creation: type 1", function()
            local path = root .. "/w-created"
            local event, err = watched(path, nil, string.format("assert(c:create(%q, 'x'))", path))
            assert.is_nil(err)
            assert.are.same({ type = 1, state = 3, path = path }, event)
        end)

        it("kind 'exists' hears a data change: type 3", function()
            local path = root .. "/w-exists"
            assert(c:create(path, "x"))
            local event = watched(path, "exists", string.format("assert(c:set_data(%q, 'y'))", path))
            assert.are.same({ type = 3, state = 3, path = path }, event)
        end)

        it("kind 'get_data' hears a data change (type 3) and a deletion (type 2)", function()
            local path = root .. "/w-data"
            assert(c:create(path, "x"))
            local event = watched(path, "get_data", string.format("assert(c:set_data(%q, 'y'))", path))
            assert.are.same({ type = 3, state = 3, path = path }, event)
            event = watched(path, "get_data", string.format("assert(c:delete(%q))", path))
            assert.are.same({ type = 2, state = 3, path = path }, event)
        end)

        it("kind 'get_children' hears a new child: type 4", function()
            local path = root .. "/w-children"
            assert(c:create(path, ""))
            local event = watched(path, "get_children", string.format("assert(c:create(%q, '', 'ephemeral'))", path .. "/kid"))
            assert.are.same({ type = 4, state = 3, path = path }, event)
        end)

        it("answers 'invalid watch kind: <kind>'", function()
            assert.are.same({ n = 3, nil, "invalid watch kind: x", -8 }, H.pack(c:watch(root, "x")))
            assert.are.same({ n = 3, nil, "invalid watch kind: children", -8 }, H.pack(c:watch(root, "children")))
        end)

        it("answers nil, err when the node of a get_data watch is missing", function()
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:watch(root .. "/missing", "get_data")))
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:watch(root .. "/missing", "get_children")))
        end)
    end)

    it("answers 'zk error code: <n>' for other server errors (NoAuth -102, NotEmpty -111)", function()
        local locked = root .. "/locked"
        assert(c:create(locked, "x", "persistent", false, { acl = { zk.digest_acl("bob", "pw") } }))
        assert.are.same({ n = 3, nil, "zk error code: -102", -102 }, H.pack(other:get_data(locked)))
        assert.are.same({ n = 3, nil, "zk error code: -102", -102 }, H.pack(other:get_children(locked)))
        local parent = root .. "/full"
        assert(c:create(parent, ""))
        assert(c:create(parent .. "/child", ""))
        assert.are.same({ n = 3, nil, "zk error code: -111", -111 }, H.pack(c:delete(parent)))
    end)

    it("close() answers true, also when already closed; then every call says 'not connected'", function()
        local client = H.client()
        assert.are.same({ n = 1, true }, H.pack(client:close()))
        assert.are.same({ n = 1, true }, H.pack(client:close()))
        for _, call in ipairs(CONTRACT_METHODS) do
            local name, args = call[1], call[2]
            assert.are.same({ n = 3, nil, "not connected", -1001 }, H.pack(client[name](client, unpack(args))), name)
        end
        assert.are.equal("closed", client:session_state())
    end)

    it("every call before connect says 'not connected'", function()
        local client = H.new()
        for _, call in ipairs(CONTRACT_METHODS) do
            local name, args = call[1], call[2]
            assert.are.same({ n = 3, nil, "not connected", -1001 }, H.pack(client[name](client, unpack(args))), name)
        end
        assert.are.same({ n = 1, true }, H.pack(client:close()))
        assert.are.equal("not_connected", client:session_state())
    end)
end)

describe("contract: session fields", function()
    teardown(function() H.close_all(); H.report_assertions() end)

    it("session_id is the exact 0x... id the server lists in cons", function()
        local client = H.client()
        local sid = client.session_id
        assert.are.equal("string", type(sid))
        assert.is_truthy(sid:match("^0x[0-9a-f]+$"), sid)
        assert.are.equal(sid, tostring(client.session_id))
        local ids = H.sessions()
        assert.is_true(ids[sid] == true, "cons lists " .. sid)
        assert.are.equal(sid, client:_debug().session_id)
        -- a second session differs
        local second = H.client()
        assert.are_not.equal(sid, second.session_id)
        assert.is_true(H.sessions()[second.session_id] == true)
    end)

    it("session_timeout is the negotiated one", function()
        assert.are.equal(1500, H.client({ session_timeout = 1500 }).session_timeout)
        assert.are.equal(60000, H.client({ session_timeout = 120000 }).session_timeout)  -- the server's max
        assert.are.equal(1000, H.client({ session_timeout = 500 }).session_timeout)      -- the server's min
        assert.are.equal(30000, H.client().session_timeout)
    end)

    it("session_passwd is the 16-byte password", function()
        local client = H.client()
        assert.are.equal("string", type(client.session_passwd))
        assert.are.equal(16, #client.session_passwd)
        assert.are_not.equal(string.rep("\0", 16), client.session_passwd)
        assert.are_not.equal(H.client().session_passwd, client.session_passwd)
    end)

    it("fields set by the user are kept (the client behaves like the original table)", function()
        local client = H.client()
        client.my_field = 42
        assert.are.equal(42, client.my_field)
        assert.is_nil(client.no_such_field)
        assert.are.equal("function", type(client.exists))
    end)
end)

describe("contract: _debug()", function()
    teardown(function() H.close_all(); H.report_assertions() end)

    it("has session_state, session_id, session_timeout, connect_string, xid, auth_set, last_zxid, server", function()
        local client = H.client({ session_timeout = 6000 })
        local root = H.unique("debug")
        local d = client:_debug()
        assert.are.equal(8, H.count_keys(d))
        assert.are.equal("connected", d.session_state)
        assert.are.equal(client.session_id, d.session_id)
        assert.are.equal(6000, d.session_timeout)
        assert.are.equal(H.connect_string, d.connect_string)
        assert.are.equal(0, d.xid)
        assert.is_false(d.auth_set)
        assert.is_truthy(d.last_zxid:match("^0x%x+$"))
        assert.are.equal(H.connect_string, d.server)

        assert(client:exists("/"))
        assert.are.equal(1, client:_debug().xid)
        assert.are.equal(root, client:create(root, ""))
        local after_create = client:_debug()
        assert.are.equal(2, after_create.xid)
        local _, stat = client:get(root)
        assert.are.equal(stat.czxid, after_create.last_zxid)
        assert.is_true(client:add_auth("digest", "a:b"))
        assert.is_true(client:_debug().auth_set)
        assert.is_true(client:delete(root))
        assert(client:close())
        assert.are.equal("closed", client:_debug().session_state)
    end)

    it("debug = true prints the handshake, its length and hex, with the password masked", function()
        local client = H.new({ debug = true })
        local lines = H.capture_print(function() assert(client:connect()) end)
        H.clients[#H.clients + 1] = client
        local sid_hex = client.session_id:sub(3)
        sid_hex = string.rep("0", 16 - #sid_hex) .. sid_hex
        assert.are.equal(3, #lines)
        assert.are.equal("[resty.zookeeper] handshake payload length: 37", lines[1])
        -- protocolVersion 0, timeOut, sessionId, the password's length 16, the password masked,
        -- the readOnly byte
        assert.are.equal("[resty.zookeeper] handshake payload hex: 00000000"
            .. string.format("%08x", client.session_timeout) .. sid_hex .. "00000010"
            .. string.rep("*", 32) .. "00 (password masked)", lines[2])
        assert.are.equal("[resty.zookeeper] session_id=" .. client.session_id .. " timeout="
            .. client.session_timeout, lines[3])
        local hex = H.hex(client.session_passwd)
        for _, line in ipairs(lines) do
            assert.is_nil(line:find(hex, 1, true))
            assert.is_nil(line:find(client.session_passwd, 1, true))
        end
        -- later calls print nothing
        assert.are.same({}, H.capture_print(function() assert(client:exists("/")) end))
    end)

    it("debug = false (the default) prints nothing", function()
        local client = H.new()
        local lines = H.capture_print(function() assert(client:connect()) end)
        H.clients[#H.clients + 1] = client
        assert.are.same({}, lines)
    end)
end)

describe("contract: the original's defects stay fixed", function()
    teardown(function() H.close_all(); H.report_assertions() end)

    it("pings: an idle session outlives its timeout", function()
        local client = H.client({ session_timeout = 2000 })
        local sid = client.session_id
        assert.are.equal(2000, client.session_timeout)
        H.sleep(3.5)
        assert.is_true(client:exists("/"))
        assert.are.equal(sid, client.session_id)
        assert.are.equal("connected", client:session_state())
        assert.is_true(H.sessions()[sid] == true)
    end)

    it("reads every host of the connect string", function()
        local client = H.new({ connect_string = "127.0.0.1:1," .. H.connect_string, timeout = 8000 })
        assert.is_true(client:connect())
        H.clients[#H.clients + 1] = client
        assert.are.equal(H.connect_string, client:_debug().server)
        assert.is_true(client:exists("/"))
    end)

    it("honours a chroot in the connect string", function()
        local admin = H.client()
        local chroot = H.unique("chroot")
        assert(admin:create(chroot, ""))
        local client = H.client({ connect_string = H.connect_string .. chroot })
        assert.are.equal("/inside", client:create("/inside", "in"))
        assert.are.equal("in", admin:get_data(chroot .. "/inside"))
        assert.are.same({ "inside" }, client:get_children("/"))
        assert.is_true(client:delete("/inside"))
        assert.is_true(admin:delete(chroot))
    end)
end)
