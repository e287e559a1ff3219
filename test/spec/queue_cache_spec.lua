-- The queue and the tree cache from Lua (client:queue, client:cache), run by the Swift recipe
-- machines against the real server: Curator's qn- items taken once each, waiting takes, and
-- a cache that follows the tree through changes, a lost connection and an expired session.
local H = require("test.spec.helper")
local zk = H.zk

describe("queue", function()
    local c, root
    H.rooted("queue", function(client, path) c, root = client, path end)

    it("takes items in the order they were put, as qn- persistent sequential nodes, binary-safe", function()
        local q = c:queue(root .. "/fifo")
        local first = assert(q:put("one\0bytes"))
        assert.is_truthy(first:match("/fifo/qn%-%d%d%d%d%d%d%d%d%d%d$"), first)
        assert(q:put("two"))
        assert(q:put(""))
        local _, stat = c:get(first)
        assert.are.equal("0x0", stat.ephemeral_owner, "persistent")
        assert.are.equal("one\0bytes", q:take())
        assert.are.equal("two", q:take(1000))
        assert.are.equal("", q:take(1000))
        assert.are.same({}, c:get_children(root .. "/fifo"))
    end)

    it("answers nil, 'timeout' when nothing comes in time, and waits for an item put meanwhile", function()
        local path = root .. "/wait"
        local q = c:queue(path)
        local started = H.now()
        local data, err, code = q:take(300)
        local waited = H.now() - started
        assert.is_nil(data)
        assert.are.equal("timeout", err)
        assert.are.equal(zk.errors.OPERATIONTIMEOUT, code)
        assert.is_true(waited >= 0.25 and waited < 3, "waited " .. waited)
        local done = H.background_lua(0.5, H.second_client_code(string.format([[assert(c:queue(%q):put("late"))]], path)))
        started = H.now()
        assert.are.equal("late", q:take(10000))
        assert.is_true(H.now() - started > 0.3, "took before the put")
        assert.are.equal(0, done(15))
    end)

    it("hands every item to exactly one of several takers", function()
        local path = root .. "/many"
        local feeder = c:queue(path)
        for i = 1, 20 do assert(feeder:put("item-" .. i)) end
        local a, b = H.client():queue(path), H.client():queue(path)
        local seen = {}
        for _ = 1, 10 do
            for _, q in ipairs({ a, b }) do
                local item = assert(q:take(2000))
                assert.is_nil(seen[item], "taken twice: " .. item)
                seen[item] = true
            end
        end
        assert.are.equal(20, H.count_keys(seen))
        assert.is_nil(a:take(100))
    end)

    it("raises on caller mistakes and stays usable", function()
        local q = c:queue(root .. "/bad")
        assert.has_error(function() q:take("soon") end)
        assert.has_error(function() q:take(-1) end)
        assert.has_error(function() q:put({}) end)
        assert.has_error(function() q.take({}) end)
        local nil_, err = c:queue("no-slash"):put("x")
        assert.is_nil(nil_)
        assert.is_string(err)
        assert(q:put("fine"))
        assert.are.equal("fine", q:take(1000))
    end)
end)

