-- The recipes from Lua (client:lock, client:counter, client:election, protected create), run by
-- the Swift recipe machines against the real server: exclusion between clients, time-outs that
-- give their place up, counters that sum, an election that hands over on close, objects that
-- give their work up when collected or when their client closes, and a lock shared with kazoo.
local H = require("test.spec.helper")
local zk = H.zk

describe("recipes", function()
    local c, root
    H.rooted("recipes", function(client, path) c, root = client, path end)

    describe("lock", function()
        it("excludes another client until released; a time-out answers nil, 'timeout' and gives the place up", function()
            local path = root .. "/excl"
            local a, b = H.client(), H.client()
            local la, lb = a:lock(path), b:lock(path)
            assert.are.equal(true, la:acquire())
            assert.is_true(la:is_held())
            local started = H.now()
            local ok, err, code = lb:acquire(300)
            local waited = H.now() - started
            assert.is_nil(ok)
            assert.are.equal("timeout", err)
            assert.are.equal(zk.errors.OPERATIONTIMEOUT, code)
            assert.is_true(waited >= 0.25 and waited < 3, "waited " .. waited)
            assert.is_false(lb:is_held())
            assert.is_true(H.wait_until(function() return H.count_children(c, path) == 1 end, 5, 0.05) ~= nil,
                "the timed-out waiter's node is deleted")
            assert.are.equal(true, la:release())
            assert.is_false(la:is_held())
            assert.are.equal(true, lb:acquire(5000))
            assert.is_true(lb:is_held())
            assert.are.equal(true, lb:release())
            assert.are.equal(true, lb:release(), "releasing a lock not held does nothing")
        end)

        it("names its nodes as Curator does, protected ephemeral sequential under the lock path", function()
            local path = root .. "/layout/deep"
            local l = c:lock(path)
            assert(l:acquire())
            local names = c:get_children(path)
            assert.are.equal(1, #names)
            assert.is_truthy(names[1]:match("^_c_%x+%-%x+%-4%x+%-%x+%-%x+%-lock%-%d%d%d%d%d%d%d%d%d%d$"), names[1])
            local _, stat = c:get(path .. "/" .. names[1])
            assert.are.equal(c.session_id, stat.ephemeral_owner)
            assert(l:release())
            assert.are.same({}, c:get_children(path))
        end)

        it("blocks a waiter while another process holds it, and lets it in when that one releases", function()
            local path = root .. "/handover"
            local done = H.background_lua(0, H.second_client_code(string.format([[
local l = c:lock(%q)
assert(l:acquire())
os.execute("sleep 1")
assert(l:release())
]], path)))
            assert.is_true(H.wait_until(function() return H.count_children(c, path) == 1 end, 10, 0.05) ~= nil, "the other process holds it")
            local l = c:lock(path)
            local started = H.now()
            assert.are.equal(true, l:acquire(10000))
            local waited = H.now() - started
            assert.is_true(waited > 0.3, "acquired after " .. waited .. " s, while the other held it")
            assert.are.equal(0, done(15))
            assert(l:release())
        end)

        it("is given up when the object is collected, and ended by its client's close", function()
            local path = root .. "/collected"
            local other = H.client()
            do
                local l = other:lock(path)
                assert(l:acquire())
            end
            collectgarbage()
            collectgarbage()
            other:get_data("/")  -- the release goes out with the client's next call
            local mine = c:lock(path)
            assert.are.equal(true, mine:acquire(5000), "the collected lock's node was deleted")
            assert(mine:release())

            local closing = H.client()
            local held = closing:lock(path)
            assert(held:acquire())
            assert(closing:close())
            assert.is_false(held:is_held())
            local ok, err, code = held:acquire(100)
            assert.is_nil(ok)
            assert.are.equal("not connected", err)
            assert.are.equal(zk.errors.CLOSED, code)
            local after = c:lock(path)
            assert.are.equal(true, after:acquire(5000), "the closed client's node went with its session")
            assert(after:release())
        end)

        it("answers a waiting acquire when its client closes meanwhile", function()
            local path = root .. "/close-while-waiting"
            local holder = c:lock(path)
            assert(holder:acquire())
            local waiter = H.client()
            local trigger = root .. "/trigger"
            assert(waiter:stat(trigger, function() waiter:close() end) == false)
            local done = H.background_lua(0.3, H.second_client_code(string.format("assert(c:create(%q, ''))", trigger)))
            local ok, err, code = waiter:lock(path):acquire(10000)
            assert.is_nil(ok)
            assert.are.equal("client is closed", err)
            assert.are.equal(zk.errors.CONNECTIONLOSS, code)
            assert.are.equal(0, done(15))
            assert(holder:release())
        end)

        it("raises on caller mistakes and stays usable", function()
            assert.has_error(function() c:lock() end, "bad argument #2 to 'lock' (string expected, got nil)")
            local l = c:lock(root .. "/mistakes")
            assert.has_error(function() l:acquire("soon") end, "bad argument #2 to 'acquire' (number expected, got string)")
            assert.has_error(function() l:acquire(-1) end)
            assert.has_error(function() l.acquire(c) end)
            assert.are.equal(true, l:acquire(1000))
            local ok, err = l:acquire(10)
            assert.is_nil(ok)
            assert.is_truthy(err:match("already holds"), err)
            assert(l:release())
        end)

        it("excludes kazoo's Lock told about Curator's names, and kazoo excludes it", function()
            local path = root .. "/kazoo"
            local l = c:lock(path)
            assert(l:acquire())
            local out = H.kazoo([[
from kazoo.exceptions import LockTimeout
lock = zk.Lock(sys.argv[1], "kazoo", extra_lock_patterns=["-lock-"])
try:
    print("got=" + str(lock.acquire(timeout=1)))
except LockTimeout:
    print("got=False")
]], path)
            assert.is_truthy(out:match("got=False"), out)
            assert(l:release())
            local marker = root .. "/kazoo-holds"
            local errors = os.tmpname()
            os.execute(string.format("/usr/bin/python3 %s %s exec %s %s %s >%s 2>&1 &",
                H.shell_quote(H.root .. "/test/kazoo_peer.py"), H.shell_quote(H.connect_string), H.shell_quote([[
import time
lock = zk.Lock(sys.argv[1], "kazoo", extra_lock_patterns=["-lock-"])
lock.acquire()
zk.create(sys.argv[2])
time.sleep(1.5)
lock.release()
]]), H.shell_quote(path), H.shell_quote(marker), H.shell_quote(errors)))
            assert.is_true(H.wait_until(function() return c:exists(marker) end, 20, 0.05) ~= nil, "kazoo holds the lock")
            local ok, err = l:acquire(300)
            assert.is_nil(ok)
            assert.are.equal("timeout", err)
            assert.are.equal(true, l:acquire(10000))
            assert(l:release())
            os.remove(errors)
        end)
    end)

    describe("counter", function()
        it("sums the adds of two clients, set and get", function()
            local path = root .. "/counters/visits"
            local a, b = H.client():counter(path), H.client():counter(path)
            assert.are.equal(0, a:get(), "a missing counter reads 0")
            for _ = 1, 20 do
                assert(a:add(1))
                assert(b:add(2))
            end
            assert.are.equal(60, a:get())
            assert.are.equal(60, b:get())
            assert.are.equal(true, a:set(5))
            assert.are.equal(2, b:add(-3))
            assert.are.equal("\0\0\0\2", c:get_data(path), "Curator's SharedCount encoding")
        end)

        it("refuses what is not a counter, and values beyond 32 bits", function()
            local path = root .. "/not-a-counter"
            assert(c:create(path, "hello"))
            local n = c:counter(path)
            local ok, err, code = n:get()
            assert.is_nil(ok)
            assert.is_truthy(err:match("not a shared counter"), err)
            assert.are.equal(zk.errors.BADARGUMENTS, code)
            assert.has_error(function() n:add(2 ^ 40) end)
            assert.has_error(function() n:set("x") end)
        end)
    end)

    describe("protected create", function()
        it("makes _c_<uuid>-<name> and answers its path", function()
            local created = assert(c:create(root .. "/jobs/job-", "payload", "ephemeral", true, { protected = true }))
            assert.is_truthy(created:match("^" .. root:gsub("%p", "%%%0") .. "/jobs/_c_%x+%-%x+%-%x+%-%x+%-%x+%-job%-%d%d%d%d%d%d%d%d%d%d$"), created)
            assert.are.equal("payload", c:get_data(created))
            local plain = assert(c:create(root .. "/plain", "p", "persistent", false, { protected = true }))
            assert.is_truthy(plain:match("/_c_[%x%-]+%-plain$"), plain)
            assert.has_error(function()
                c:create(root .. "/plain-ttl", "p", "persistent_ttl", false, { protected = true, ttl = 1000 })
            end, "bad argument #6 to 'create' (opts.protected does not take a ttl)")
            assert.has_error(function() c:create(root .. "/p", "", "persistent", false, { protected = "yes" }) end)
            -- The path asked for is checked (not "/_c_...-job-", made from it).
            local made, err, code = c:create("job-", "", "persistent", true, { protected = true })
            assert.is_nil(made)
            assert.is_truthy(tostring(err):find("invalid path", 1, true), err)
            assert.are.equal(zk.errors.BADARGUMENTS, code)
            assert.is_truthy(c:exists(root), "the client is still usable")
        end)
    end)

    describe("election", function()
        it("elects one leader, tells it by callback, hands over on close", function()
            local path = root .. "/election"
            local a, b = H.client(), H.client()
            local heard_a, heard_b = {}, {}
            local ea = a:election(path, "worker-a", function(leading) heard_a[#heard_a + 1] = leading end)
            assert.is_true(H.wait_until(function()
                a:dispatch(50)
                return heard_a[1] == true
            end, 5, 0) ~= nil, "a leads")
            local eb = b:election(path, "worker-b", function(leading) heard_b[#heard_b + 1] = leading end)
            b:dispatch(200)
            assert.is_true(ea:is_leader())
            assert.is_false(eb:is_leader())
            assert.are.equal("worker-a", eb:leader_id())
            assert.are.equal("worker-a", ea:leader_id())
            local closed = H.now()
            assert.are.equal(true, ea:close())
            assert.is_false(ea:is_leader())
            assert.is_true(H.wait_until(function()
                b:dispatch(50)
                return heard_b[1] == true
            end, 5, 0) ~= nil, "b leads after a closed")
            assert.is_true(H.now() - closed < 1, "handed over within a second")
            assert.is_true(eb:is_leader())
            assert.are.equal("worker-b", ea:leader_id())
            assert.are.equal(true, ea:close(), "closing twice is fine")
            assert.are.equal(true, eb:close())
            assert.is_nil(eb:leader_id(), "nobody contends")
        end)

        it("leaves the election when the object is collected", function()
            local path = root .. "/collected-election"
            local other = H.client()
            local heard = {}
            do
                local e = other:election(path, "gone", function() end)
                assert.is_true(H.wait_until(function() return H.count_children(c, path) == 1 end, 5, 0.05) ~= nil)
                assert(e)
            end
            collectgarbage()
            collectgarbage()
            other:get_data("/")
            local mine = c:election(path, "stays", function(leading) heard[#heard + 1] = leading end)
            assert.is_true(H.wait_until(function()
                c:dispatch(50)
                return heard[1] == true
            end, 5, 0) ~= nil, "the collected participant left")
            assert(mine:close())
        end)
    end)
end)
