-- The coordination recipes from Lua (client:read_write_lock, client:semaphore, client:barrier,
-- client:double_barrier), run by the Swift recipe machines against the real server: readers
-- share and writers exclude across clients, a semaphore never gives out more leases than it has,
-- barriers hold waiters in other processes until released, time-outs leave nothing behind,
-- collected objects give their work up, and caller mistakes raise.
local H = require("test.spec.helper")
local zk = H.zk

describe("coordination", function()
    local c, root
    H.rooted("coordination", function(client, path) c, root = client, path end)

    describe("read-write lock", function()
        it("lets readers share and a writer exclude them, across clients", function()
            local path = root .. "/rw"
            local a, b = H.client(), H.client()
            local ra, rb = a:read_write_lock(path):read_lock(), b:read_write_lock(path):read_lock()
            local writer = b:read_write_lock(path):write_lock()
            assert.are.equal(true, ra:acquire(5000))
            assert.are.equal(true, rb:acquire(5000))
            assert.is_true(ra:is_held() and rb:is_held())
            local ok, err, code = writer:acquire(300)
            assert.is_nil(ok)
            assert.are.equal("timeout", err)
            assert.are.equal(zk.errors.OPERATIONTIMEOUT, code)
            assert.is_true(H.wait_until(function() return H.count_children(c, path) == 2 end, 5, 0.05) ~= nil, "the timed-out writer's node is deleted")
            assert(ra:release())
            assert(rb:release())
            assert.are.equal(true, writer:acquire(5000))
            assert.is_nil((ra:acquire(300)), "a reader waits while a writer holds")
            assert(writer:release())
            assert.are.equal(true, ra:acquire(5000))
            assert(ra:release())
        end)

        it("names its nodes as Curator does, and a side is a lock object", function()
            local path = root .. "/layout"
            local rw = c:read_write_lock(path)
            local r, w = rw:read_lock(), rw:write_lock()
            assert.is_truthy(tostring(r):match("^resty%.zookeeper lock "), tostring(r))
            assert(r:acquire())
            local names = c:get_children(path)
            assert.are.equal(1, #names)
            assert.is_truthy(names[1]:match("^_c_%x+%-%x+%-4%x+%-%x+%-%x+%-__READ__%d%d%d%d%d%d%d%d%d%d$"), names[1])
            assert(r:release())
            assert(w:acquire())
            names = c:get_children(path)
            assert.is_truthy(names[1]:match("%-__WRIT__%d%d%d%d%d%d%d%d%d%d$"), names[1])
            assert(w:release())
            assert.are.same({}, c:get_children(path))
        end)

        it("gives a collected side's hold up", function()
            local path = root .. "/collected"
            local other = H.client()
            do
                local w = other:read_write_lock(path):write_lock()
                assert(w:acquire())
            end
            collectgarbage()
            collectgarbage()
            other:get_data("/")  -- the release goes out with the client's next call
            local r = c:read_write_lock(path):read_lock()
            assert.are.equal(true, r:acquire(5000), "the collected writer's node was deleted")
            assert(r:release())
        end)
    end)

    describe("semaphore", function()
        it("never gives out more leases than it has, across clients; a time-out leaves no lease", function()
            local path = root .. "/sem"
            local clients = { H.client(), H.client(), H.client() }
            local l1 = assert(clients[1]:semaphore(path, 2):acquire(5000))
            local l2 = assert(clients[2]:semaphore(path, 2):acquire(5000))
            assert.is_truthy(tostring(l1):match("^resty%.zookeeper lease "), tostring(l1))
            local third = clients[3]:semaphore(path, 2)
            local lease, err, code = third:acquire(300)
            assert.is_nil(lease)
            assert.are.equal("timeout", err)
            assert.are.equal(zk.errors.OPERATIONTIMEOUT, code)
            assert.is_true(H.wait_until(function() return H.count_children(c, path .. "/leases") == 2 end, 5, 0.05) ~= nil, "the timed-out lease node is deleted")
            assert.are.equal(0, H.count_children(c, path .. "/locks"), "the mutex was let go")
            assert.are.equal(true, l1:release())
            assert.are.equal(true, l1:release(), "giving a lease back twice does nothing")
            local l3 = assert(third:acquire(5000))
            local names = c:get_children(path .. "/leases")
            assert.are.equal(2, #names)
            for _, name in ipairs(names) do assert.is_truthy(name:match("^_c_[%x%-]+%-lease%-%d+$"), name) end
            assert(l2:release())
            assert(l3:release())
        end)

        it("lets a waiter in when another process gives a lease back", function()
            local path = root .. "/handover"
            local done = H.background_lua(0, H.second_client_code(string.format([[
local lease = assert(c:semaphore(%q, 1):acquire())
os.execute("sleep 1")
assert(lease:release())
]], path)))
            assert.is_true(H.wait_until(function() return H.count_children(c, path .. "/leases") == 1 end, 10, 0.05) ~= nil, "the other process holds it")
            local started = H.now()
            local lease = assert(c:semaphore(path, 1):acquire(10000))
            assert.is_true(H.now() - started > 0.3, "acquired while the other held it")
            assert.are.equal(0, done(15))
            assert(lease:release())
        end)

        it("gives a collected lease back", function()
            local path = root .. "/collected"
            local other = H.client()
            do
                assert(other:semaphore(path, 1):acquire())
            end
            collectgarbage()
            collectgarbage()
            other:get_data("/")
            local lease = assert(c:semaphore(path, 1):acquire(5000), "the collected lease's node was deleted")
            assert(lease:release())
        end)

        it("raises on caller mistakes and stays usable", function()
            assert.has_error(function() c:semaphore(root .. "/bad") end)
            assert.has_error(function() c:semaphore(root .. "/bad", 0) end)
            assert.has_error(function() c:read_write_lock() end, "bad argument #2 to 'read_write_lock' (string expected, got nil)")
            local sem = c:semaphore(root .. "/bad", 1)
            assert.has_error(function() sem:acquire("soon") end)
            local lease = assert(sem:acquire(1000))
            assert(lease:release())
        end)
    end)

    describe("barrier", function()
        it("holds a waiter in another process until removed", function()
            local path = root .. "/gate"
            local gate = c:barrier(path)
            assert.are.equal(true, gate:wait(100), "down: at once")
            assert.are.equal(true, gate:set())
            local ok, err, code = gate:wait(300)
            assert.is_nil(ok)
            assert.are.equal("timeout", err)
            assert.are.equal(zk.errors.OPERATIONTIMEOUT, code)
            local done = H.background_lua(0, H.second_client_code(string.format([[
local started = os.time()
assert(c:barrier(%q):wait(10000) == true)
]], path)))
            H.sleep(0.5)
            assert.are.equal(true, gate:remove())
            assert.are.equal(0, done(15))
            assert.are.equal(true, gate:remove(), "removing it twice is fine")
        end)
    end)

    describe("double barrier", function()
        it("lets members in only together and out only together, across processes", function()
            local path = root .. "/round"
            local marker = os.tmpname()
            local done = H.background_lua(0, H.second_client_code(string.format([[
local d = c:double_barrier(%q, 2)
assert(d:enter(10000) == true)
local f = io.open(%q, "w") f:write("entered") f:close()
os.execute("sleep 0.5")
assert(d:leave(10000) == true)
]], path, marker)))
            local function said()
                local f = io.open(marker)
                local text = f and f:read("*a")
                if f then f:close() end
                return text
            end
            assert.is_true(H.wait_until(function() return H.count_children(c, path) == 1 end, 10, 0.05) ~= nil, "the other member is in")
            H.sleep(0.3)
            assert.are_not.equal("entered", said(), "one member of two entered alone")
            local d = c:double_barrier(path, 2)
            assert.are.equal(true, d:enter(10000))
            local started = H.now()
            assert.are.equal(true, d:leave(10000))
            assert.is_true(H.now() - started > 0.3, "left before the other member")
            assert.are.equal(0, done(15))
            assert.are.equal("entered", said())
            os.remove(marker)
            assert.are.equal(0, H.count_children(c, path))
        end)

        it("gives up at its time-out, deleting its node, and refuses mistakes", function()
            local path = root .. "/alone"
            local d = c:double_barrier(path, 3)
            local ok, err = d:enter(300)
            assert.is_nil(ok)
            assert.are.equal("timeout", err)
            assert.are.equal(0, H.count_children(c, path))
            local left, why = d:leave()
            assert.is_nil(left)
            assert.is_truthy(why:match("not entered"), why)
            assert.has_error(function() c:double_barrier(path, 0) end)
            assert.has_error(function() d:enter("soon") end)
            do
                local gone = c:double_barrier(path, 2)
                gone:enter(100)
            end
            collectgarbage()
            collectgarbage()
            assert.are.equal(0, H.count_children(c, path))
        end)
    end)
end)
