-- The calls beyond the original client ("Beyond the original" in the Lua API reference): stat
-- tables, versions, ACLs, create modes, multi, sync, ephemerals, watches, session state. Their
-- failures are `nil, message, code` with ZooKeeper's code.
local H = require("test.spec.helper")
local zk = H.zk

local STAT_FIELDS = {
    "czxid", "mzxid", "pzxid", "ctime", "mtime", "version", "cversion", "aversion",
    "ephemeral_owner", "data_length", "num_children",
}

-- zxids are far below 2^53 on a test server: their value fits a double exactly.
local function zxid(text)
    assert.is_truthy(text:match("^0x%x+$"), text)
    return tonumber(text:sub(3), 16)
end

local function assert_stat(stat)
    assert.are.equal("table", type(stat))
    assert.are.equal(#STAT_FIELDS, H.count_keys(stat))
    for _, field in ipairs({ "czxid", "mzxid", "pzxid", "ephemeral_owner" }) do
        assert.are.equal("string", type(stat[field]), field)
        assert.is_truthy(stat[field]:match("^0x%x+$"), field)
    end
    for _, field in ipairs({ "ctime", "mtime", "version", "cversion", "aversion", "data_length", "num_children" }) do
        assert.are.equal("number", type(stat[field]), field)
    end
end

describe("beyond the original", function()
    local c, other, root

    setup(function()
        c = H.client()
        other = H.client()
        root = H.unique("extended")
        assert(c:create(root, "root-data"))
    end)

    teardown(function()
        H.rmr(other, root)
        H.close_all()
        H.report_assertions()
    end)

    describe("module helpers", function()
        it("digest_id is user:base64(sha1(user:password))", function()
            -- base64(sha1("alice:secret")), computed by Python's hashlib
            assert.are.equal("alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=", zk.digest_id("alice", "secret"))
        end)

        it("digest_acl is { perms = perms or 0x1f, scheme = 'digest', id = digest_id }", function()
            assert.are.same({ perms = 31, scheme = "digest", id = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" },
                zk.digest_acl("alice", "secret"))
            assert.are.same({ perms = 1, scheme = "digest", id = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=" },
                zk.digest_acl("alice", "secret", 1))
        end)
    end)

    describe("get / stat / children", function()
        it("get answers data and an exact stat", function()
            local before = os.time() * 1000
            local path = root .. "/g"
            assert.are.equal(path, c:create(path, "twelve bytes"))
            local data, stat = c:get(path)
            assert.are.equal("twelve bytes", data)
            assert_stat(stat)
            assert.are.equal(stat.czxid, stat.mzxid)
            assert.are.equal(stat.czxid, stat.pzxid)
            assert.are.equal(stat.ctime, stat.mtime)
            assert.is_true(stat.ctime >= before - 5000 and stat.ctime <= os.time() * 1000 + 5000)
            assert.are.equal(0, stat.version)
            assert.are.equal(0, stat.cversion)
            assert.are.equal(0, stat.aversion)
            assert.are.equal("0x0", stat.ephemeral_owner)
            assert.are.equal(12, stat.data_length)
            assert.are.equal(0, stat.num_children)
            -- the other client sees the same stat
            local data2, stat2 = other:get(path)
            assert.are.equal(data, data2)
            assert.are.same(stat, stat2)
        end)

        it("stat tracks versions, children and the exact 64-bit ephemeral owner", function()
            local path = root .. "/s"
            assert(c:create(path, "a"))
            local first = c:stat(path)
            assert_stat(first)
            local changed = c:set_data(path, "bb")
            assert_stat(changed)
            assert.are.equal(1, changed.version)
            assert.are.equal(2, changed.data_length)
            assert.is_true(zxid(changed.mzxid) > zxid(first.mzxid))
            assert.are.equal(first.czxid, changed.czxid)
            local kid = path .. "/kid"
            assert(other:create(kid, "", "ephemeral"))
            local with_child = c:stat(path)
            assert.are.equal(1, with_child.cversion)
            assert.are.equal(1, with_child.num_children)
            local kid_stat = c:stat(kid)
            assert.are.equal(kid_stat.czxid, with_child.pzxid)
            -- the session id needs all 64 bits: as a Lua 5.1 number it would be rounded
            assert.are.equal(other.session_id, kid_stat.ephemeral_owner)
            assert.is_true(zxid(other.session_id) > 2 ^ 53)
            assert.are.same({ n = 1, false }, H.pack(c:stat(root .. "/missing")))
        end)

        it("children answers names and the parent's stat", function()
            local dir = root .. "/ch"
            assert(c:create(dir, "dd"))
            assert(c:create(dir .. "/x", ""))
            assert(c:create(dir .. "/y", ""))
            local names, stat = c:children(dir)
            assert.are.same({ "x", "y" }, H.sorted(names))
            assert_stat(stat)
            assert.are.equal(2, stat.num_children)
            assert.are.equal(2, stat.cversion)
            assert.are.equal(2, stat.data_length)
            assert.are.same(c:stat(dir), stat)
        end)

        it("fail with nil, message, code", function()
            local missing = root .. "/missing"
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:get(missing)))
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:children(missing)))
            local bad = H.pack(c:get("relative"))
            assert.are.equal(3, bad.n)
            assert.is_nil(bad[1])
            assert.are.equal("invalid path \"relative\": path must start with / character", bad[2])
            assert.are.equal(-8, bad[3])
        end)
    end)

    describe("set_data", function()
        it("answers the new stat and honours versions", function()
            local path = root .. "/sd"
            assert(c:create(path, "v0"))
            local s1 = c:set_data(path, "v1", 0)
            assert.are.equal(1, s1.version)
            local s2 = c:set_data(path, "version two")
            assert.are.equal(2, s2.version)
            assert.are.equal(11, s2.data_length)
            local s3 = c:set_data(path, "v3", -1)
            assert.are.equal(3, s3.version)
            assert.are.same({ n = 3, nil, "bad version", -103 }, H.pack(c:set_data(path, "x", 1)))
            assert.are.equal("v3", c:get_data(path))
            local s4 = c:set_data(path, nil)   -- nil data is empty
            assert.are.equal(0, s4.data_length)
            assert.are.equal("", c:get_data(path))
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:set_data(root .. "/missing", "x")))
        end)
    end)

    describe("get_acl / set_acl", function()
        it("round-trips a digest ACL and versions it", function()
            local path = root .. "/acl"
            local acl = { zk.digest_acl("alice", "secret"), { perms = 1, scheme = "world", id = "anyone" } }
            assert.are.equal(path, c:create(path, "guarded", "persistent", false, { acl = acl }))
            -- without READ or ADMIN through the digest, the server hides the digest's hash
            local got, stat = c:get_acl(path)
            assert.are.same({ { perms = 31, scheme = "digest", id = "alice:x" }, acl[2] }, got)
            assert_stat(stat)
            assert.are.equal(0, stat.aversion)
            assert.is_true(c:add_auth("digest", "alice:secret"))
            got = c:get_acl(path)
            assert.are.same(acl, got)
            -- world may read only
            assert.are.equal("guarded", other:get_data(path))
            assert.are.same({ n = 3, nil, "not authenticated", -102 }, H.pack(other:set_data(path, "x")))
            -- set_acl: version 0 matches, then bad version
            local new_acl = { zk.digest_acl("alice", "secret", 31) }
            local s = c:set_acl(path, new_acl, 0)
            assert_stat(s)
            assert.are.equal(1, s.aversion)
            assert.are.same(new_acl, (c:get_acl(path)))
            assert.are.same({ n = 3, nil, "bad version", -103 }, H.pack(c:set_acl(path, new_acl, 0)))
            assert.are.same({ n = 3, nil, "not authenticated", -102 }, H.pack(other:get(path)))
            -- with the digest, the node opens up
            assert.is_true(other:add_auth("digest", "alice:secret"))
            assert.are.equal("guarded", other:get_data(path))
            assert.are.equal(2, other:set_acl(path, zk.ZOO_OPEN_ACL_UNSAFE).aversion)
            assert.are.same(zk.ZOO_OPEN_ACL_UNSAFE, (c:get_acl(path)))
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:get_acl(root .. "/missing")))
        end)

        it("defaults to ZOO_OPEN_ACL_UNSAFE", function()
            local path = root .. "/open"
            assert(c:create(path, ""))
            assert.are.same({ { perms = 31, scheme = "world", id = "anyone" } }, (c:get_acl(path)))
        end)
    end)

    describe("create modes", function()
        it("container", function()
            local path = root .. "/container"
            assert.are.same({ n = 1, path }, H.pack(c:create(path, "c", "container")))
            local data, stat = c:get(path)
            assert.are.equal("c", data)
            -- the server shows containers (and TTL nodes) to clients with owner 0
            assert.are.equal("0x0", stat.ephemeral_owner)
            assert.are.same({ n = 2, false, "bad argument #4 to 'create' (invalid mode \"container\": persistent, "
                .. "ephemeral, container or persistent_ttl expected)" },
                H.pack(pcall(c.create, c, path .. "2", "", "container", true)))
        end)

        it("persistent_ttl needs opts.ttl", function()
            local path = root .. "/ttl"
            assert.are.same({ n = 1, path }, H.pack(c:create(path, "t", "persistent_ttl", false, { ttl = 60000 })))
            assert.are.equal("t", c:get_data(path))
            local seq = c:create(root .. "/ttlseq-", "", "persistent_ttl", true, { ttl = 60000 })
            assert.is_truthy(seq:match("/ttlseq%-%d%d%d%d%d%d%d%d%d%d$"), seq)
            local msg = "a TTL mode needs a ttl between 1 and 1099511627775 ms"
            assert.are.same({ n = 3, nil, msg, -8 }, H.pack(c:create(root .. "/ttl2", "", "persistent_ttl")))
            assert.are.same({ n = 3, nil, msg, -8 }, H.pack(c:create(root .. "/ttl2", "", "persistent_ttl", false, { ttl = 0 })))
            assert.is_false(c:exists(root .. "/ttl2"))
        end)

        it("opts.acl sets the ACL", function()
            local path = root .. "/with-acl"
            local acl = { { perms = 1, scheme = "world", id = "anyone" } }
            assert(c:create(path, "r", "ephemeral", false, { acl = acl }))
            assert.are.same(acl, (c:get_acl(path)))
            assert.are.same({ n = 3, nil, "not authenticated", -102 }, H.pack(c:set_data(path, "w")))
        end)
    end)

    describe("multi", function()
        it("runs a transaction and answers every result", function()
            local m = root .. "/m"
            assert(c:create(m, "m0"))
            local results = c:multi({
                { op = "create", path = m .. "/a", data = "A" },
                { op = "create", path = m .. "/s-", data = "S", sequential = true },
                { op = "set_data", path = m, data = "m1", version = 0 },
                { op = "check", path = m, version = 1 },
                { op = "delete", path = m .. "/a", version = 0 },
            })
            assert.are.equal(5, #results)
            assert.are.same({ type = "create", path = m .. "/a" }, results[1])
            assert.are.equal("create", results[2].type)
            assert.is_truthy(results[2].path:match("^" .. m:gsub("%p", "%%%0") .. "/s%-%d%d%d%d%d%d%d%d%d%d$"))
            assert.are.equal("set_data", results[3].type)
            assert_stat(results[3].stat)
            assert.are.equal(1, results[3].stat.version)
            assert.are.same({ type = "check" }, results[4])
            assert.are.same({ type = "delete" }, results[5])
            assert.are.equal("m1", c:get_data(m))
            assert.is_false(c:exists(m .. "/a"))
            assert.are.equal("S", c:get_data(results[2].path))
        end)

        it("fails as a whole with nil, message, code, results", function()
            local m = root .. "/mfail"
            assert(c:create(m, ""))
            local res, message, code, results = c:multi({
                { op = "create", path = m .. "/first", data = "1" },
                { op = "delete", path = m .. "/missing" },
                { op = "set_data", path = m, data = "never" },
            })
            assert.is_nil(res)
            assert.are.equal(-101, code)
            assert.is_truthy(message:find("failed: node does not exist$"), message)
            assert.are.same({
                { type = "error", code = 0, err = "ok" },
                { type = "error", code = -101, err = "node does not exist" },
                { type = "error", code = -2, err = "runtime inconsistency" },
            }, results)
            assert.is_false(c:exists(m .. "/first"))
            assert.are.equal("", c:get_data(m))
            local r2 = H.pack(c:multi({ { op = "check", path = m, version = 9 } }))
            assert.are.equal(4, r2.n)
            assert.is_nil(r2[1])
            assert.are.equal(-103, r2[3])
            assert.are.same({ { type = "error", code = -103, err = "bad version" } }, r2[4])
        end)

        it("creates containers, ephemerals and ACLs", function()
            local m = root .. "/mmodes"
            assert(c:create(m, ""))
            local acl = { zk.digest_acl("a", "b") }
            local results = c:multi({
                { op = "create", path = m .. "/c", mode = "container" },
                { op = "create", path = m .. "/e", mode = "ephemeral", acl = acl },
            })
            assert.are.equal("create", results[1].type)
            assert.are.equal(m .. "/c", results[1].path)
            assert.are.same({ type = "create", path = m .. "/e" }, results[2])
            assert.are.same({ n = 3, nil, "not authenticated", -102 }, H.pack(c:get_acl(m .. "/e")))
            local a = H.client()
            assert.is_true(a:add_auth("digest", "a:b"))
            assert.are.same(acl, (a:get_acl(m .. "/e")))
            assert.are.equal(c.session_id, c:stat(m .. "/e").ephemeral_owner)
        end)
    end)

    describe("multi_read", function()
        it("answers every read, errors included", function()
            local m = root .. "/mr"
            assert(c:create(m, "parent"))
            assert(c:create(m .. "/k", "kid"))
            local results = c:multi_read({
                { op = "get_data", path = m .. "/k" },
                { op = "get_children", path = m },
                { op = "get_data", path = m .. "/missing" },
                { op = "get_children", path = m .. "/missing" },
            })
            assert.are.equal(4, #results)
            assert.are.equal("get_data", results[1].type)
            assert.are.equal("kid", results[1].data)
            assert.are.same(c:stat(m .. "/k"), results[1].stat)
            assert.are.same({ type = "get_children", children = { "k" } }, results[2])
            assert.are.same({ type = "error", code = -101, err = "node does not exist" }, results[3])
            assert.are.same({ type = "error", code = -101, err = "node does not exist" }, results[4])
        end)
    end)

    describe("sync, get_ephemerals, get_all_children_number, who_am_i", function()
        it("sync answers true", function()
            assert.are.same({ n = 1, true }, H.pack(c:sync(root)))
            assert.are.same({ n = 1, true }, H.pack(c:sync("/")))
            local bad = H.pack(c:sync("bad"))
            assert.are.equal(3, bad.n)
            assert.is_nil(bad[1])
            assert.are.equal(-8, bad[3])
        end)

        it("get_ephemerals lists the session's ephemeral nodes", function()
            local client = H.client()
            local dir = root .. "/ephs"
            assert(c:create(dir, ""))
            assert(client:create(dir .. "/one", "", "ephemeral"))
            assert(client:create(dir .. "/two", "", "ephemeral"))
            assert(c:create(dir .. "/not-mine", "", "ephemeral"))
            assert.are.same({ dir .. "/one", dir .. "/two" }, H.sorted(client:get_ephemerals(dir)))
            assert.are.same({ dir .. "/one", dir .. "/two" }, H.sorted(client:get_ephemerals()))
            assert.are.same({ dir .. "/one" }, client:get_ephemerals(dir .. "/o"))
            assert.are.same({}, client:get_ephemerals("/nothing-here"))
            assert.are.same({ n = 3, nil, "prefix must start with /", -8 }, H.pack(client:get_ephemerals("bad")))
        end)

        it("get_all_children_number counts every descendant", function()
            local dir = root .. "/count"
            assert(c:create(dir, ""))
            assert(c:create(dir .. "/a", ""))
            assert(c:create(dir .. "/a/b", ""))
            assert(c:create(dir .. "/a/b/c", ""))
            assert(c:create(dir .. "/d", ""))
            assert.are.same({ n = 1, 4 }, H.pack(c:get_all_children_number(dir)))
            assert.are.same({ n = 1, 0 }, H.pack(c:get_all_children_number(dir .. "/d")))
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:get_all_children_number(dir .. "/zz")))
        end)

        it("who_am_i lists the session's identities", function()
            local client = H.client()
            assert.are.same({ { scheme = "ip", user = "127.0.0.1" } }, client:who_am_i())
            assert.is_true(client:add_auth("digest", "carol:pw"))
            local ids = client:who_am_i()
            table.sort(ids, function(a, b) return a.scheme < b.scheme end)
            assert.are.same({ { scheme = "digest", user = "carol" }, { scheme = "ip", user = "127.0.0.1" } }, ids)
        end)
    end)

    describe("watches with callbacks", function()
        it("add_watch persistent fires on every change of the node until removed", function()
            local path = root .. "/pw"
            assert(c:create(path, "0"))
            local events = {}
            assert.are.same({ n = 1, true }, H.pack(c:add_watch(path, "persistent", function(e) events[#events + 1] = e end)))
            assert.are.same({ n = 1, true }, H.pack(c:check_watches(path, "data")))
            assert(other:set_data(path, "1"))
            assert(other:set_data(path, "2"))
            assert(other:create(path .. "/kid", ""))
            assert(other:create(path .. "/kid/grandkid", ""))   -- not the node's own child
            assert(other:set_data(path .. "/kid", "x"))         -- nor the node
            assert(other:delete(path .. "/kid/grandkid"))
            assert(other:delete(path .. "/kid"))
            H.wait_until(function() c:dispatch(200); return #events >= 4 end, 5)
            assert.are.equal(0, c:dispatch(300))
            assert.are.same({
                { type = 3, state = 3, path = path },
                { type = 3, state = 3, path = path },
                { type = 4, state = 3, path = path },
                { type = 4, state = 3, path = path },
            }, { events[1], events[2], events[3], events[4] })
            assert.are.equal(4, #events)
            assert.are.same({ n = 1, true }, H.pack(c:remove_watches(path, "any")))
            c:dispatch(100)
            assert.are.same({ type = 7, state = 3, path = path }, events[5])
            assert(other:set_data(path, "3"))
            assert.are.equal(0, c:dispatch(300))
            assert.are.equal(5, #events)
            assert.are.same({ n = 3, nil, "no such watcher", -121 }, H.pack(c:check_watches(path, "any")))
        end)

        it("add_watch persistent_recursive hears every node below", function()
            local path = root .. "/rw"
            assert(c:create(path, ""))
            local events = {}
            assert.is_true(c:add_watch(path, "persistent_recursive", function(e) events[#events + 1] = e end))
            assert(other:create(path .. "/a", ""))
            assert(other:create(path .. "/a/b", ""))
            assert(other:set_data(path .. "/a/b", "x"))
            assert(other:delete(path .. "/a/b"))
            assert(other:set_data(path, "y"))
            H.wait_until(function() c:dispatch(200); return #events >= 5 end, 5)
            assert.are.same({
                { type = 1, state = 3, path = path .. "/a" },
                { type = 1, state = 3, path = path .. "/a/b" },
                { type = 3, state = 3, path = path .. "/a/b" },
                { type = 2, state = 3, path = path .. "/a/b" },
                { type = 3, state = 3, path = path },
            }, events)
            assert.is_true(c:remove_watches(path, "any"))
            c:dispatch(100)
            assert.are.same({ type = 7, state = 3, path = path }, events[6])
            assert.are.equal(6, #events)
        end)

        it("get / stat / children callbacks fire once", function()
            local path = root .. "/once"
            local got, stated, listed = {}, {}, {}
            assert.are.same({ n = 1, false }, H.pack(c:stat(path, function(e) stated[#stated + 1] = e end)))
            assert(other:create(path, ""))
            c:dispatch(2000)
            assert.are.same({ { type = 1, state = 3, path = path } }, stated)
            assert.are.equal("", (c:get(path, function(e) got[#got + 1] = e end)))
            assert.are.same({}, (c:children(path, function(e) listed[#listed + 1] = e end)))
            assert(other:set_data(path, "1"))
            assert(other:create(path .. "/k", ""))
            H.wait_until(function() c:dispatch(200); return #got + #listed >= 2 end, 5)
            assert(other:set_data(path, "2"))
            assert(other:create(path .. "/k2", ""))
            assert.are.equal(0, c:dispatch(300))
            assert.are.same({ { type = 3, state = 3, path = path } }, got)
            assert.are.same({ { type = 4, state = 3, path = path } }, listed)
            assert.are.same({ { type = 1, state = 3, path = path } }, stated)
        end)

        it("remove_watches removes a one-shot watch, whose callback hears the removal", function()
            local path = root .. "/rm"
            assert(c:create(path, ""))
            local events = {}
            assert(c:get(path, function(e) events[#events + 1] = e end))
            assert(c:children(path, function(e) events[#events + 1] = e end))
            assert.are.same({ n = 1, true }, H.pack(c:check_watches(path, "data")))
            assert.are.same({ n = 1, true }, H.pack(c:check_watches(path, "children")))
            assert.are.same({ n = 1, true }, H.pack(c:remove_watches(path, "data")))
            c:dispatch(100)
            assert.are.same({ { type = 5, state = 3, path = path } }, events)
            assert.are.same({ n = 3, nil, "no such watcher", -121 }, H.pack(c:check_watches(path, "data")))
            assert.are.same({ n = 1, true }, H.pack(c:remove_watches(path, "children", true)))
            c:dispatch(100)
            assert.are.same({ type = 6, state = 3, path = path }, events[2])
            -- a local removal leaves the server's watch: removing it there still succeeds
            assert.are.same({ n = 1, true }, H.pack(c:remove_watches(path, "any")))
            assert.are.same({ n = 3, nil, "no such watcher", -121 }, H.pack(c:remove_watches(path, "any")))
            assert(other:set_data(path, "x"))
            assert(other:create(path .. "/k", ""))
            assert.are.equal(0, c:dispatch(300))
            assert.are.equal(2, #events)
        end)
    end)

    describe("get_config", function()
        it("answers the /zookeeper/config node", function()
            local data, stat = c:get_config()
            assert.are.equal("string", type(data))
            assert_stat(stat)
            local data2, stat2 = c:get("/zookeeper/config")
            assert.are.equal(data2, data)
            assert.are.same(stat2, stat)
        end)
    end)

    describe("session state", function()
        it("session_state goes not_connected, connected, closed", function()
            local client = H.new()
            assert.are.equal("not_connected", client:session_state())
            assert(client:connect())
            assert.are.equal("connected", client:session_state())
            assert(client:close())
            assert.are.equal("closed", client:session_state())
            assert(client:connect())
            assert.are.equal("connected", client:session_state())
            assert(client:close())
        end)

        it("session_state says auth_failed when the server refuses a scheme", function()
            local client = H.client()
            assert.are.same({ n = 3, nil, "auth failed, err=-115", -115 }, H.pack(client:add_auth("nope", "x")))
            assert.are.equal("auth_failed", client:session_state())
        end)

        it("on_state callbacks hear 'closed'", function()
            local client = H.client()
            local heard, heard2 = {}, {}
            assert.are.same({ n = 1, true }, H.pack(client:on_state(function(s) heard[#heard + 1] = s end)))
            assert.are.same({ n = 1, true }, H.pack(client:on_state(function(s) heard2[#heard2 + 1] = s end)))
            assert.are.equal(0, client:dispatch(100))
            assert.are.same({}, heard)
            assert(client:close())
            client:dispatch(100)
            assert.are.same({ "closed" }, heard)
            assert.are.same({ "closed" }, heard2)
        end)

        it("one-shot and persistent callbacks hear the session's end", function()
            local client = H.client()
            local path = root .. "/end"
            assert(c:create(path, ""))
            local persistent, once = {}, {}
            assert(client:add_watch(path, "persistent", function(e) persistent[#persistent + 1] = e end))
            assert(client:get(path, function(e) once[#once + 1] = e end))
            assert(client:close())
            client:dispatch(100)
            assert.are.same({ { type = -1, state = 7, path = "" } }, persistent)
            assert.are.same({ { type = -1, state = 7, path = "" } }, once)
        end)
    end)

    describe("dispatch", function()
        it("answers the number of callbacks run, waiting up to ms for the first", function()
            local client = H.client()
            assert.are.same({ n = 1, 0 }, H.pack(client:dispatch()))
            local started = H.now()
            assert.are.same({ n = 1, 0 }, H.pack(client:dispatch(300)))
            local elapsed = H.now() - started
            assert.is_true(elapsed >= 0.25 and elapsed < 2, "elapsed " .. elapsed)
            local path = root .. "/disp"
            assert(c:create(path, ""))
            local n = 0
            for _ = 1, 3 do assert(client:get(path, function() n = n + 1 end)) end
            assert(c:set_data(path, "x"))
            started = H.now()
            local ran = client:dispatch(5000)
            assert.is_true(H.now() - started < 2)
            assert.is_true(ran >= 1)
            ran = ran + client:dispatch(200)
            assert.are.equal(3, ran)
            assert.are.equal(3, n)
        end)
    end)
end)