describe("cache", function()
    local c, root
    H.rooted("cache", function(client, path) c, root = client, path end)

    -- Runs callbacks until `done()` holds (5 s at most).
    local function until_(client, done)
        return H.wait_until(function()
            client:dispatch(20)
            return done()
        end, 5, 0) ~= nil
    end

    local function has(events, kind, path)
        for _, e in ipairs(events) do
            if e[1] == kind and e[2] == path then return true end
        end
        return false
    end

    it("reports the tree it walked, then initialized, and follows every change", function()
        local top = root .. "/tree"
        assert(c:create(top, "t"))
        assert(c:create(top .. "/a", "1"))
        assert(c:create(top .. "/a/x", "deep"))
        local events = {}
        local cache = c:cache(top, function(kind, path) events[#events + 1] = { kind, path } end)
        assert.is_true(until_(c, function() return has(events, "initialized", "") end), "initialized")
        assert.is_true(has(events, "created", top) and has(events, "created", top .. "/a") and has(events, "created", top .. "/a/x"))
        local data, stat = cache:get(top .. "/a")
        assert.are.equal("1", data)
        assert.are.equal(0, stat.version)
        assert.are.same({ "a" }, cache:children(top))
        assert.are.same({ "x" }, cache:children(top .. "/a"))
        assert.is_nil(cache:get(top .. "/missing"))
        assert.is_nil(cache:children(top .. "/missing"))

        local other = H.client()
        assert(other:set_data(top .. "/a", "2"))
        assert(other:create(top .. "/b", "new"))
        assert(other:delete(top .. "/a/x"))
        assert.is_true(until_(c, function()
            return has(events, "changed", top .. "/a") and has(events, "created", top .. "/b") and has(events, "deleted", top .. "/a/x")
        end), "changes heard")
        assert.are.equal("2", cache:get(top .. "/a"))
        assert.are.same({ "a", "b" }, cache:children(top))
        assert.are.same({}, cache:children(top .. "/a"))

        assert.is_true(cache:close())
        local before = #events
        assert(other:set_data(top .. "/b", "after close"))
        c:dispatch(300)
        assert.are.equal(before, #events, "nothing after close")
        assert.are.equal(true, cache:close(), "closing twice is fine")
    end)

    it("converges after a lost connection, reporting what changed while it was away", function()
        local top = root .. "/away"
        assert(c:create(top, ""))
        assert(c:create(top .. "/stays", "s"))
        assert(c:create(top .. "/goes", "g"))
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 10000 })
        local events = {}
        local cache = client:cache(top, function(kind, path) events[#events + 1] = { kind, path } end)
        assert.is_true(until_(client, function() return has(events, "initialized", "") end))
        proxy.cut()
        assert(c:delete(top .. "/goes"))
        assert(c:set_data(top .. "/stays", "s2"))
        assert(c:create(top .. "/came", "c"))
        proxy.restore()
        assert.is_true(until_(client, function()
            return has(events, "deleted", top .. "/goes") and has(events, "changed", top .. "/stays") and has(events, "created", top .. "/came")
        end), "the changes made while away are reported")
        assert.are.same({ "came", "stays" }, cache:children(top))
        assert.are.equal("s2", cache:get(top .. "/stays"))
        cache:close()
    end)

    it("carries on into the next session after an expiry", function()
        local top = root .. "/expiry"
        assert(c:create(top, ""))
        assert(c:create(top .. "/old", "o"))
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 6000 })
        local events, states = {}, {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        local cache = client:cache(top, function(kind, path) events[#events + 1] = { kind, path } end)
        assert.is_true(until_(client, function() return has(events, "initialized", "") end))
        local sid = client.session_id
        proxy.cut()
        assert.are.equal(sid, H.end_session(sid, client.session_passwd))
        assert(c:delete(top .. "/old"))
        assert(c:create(top .. "/new", "n"))
        proxy.restore()
        assert.is_true(until_(client, function() return states[#states] == "expired" end), "expired")
        assert.is_true(client:connect())
        assert.is_true(until_(client, function()
            return has(events, "deleted", top .. "/old") and has(events, "created", top .. "/new")
        end), "the new session's cache reports the differences")
        assert.are.same({ "new" }, cache:children(top))
        local initialized = 0
        for _, e in ipairs(events) do if e[1] == "initialized" then initialized = initialized + 1 end end
        assert.are.equal(1, initialized)
        cache:close()
    end)

    it("raises on caller mistakes and stays usable", function()
        assert.has_error(function() c:cache(root) end)
        assert.has_error(function() c:cache(root, "not a function") end)
        local cache = c:cache(root, function() end)
        assert.has_error(function() cache:get({}) end)
        assert.has_error(function() cache.children("x") end)
        assert.is_true(cache:close())
        assert(c:exists(root))
    end)
end)
