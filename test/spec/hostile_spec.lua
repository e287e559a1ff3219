-- Hostile use: wrong types for every argument of every method, NUL bytes and invalid paths,
-- huge data, cyclic and deep tables, calls after close, in coroutines and in callbacks,
-- callbacks that raise, '.' instead of ':', clients left to the garbage collector. After all of
-- it the process is alive, the client still works, and the server lists no session of ours.
local H = require("test.spec.helper")
local zk = H.zk

local hostile = 0   -- how many hostile calls were made

-- The message of an error without the "file:line: " Lua may put in front.
local function strip(message)
    return (tostring(message):gsub("^[^\n]-:%d+: ", ""))
end

-- f(...) must raise exactly `expected`.
local function raises(expected, f, ...)
    hostile = hostile + 1
    local ok, err = pcall(f, ...)
    assert.is_false(ok, expected)
    assert.are.equal(expected, strip(err))
end

-- f(...) must return exactly the values in `expected` (a H.pack table).
local function returns(expected, f, ...)
    hostile = hostile + 1
    assert.are.same(expected, H.pack(f(...)))
end

local BAD_VALUES = {
    { nil, "string expected, got nil" },
    { true, "string expected, got boolean" },
    { {}, "string expected, got table" },
    { function() end, "string expected, got function" },
    { io.stdout, "unsupported value of type userdata" },
    { coroutine.create(function() end), "unsupported value of type thread" },
}

-- Every method with a path, and valid values for its other arguments.
local PATH_METHODS = {
    { "exists" }, { "get_data" }, { "get_children" }, { "delete" }, { "watch", "exists" },
    { "create", "data" }, { "get" }, { "stat" }, { "children" }, { "set_data", "x" },
    { "get_acl" }, { "set_acl", zk.ZOO_OPEN_ACL_UNSAFE }, { "sync" }, { "get_all_children_number" },
    { "add_watch", "persistent", function() end }, { "remove_watches", "any" }, { "check_watches", "any" },
}

describe("hostile calls", function()
    local c, other, root, baseline

    setup(function()
        -- The sessions already on the server (other spec files close theirs; clients they left
        -- to the collector go now): wait until the count is steady, then remember it.
        collectgarbage()
        collectgarbage()
        local last = -1
        H.wait_until(function()
            local count = select(2, H.sessions())
            local steady = count == last
            last = count
            return steady
        end, 10, 0.3)
        baseline = last
        c = H.new()
        assert(c:connect())
        other = H.new()
        assert(other:connect())
        root = H.unique("hostile")
        assert(c:create(root, ""))
    end)

    teardown(function()
        if other then other:close() end
        if c then c:close() end
        H.report_assertions()
    end)

    it("wrong types for the path of every method raise 'bad argument #2'", function()
        for _, spec in ipairs(PATH_METHODS) do
            local name = spec[1]
            for _, bad in ipairs(BAD_VALUES) do
                raises("bad argument #2 to '" .. name .. "' (" .. bad[2] .. ")", c[name], c, bad[1], spec[2], spec[3])
            end
        end
        assert.is_true(c:exists("/"))
    end)

    it("NUL bytes in paths raise", function()
        for _, spec in ipairs(PATH_METHODS) do
            local name = spec[1]
            raises("bad argument #2 to '" .. name .. "' (string contains a NUL byte)", c[name], c, root .. "\0/x", spec[2], spec[3])
        end
        raises("bad argument #2 to 'get_ephemerals' (string contains a NUL byte)", c.get_ephemerals, c, "/\0")
        raises("bad argument #2 to 'connect' (string contains a NUL byte)", c.connect, c, "127.0.0.1:1\0")
        raises("bad argument #2 to 'add_auth' (string contains a NUL byte)", c.add_auth, c, "digest\0", "a:b")
        -- data may hold NUL bytes
        assert.are.equal(root .. "/nul", c:create(root .. "/nul", "a\0b"))
        assert.are.equal("a\0b", c:get_data(root .. "/nul"))
    end)

    it("invalid paths answer 'invalid path' (or nil, message, -8)", function()
        local invalid = { "", "a", "/a/", "//", "/.", "/a/..", "/a/.", "/a\1b", "/\127", "/\255", root .. "/../x" }
        for _, path in ipairs(invalid) do
            for _, name in ipairs({ "exists", "get_data", "get_children", "delete" }) do
                returns({ n = 3, nil, "invalid path", -8 }, c[name], c, path)
            end
            returns({ n = 3, nil, "invalid path", -8 }, c.create, c, path, "x")
            returns({ n = 3, nil, "invalid path", -8 }, c.watch, c, path, "get_data")
            for _, name in ipairs({ "get", "stat", "children", "get_acl", "sync", "get_all_children_number" }) do
                hostile = hostile + 1
                local r = H.pack(c[name](c, path))
                assert.are.equal(3, r.n)
                assert.is_nil(r[1])
                assert.are.equal("invalid path", r[2]:sub(1, 12), r[2])
                assert.are.equal(-8, r[3])
            end
        end
        -- numbers are read as paths
        returns({ n = 3, nil, "invalid path", -8 }, c.exists, c, 5)
        returns({ n = 3, nil, "invalid path \"5\": path must start with / character", -8 }, c.get, c, 5)
        -- a path of 1.2 MB is more than the server takes
        hostile = hostile + 1
        local r = H.pack(c:get(string.rep("/a", 600000)))
        assert.are.equal(3, r.n)
        assert.is_truthy(r[2]:match("^request too large %(%d+ bytes, the server's limit is 1048575%)$"), r[2])
        assert.are.equal(-8, r[3])
        assert.is_true(c:exists("/"))
    end)

    it("wrong values for every other argument raise", function()
        local f = function() end
        local cases = {
            { "bad argument #3 to 'create' (string expected, got table)", "create", root .. "/x", {} },
            { "bad argument #3 to 'create' (string expected, got boolean)", "create", root .. "/x", true },
            { "bad argument #3 to 'create' (unsupported value of type userdata)", "create", root .. "/x", io.stdout },
            { "bad argument #4 to 'create' (string expected, got table)", "create", root .. "/x", "", {} },
            { "bad argument #4 to 'create' (invalid mode \"5\": persistent, ephemeral, container or persistent_ttl expected)",
                "create", root .. "/x", "", 5 },
            { "bad argument #4 to 'create' (invalid mode \"bogus\": persistent, ephemeral, container or persistent_ttl expected)",
                "create", root .. "/x", "", "bogus" },
            { "bad argument #5 to 'create' (boolean expected, got string)", "create", root .. "/x", "", "persistent", "yes" },
            { "bad argument #5 to 'create' (boolean expected, got number)", "create", root .. "/x", "", "persistent", 1 },
            { "bad argument #6 to 'create' (table expected, got string)", "create", root .. "/x", "", "persistent", false, "x" },
            { "bad argument #6 to 'create' (opts.acl: table expected, got string)", "create", root .. "/x", "", "persistent", false, { acl = "x" } },
            { "bad argument #6 to 'create' (opts.acl: a non-empty array of ACL entries expected)",
                "create", root .. "/x", "", "persistent", false, { acl = {} } },
            { "bad argument #3 to 'delete' (number expected, got string)", "delete", root .. "/x", "x" },
            { "bad argument #3 to 'delete' (integer between -2147483648 and 2147483647 expected, got 1.5)", "delete", root .. "/x", 1.5 },
            { "bad argument #3 to 'delete' (integer between -2147483648 and 2147483647 expected, got 2147483648)", "delete", root .. "/x", 2 ^ 31 },
            { "bad argument #3 to 'set_data' (string expected, got table)", "set_data", root, {} },
            { "bad argument #4 to 'set_data' (number expected, got table)", "set_data", root, "", {} },
            { "bad argument #4 to 'set_data' (integer between -2147483648 and 2147483647 expected, got nan)", "set_data", root, "", 0 / 0 },
            { "bad argument #3 to 'set_acl' (table expected, got nil)", "set_acl", root },
            { "bad argument #3 to 'set_acl' (a non-empty array of ACL entries expected)", "set_acl", root, {} },
            { "bad argument #3 to 'set_acl' (ACL entries are { perms = 0..31, scheme = string, id = string })",
                "set_acl", root, { { perms = 99, scheme = "world", id = "anyone" } } },
            { "bad argument #3 to 'set_acl' (ACL entries are { perms = 0..31, scheme = string, id = string })", "set_acl", root, { "x" } },
            { "bad argument #3 to 'set_acl' (ACL entries are { perms = 0..31, scheme = string, id = string })", "set_acl", root, { {} } },
            { "bad argument #3 to 'set_acl' (a non-empty array of ACL entries expected)",
                "set_acl", root, { [1] = zk.ZOO_OPEN_ACL_UNSAFE[1], [3] = zk.ZOO_OPEN_ACL_UNSAFE[1] } },
            { "bad argument #3 to 'watch' (string expected, got table)", "watch", root, {} },
            { "bad argument #3 to 'add_watch' (\"persistent\" or \"persistent_recursive\" expected, got \"bogus\")", "add_watch", root, "bogus", f },
            { "bad argument #4 to 'add_watch' (function expected, got nil)", "add_watch", root, "persistent" },
            { "bad argument #4 to 'add_watch' (function expected, got string)", "add_watch", root, "persistent", "f" },
            { "bad argument #3 to 'remove_watches' (\"data\", \"children\" or \"any\" expected, got \"bogus\")", "remove_watches", root, "bogus" },
            { "bad argument #4 to 'remove_watches' (boolean expected, got string)", "remove_watches", root, "any", "yes" },
            { "bad argument #3 to 'check_watches' (string expected, got table)", "check_watches", root, {} },
            { "bad argument #3 to 'get' (function or nil expected, got string)", "get", root, "not a function" },
            { "bad argument #3 to 'stat' (function or nil expected, got table)", "stat", root, {} },
            { "bad argument #3 to 'children' (function or nil expected, got boolean)", "children", root, true },
            { "bad argument #2 to 'get_ephemerals' (string expected, got table)", "get_ephemerals", {} },
            { "bad argument #2 to 'on_state' (function expected, got nil)", "on_state" },
            { "bad argument #2 to 'on_state' (function expected, got string)", "on_state", "f" },
            { "bad argument #2 to 'dispatch' (number expected, got string)", "dispatch", "x" },
            { "bad argument #2 to 'dispatch' (integer between 0 and 86400000 expected, got -1)", "dispatch", -1 },
            { "bad argument #2 to 'dispatch' (integer between 0 and 86400000 expected, got inf)", "dispatch", 1 / 0 },
            { "bad argument #2 to 'set_timeout' (number expected, got nil)", "set_timeout" },
            { "bad argument #2 to 'set_timeout' (number expected, got string)", "set_timeout", "abc" },
            { "bad argument #2 to 'set_timeout' (integer between 1 and 86400000 expected, got 0)", "set_timeout", 0 },
            { "bad argument #2 to 'set_timeout' (integer between 1 and 86400000 expected, got nan)", "set_timeout", 0 / 0 },
            { "bad argument #2 to 'set_timeout' (integer between 1 and 86400000 expected, got 1.5)", "set_timeout", 1.5 },
            { "bad argument #2 to 'add_auth' (string expected, got nil)", "add_auth" },
            { "bad argument #3 to 'add_auth' (string expected, got table)", "add_auth", "digest", {} },
            { "bad argument #2 to 'connect' (string expected, got table)", "connect", {} },
            { "bad argument #3 to 'connect' (number expected, got string)", "connect", nil, "x" },
            { "bad argument #3 to 'connect' (integer between 1 and 86400000 expected, got -1)", "connect", nil, -1 },
            { "bad argument #2 to 'multi' (a non-empty array of operations expected)", "multi" },
            { "bad argument #2 to 'multi' (a non-empty array of operations expected)", "multi", {} },
            { "bad argument #2 to 'multi' (table expected, got string)", "multi", "x" },
            { "bad argument #2 to 'multi' (operation 1: unknown op \"\" for multi (create, delete, set_data, check))", "multi", { 1 } },
            { "bad argument #2 to 'multi' (operation 1: unknown op \"bogus\" for multi (create, delete, set_data, check))",
                "multi", { { op = "bogus", path = root } } },
            { "bad argument #2 to 'multi' (operation 2 needs a path)", "multi", { { op = "check", path = root }, { op = "create" } } },
            { "bad argument #2 to 'multi' (operation 1 path: string expected, got table)", "multi", { { op = "delete", path = {} } } },
            { "bad argument #2 to 'multi' (operation 1 version: number expected, got string)",
                "multi", { { op = "delete", path = root, version = "x" } } },
            { "bad argument #2 to 'multi' (operation 1 acl: table expected, got string)", "multi", { { op = "create", path = root .. "/x", acl = "x" } } },
            { "bad argument #2 to 'multi' (operation 1: invalid create mode)", "multi", { { op = "create", path = root .. "/x", mode = "persistent_ttl" } } },
            { "bad argument #2 to 'multi' (a non-empty array of operations expected)",
                "multi", { [1] = { op = "check", path = root }, [3] = { op = "check", path = root } } },
            { "bad argument #2 to 'multi_read' (operation 1: unknown op \"create\" for multi_read (get_data, get_children))",
                "multi_read", { { op = "create", path = root .. "/x" } } },
            { "bad argument #2 to 'multi_read' (a non-empty array of operations expected)", "multi_read", { op = "get_data", path = root } },
        }
        for _, case in ipairs(cases) do
            raises(case[1], c[case[2]], c, select(3, unpack(case, 1, 9)))
        end
        assert.is_false(c:exists(root .. "/x"))
        assert.are.same({ n = 3, nil, "invalid watch kind: 5", -8 }, H.pack(c:watch(root, 5)))
        -- extra arguments are ignored
        returns({ n = 1, true }, c.exists, c, root, 1, "two", {}, false)
        local many = {}
        for i = 1, 200 do many[i] = i end
        returns({ n = 1, true }, c.exists, c, root, unpack(many))
    end)

    it("bad options for zk.new and the module helpers", function()
        raises("bad argument #1 to 'new' (unsupported value of type userdata)", zk.new, { connect_string = io.stdout })
        returns({ n = 2, nil, "connect_string must be a string" }, zk.new, { connect_string = {} })
        returns({ n = 2, nil, "timeout must be a positive number of milliseconds" }, zk.new, { timeout = "x" })
        returns({ n = 2, nil, "timeout must be a positive number of milliseconds" }, zk.new, { timeout = 1.5 })
        returns({ n = 2, nil, "session_timeout must be a positive number of milliseconds" }, zk.new, { session_timeout = 1 / 0 })
        returns({ n = 2, nil, "debug must be a boolean" }, zk.new, { debug = 1 })
        hostile = hostile + 1
        local ok, err = pcall(zk.new, "x")
        assert.is_false(ok)
        assert.is_truthy(err:find("bad argument #1 to '", 1, true), err)
        assert.is_truthy(err:find("(table expected, got string)", 1, true), err)
        raises("bad argument #1 to 'digest_id' (string expected, got nil)", zk.digest_id)
        raises("bad argument #2 to 'digest_id' (string expected, got nil)", zk.digest_id, "a")
        raises("bad argument #1 to 'digest_id' (string expected, got table)", zk.digest_id, {}, "b")
        raises("bad argument #1 to 'digest_acl' (unsupported value of type userdata)", zk.digest_acl, io.stdout, "b")
        raises("bad argument #3 to 'digest_acl' (integer between 0 and 31 expected, got 99)", zk.digest_acl, "a", "b", 99)
        raises("bad argument #3 to 'digest_acl' (number expected, got string)", zk.digest_acl, "a", "b", "x")
    end)

    it("cyclic, deep and oddly keyed tables for acl and multi raise", function()
        local cyclic = {}
        cyclic[1] = cyclic
        local deep = {}
        local cursor = deep
        for _ = 1, 40 do cursor[1] = {}; cursor = cursor[1] end
        local too_deep = "table nested too deeply (or cyclic)"
        raises("bad argument #3 to 'set_acl' (" .. too_deep .. ")", c.set_acl, c, root, cyclic)
        raises("bad argument #3 to 'set_acl' (" .. too_deep .. ")", c.set_acl, c, root, deep)
        raises("bad argument #2 to 'multi' (" .. too_deep .. ")", c.multi, c, cyclic)
        raises("bad argument #2 to 'multi' (" .. too_deep .. ")", c.multi, c, { { op = "create", path = root .. "/x", acl = deep } })
        raises("bad argument #2 to 'multi_read' (" .. too_deep .. ")", c.multi_read, c, deep)
        raises("bad argument #6 to 'create' (" .. too_deep .. ")", c.create, c, root .. "/x", "", "persistent", false, { acl = cyclic })
        raises("bad argument #3 to 'create' (" .. too_deep .. ")", c.create, c, root .. "/x", deep)
        raises("bad argument #3 to 'set_acl' (table keys must be numbers or strings)", c.set_acl, c, root, { [print] = 1 })
        raises("bad argument #3 to 'set_acl' (table keys must be numbers or strings)", c.set_acl, c, root, { [true] = 1 })
        raises("bad argument #2 to 'multi' (table keys must be numbers or strings)", c.multi, c, { [{}] = 1 })
        raises("bad argument #3 to 'set_acl' (unsupported value of type userdata)", c.set_acl, c, root, { { perms = 31, scheme = "world", id = io.stdout } })
        raises("bad argument #2 to 'multi' (unsupported value of type thread)", c.multi, c, { { op = "check", path = root, version = coroutine.create(function() end) } })
        -- a table nested 30 deep is fine to pass, and useless
        local ok_deep = {}
        cursor = ok_deep
        for _ = 1, 29 do cursor[1] = {}; cursor = cursor[1] end
        raises("bad argument #3 to 'set_acl' (ACL entries are { perms = 0..31, scheme = string, id = string })", c.set_acl, c, root, ok_deep)
        assert.are.same(zk.ZOO_OPEN_ACL_UNSAFE, (c:get_acl(root)))
    end)

    it("2 MiB of data is refused clearly, and the session survives", function()
        local sid = c.session_id
        local big = string.rep("x", 2 * 1024 * 1024)
        local pattern = "^request too large %(%d+ bytes, the server's limit is 1048575%)$"
        hostile = hostile + 3
        local created = H.pack(c:create(root .. "/big", big))
        assert.are.equal(3, created.n)
        assert.are.equal(-8, created[3])
        assert.is_nil(created[1])
        assert.is_truthy(created[2]:match(pattern), created[2])
        assert(c:create(root .. "/big", "small"))
        local set = H.pack(c:set_data(root .. "/big", big))
        assert.are.equal(3, set.n)
        assert.is_truthy(set[2]:match(pattern), set[2])
        assert.are.equal(-8, set[3])
        local multi = H.pack(c:multi({ { op = "set_data", path = root .. "/big", data = big } }))
        assert.are.equal(4, multi.n)
        assert.is_nil(multi[1])
        assert.is_truthy(multi[2]:match(pattern), multi[2])
        assert.are.equal(-8, multi[3])
        assert.is_nil(multi[4])
        -- the connection was not dropped: same session, still listed, still answering
        assert.are.equal(sid, c.session_id)
        assert.are.equal("connected", c:session_state())
        assert.are.equal("small", c:get_data(root .. "/big"))
        assert.is_true(H.sessions()[sid] == true)
        -- just under the limit goes through
        local near = string.rep("y", 1000 * 1000)
        assert.are.equal(1000000, c:set_data(root .. "/big", near).data_length)
        assert.are.equal(near, c:get_data(root .. "/big"))
    end)

    it("a string over 64 MiB is refused before it is copied", function()
        local huge = string.rep("z", 64 * 1024 * 1024 + 1)
        raises("bad argument #3 to 'set_data' (string too large)", c.set_data, c, root, huge)
        raises("bad argument #2 to 'exists' (string too large)", c.exists, c, huge)
        huge = nil
        collectgarbage()
        assert.is_true(c:exists(root))
    end)

    it("methods called with '.' instead of ':' raise", function()
        local cases = {
            { c.exists, { root }, "(resty.zookeeper.client expected, got string)" },
            { c.get_data, {}, "(resty.zookeeper.client expected, got no value)" },
            { c.create, { io.stdout, root .. "/x" }, "(resty.zookeeper.client expected, got userdata)" },
            { c.close, { {} }, "(resty.zookeeper.client expected, got table)" },
            { c.dispatch, { 10 }, "(resty.zookeeper.client expected, got number)" },
            { c.connect, { zk }, "(resty.zookeeper.client expected, got table)" },
        }
        for _, case in ipairs(cases) do
            hostile = hostile + 1
            local ok, err = pcall(case[1], unpack(case[2]))
            assert.is_false(ok)
            assert.is_truthy(err:find("bad argument #1 to '", 1, true), err)
            assert.is_truthy(err:find(case[3], 1, true), err)
        end
        -- another client's method works on this client: methods are shared
        assert.is_true(other.exists(c, root))
        -- odd keys read as nil
        assert.is_nil(c[1])
        assert.is_nil(c[true])
        assert.is_nil(c.__field)
        assert.is_nil(zk.exists)
        assert.are.equal("locked", getmetatable(c))
        hostile = hostile + 1
        local ok, err = pcall(setmetatable, c, {})
        assert.is_false(ok)
        assert.is_truthy(err:find("(table expected, got userdata)", 1, true), err)
    end)

    it("calls after close answer 'not connected' and still check their arguments", function()
        local client = H.new()
        assert(client:connect())
        assert(client:close())
        for _, name in ipairs({ "exists", "get_data", "get_children", "delete", "get", "stat", "children", "get_acl", "sync",
            "get_all_children_number", "remove_watches", "check_watches" }) do
            hostile = hostile + 1
            local r = H.pack(client[name](client, root))
            assert.is_nil(r[1])
            assert.are.equal("not connected", r[2])
        end
        returns({ n = 3, nil, "not connected", -1001 }, client.create, client, root .. "/x", "")
        returns({ n = 3, nil, "not connected", -1001 }, client.set_data, client, root, "")
        returns({ n = 4, nil, "not connected", -1001 }, client.multi, client, { { op = "check", path = root } })
        returns({ n = 3, nil, "not connected", -1001 }, client.add_watch, client, root, "persistent", function() end)
        returns({ n = 3, nil, "not connected", -1001 }, client.watch, client, root)
        returns({ n = 1, 0 }, client.dispatch, client, 10)
        returns({ n = 1, true }, client.close, client)
        raises("bad argument #2 to 'exists' (string expected, got nil)", client.exists, client)
        raises("bad argument #2 to 'get' (unsupported value of type userdata)", client.get, client, io.stdout)
    end)

    it("calls inside coroutines interleave on one client", function()
        local function worker(tag)
            return coroutine.create(function()
                local made = {}
                for i = 1, 10 do
                    made[i] = c:create(root .. "/co-" .. tag .. "-" .. i, tag .. i)
                    coroutine.yield(i)
                end
                return made
            end)
        end
        local a, b = worker("a"), worker("b")
        local results = {}
        for _ = 1, 11 do
            for tag, co in pairs({ a = a, b = b }) do
                hostile = hostile + 1
                local ok, value = coroutine.resume(co)
                assert.is_true(ok, value)
                if coroutine.status(co) == "dead" then results[tag] = value end
            end
        end
        for _, tag in ipairs({ "a", "b" }) do
            assert.are.equal(10, #results[tag])
            for i = 1, 10 do
                assert.are.equal(root .. "/co-" .. tag .. "-" .. i, results[tag][i])
                assert.are.equal(tag .. i, other:get_data(results[tag][i]))
            end
        end
        -- a coroutine that errors in the middle of its calls leaves the client usable
        local co = coroutine.create(function()
            assert(c:exists(root))
            error("coroutine failed on purpose")
        end)
        local ok, err = coroutine.resume(co)
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find("coroutine failed on purpose", 1, true))
        assert.is_true(c:exists(root))
    end)

    it("a callback that raises: the host survives", function()
        local path = root .. "/raise"
        assert(c:create(path, ""))
        local later = {}
        hostile = hostile + 2
        assert(c:get(path, function() error("hostile_spec raises in a callback on purpose (expected on stderr)") end))
        assert(c:add_watch(path, "persistent", function(e) later[#later + 1] = e.type end))
        assert(other:set_data(path, "x"))
        local ok, ran = pcall(c.dispatch, c, 2000)
        assert.is_true(ok)
        ran = ran + c:dispatch(200)
        assert.are.equal(2, ran)
        assert.are.same({ 3 }, later)
        assert.is_true(c:remove_watches(path, "any"))
        c:dispatch(100)
    end)

    it("a callback that calls methods of its client, closes it and reconnects it", function()
        local client = H.new()
        assert(client:connect())
        local path = root .. "/reenter"
        assert(c:create(path, ""))
        local seen = {}
        hostile = hostile + 1
        assert(client:get(path, function()
            seen.data = client:get_data(path)
            seen.closed = client:close()
            seen.after_close = { client:exists(path) }
            seen.reconnected = client:connect()
            seen.again = client:get_data(path)
            seen.other = other:exists(path)
        end))
        local sid = client.session_id
        assert(other:set_data(path, "v"))
        assert.are.equal(1, client:dispatch(3000))
        assert.are.same({ data = "v", closed = true, after_close = { nil, "not connected", -1001 }, reconnected = true, again = "v", other = true }, seen)
        assert.are_not.equal(sid, client.session_id)
        assert.is_true(client:exists(path))
        assert(client:close())
    end)

    it("functions passed where they are not kept are let go", function()
        local weak = setmetatable({}, { __mode = "v" })
        do
            local f1, f2, f3 = function() end, function() end, function() end
            weak[1], weak[2], weak[3] = f1, f2, f3
            raises("bad argument #2 to 'exists' (string expected, got function)", c.exists, c, f1)
            raises("bad argument #3 to 'add_watch' (\"persistent\" or \"persistent_recursive\" expected, got \"x\")", c.add_watch, c, root, "x", f2)
            returns({ n = 1, true }, c.exists, c, root, f3)
        end
        collectgarbage()
        collectgarbage()
        assert.is_nil(weak[1])
        assert.is_nil(weak[2])
        assert.is_nil(weak[3])
    end)

    it("reloading the module leaves existing clients working", function()
        local saved = {}
        for _, name in ipairs({ "resty.zookeeper", "zookeeper", "zk_connection" }) do
            saved[name] = package.loaded[name]
            package.loaded[name] = nil
        end
        local fresh = require("resty.zookeeper")
        for name, module in pairs(saved) do package.loaded[name] = module end
        assert.is_false(rawequal(fresh, zk))
        assert.are.equal("1.0.0", fresh._VERSION)
        local client = fresh.new({ connect_string = H.connect_string, timeout = 5000 })
        assert.is_true(client:connect())
        assert.is_true(client:exists(root))
        assert.is_true(c:exists(root))
        assert.is_true(client:close())
    end)

    it("open clients left to the garbage collector end their sessions", function()
        local dir = root .. "/gc"
        assert(c:create(dir, ""))
        local ids = {}
        local weak = setmetatable({}, { __mode = "k" })
        do
            for i = 1, 8 do
                local client = H.new()
                assert(client:connect())
                ids[i] = client.session_id
                weak[client] = true
                assert(client:create(dir .. "/e" .. i, "", "ephemeral"))
                assert(client:add_watch(dir, "persistent_recursive", function() end))
                assert(client:get(dir, function() end))
                assert(client:on_state(function() end))
                if i % 2 == 0 then assert(client:exists(dir .. "/e1")) end
            end
            -- and some that never connected, or closed
            for _ = 1, 3 do weak[zk.new({ connect_string = H.connect_string })] = true end
            local closed = H.new()
            assert(closed:connect())
            assert(closed:close())
            weak[closed] = true
        end
        hostile = hostile + 12
        collectgarbage()
        collectgarbage()
        assert.are.equal(0, H.count_keys(weak))
        local gone = H.wait_until(function()
            local listed = H.sessions()
            for _, id in ipairs(ids) do if listed[id] then return false end end
            return true
        end, 10, 0.2)
        assert.is_true(gone == true, "the collected clients' sessions are still listed")
        assert.are.same({}, c:get_children(dir))
    end)

    it("closing twice, and closing clients that never connected", function()
        local never = H.new()
        returns({ n = 1, true }, never.close, never)
        returns({ n = 1, true }, never.close, never)
        local client = H.new()
        assert(client:connect())
        returns({ n = 1, true }, client.close, client)
        returns({ n = 1, true }, client.close, client)
        returns({ n = 1, true }, client.close, client)
    end)

    it("after all of it: alive, working, and no session of ours left on the server", function()
        assert.is_true(hostile >= 50, "hostile calls: " .. hostile)
        -- a create/get round trip
        local path = root .. "/round-trip"
        assert.are.equal(path, c:create(path, "still here"))
        assert.are.equal("still here", c:get_data(path))
        assert.are.equal("still here", other:get_data(path))
        assert.is_true(c:delete(path))
        local ids = H.sessions()
        assert.is_true(ids[c.session_id] == true)
        assert.is_true(ids[other.session_id] == true)
        -- with c and other closed, the server is back where it started
        H.rmr(other, root)
        assert.is_true(other:close())
        assert.is_true(c:close())
        other, c = nil, nil
        collectgarbage()
        collectgarbage()
        assert.are.equal(baseline, H.wait_session_count(baseline, 10))
    end)
end)
