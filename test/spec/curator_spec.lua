-- The recipes from Lua cross-checked with Apache Curator 5.4 (Debian's jars) on the same
-- znodes: lock exclusion both ways with InterProcessMutex, one leader at a time with LeaderLatch
-- and a hand-over within a second, SharedCount and our counter adding together, a queue fed by
-- one side and drained by the other, a double barrier (of 2 and of 3) entered and left together. The peer is
-- test/curator/CuratorPeer.java (the Swift interop tests drive the same one), one JVM for the
-- whole file, fed commands on its stdin; what it says goes to a file the spec reads.
local H = require("test.spec.helper")
local zk = H.zk

local JARS = { "curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute", "guava",
    "slf4j-api", "slf4j-nop" }

local function read_file(path)
    local f = io.open(path, "r")
    if not f then return "" end
    local text = f:read("*a")
    f:close()
    return text
end

-- Compiles the peer and starts it on the server under test; answers the peer object:
-- send(command), lines(), said(line) (how many times), expect(line, count, timeout), quit().
local function start_peer()
    local dir = os.tmpname()
    os.remove(dir)
    assert(H.shell_ok("mkdir -p " .. H.shell_quote(dir)))
    local classpath = {}
    for i, jar in ipairs(JARS) do classpath[i] = "/usr/share/java/" .. jar .. ".jar" end
    local source = H.root .. "/test/curator/CuratorPeer.java"
    local out, status = H.run("/usr/bin/javac -nowarn -d " .. H.shell_quote(dir) .. " -cp "
        .. H.shell_quote(table.concat(classpath, ":")) .. " " .. H.shell_quote(source))
    assert(status == 0, "javac failed: " .. out)
    table.insert(classpath, 1, dir)
    local files = { out = dir .. "/out", err = dir .. "/err", pid = dir .. "/pid" }
    local stdin = assert(io.popen("echo $$ > " .. H.shell_quote(files.pid) .. "; exec /usr/bin/java -cp "
        .. H.shell_quote(table.concat(classpath, ":")) .. " CuratorPeer " .. H.shell_quote(H.connect_string)
        .. " > " .. H.shell_quote(files.out) .. " 2> " .. H.shell_quote(files.err), "w"))
    local peer = {}

    function peer.lines()
        local lines = {}
        for line in read_file(files.out):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
        return lines
    end

    function peer.said(line)
        local n = 0
        for _, heard in ipairs(peer.lines()) do
            if heard == line then n = n + 1 end
        end
        return n
    end

    function peer.send(command)
        assert(stdin:write(command, "\n"))
        assert(stdin:flush())
    end

    -- Waits until the peer has said `line` `count` times in all (up to `timeout` s).
    function peer.expect(line, count, timeout)
        count = count or 1
        local heard = H.wait_until(function() return peer.said(line) >= count end, timeout or 10, 0.01)
        assert(heard, string.format("the Curator peer did not say %q (%dx); it said:\n%s\n%s", line, count,
            table.concat(peer.lines(), "\n"), read_file(files.err)))
    end

    -- The lines starting with `prefix`, in order.
    function peer.starting_with(prefix)
        local found = {}
        for _, line in ipairs(peer.lines()) do
            if line:sub(1, #prefix) == prefix then found[#found + 1] = line end
        end
        return found
    end

    -- Whether the JVM runs (until the pipe is closed an ended one stays a zombie).
    local function running(pid)
        local state = read_file("/proc/" .. pid .. "/stat"):match("^%d+ %b() (%a)")
        return state ~= nil and state ~= "Z"
    end

    function peer.quit()
        local pid = tonumber(read_file(files.pid))
        pcall(peer.send, "quit")
        local gone = pid and H.wait_until(function() return not running(pid) end, 10, 0.02)
        if pid and not gone then os.execute("kill " .. pid .. " 2>/dev/null") end
        stdin:close()
        os.execute("rm -rf " .. H.shell_quote(dir))
    end

    local started, err = pcall(peer.expect, "ready", 1, 30)
    if not started then
        peer.quit()
        error(err, 0)
    end
    return peer
end

describe("Curator", function()
    local c, root, curator
    H.rooted("curator", function(client, path) c, root = client, path end)
    setup(function() curator = start_peer() end)
    teardown(function() if curator then curator.quit() end end)

    local function children(path)
        local names = c:get_children(path)
        return type(names) == "table" and names or {}
    end

    -- Waits until `path` has `count` children (contenders in line, members in).
    local function wait_children(path, count)
        assert(H.wait_until(function() return #children(path) == count end, 10, 0.01),
            path .. " never had " .. count .. " children: " .. table.concat(children(path), ","))
    end

    it("our lock and InterProcessMutex exclude each other both ways", function()
        local path = root .. "/mutex"
        local lock = c:lock(path)

        -- Ours holds: Curator waits its full time and gives up; ours lets go: Curator gets it.
        assert.are.equal(true, lock:acquire(5000))
        curator.send("trylock " .. path .. " 300")
        curator.expect("timeout")
        assert.are.equal(true, lock:release())
        curator.send("lock " .. path)
        curator.expect("locked")

        -- Curator holds: ours gives up after its time-out, its node deleted...
        local ok, err, code = lock:acquire(300)
        assert.are.same({ nil, "timeout", zk.errors.OPERATIONTIMEOUT }, { ok, err, code })
        assert.is_false(lock:is_held())
        wait_children(path, 1)
        -- ...and, waiting in line, gets it only once Curator unlocks (half a second later).
        local started = H.now()
        curator.send("sleep 500")
        curator.send("unlock")
        assert.are.equal(true, lock:acquire(10000))
        local waited = H.now() - started
        assert.are.equal(1, curator.said("slept"), "ours held the lock before Curator let it go")
        assert.is_true(waited >= 0.45, "waited " .. waited)
        curator.expect("unlocked")
        assert.is_true(lock:is_held())
        local names = children(path)
        assert.are.equal(1, #names)
        assert.is_truthy(names[1]:match("^_c_.*%-lock%-%d+$"), names[1])
        assert.are.equal(true, lock:release())
    end)

    it("one leader at a time with LeaderLatch, handed over within a second of either close", function()
        local path = root .. "/latch"
        local leading = {}

        curator.send("latch " .. path .. " curator-1")
        curator.expect("leader")
        local e = c:election(path, "lua-1", function(is_leader) leading[#leading + 1] = is_leader end)
        wait_children(path, 2)
        assert.is_false(e:is_leader())
        assert.are.equal("curator-1", e:leader_id())
        local ours = {}
        for _, name in ipairs(children(path)) do
            if c:get_data(path .. "/" .. name) == "lua-1" then ours[#ours + 1] = name end
        end
        assert.are.equal(1, #ours)
        assert.is_truthy(ours[1]:match("^_c_.*%-latch%-%d+$"), ours[1])

        -- Curator leaves: we lead within a second.
        local started = H.now()
        curator.send("closelatch")
        assert(H.wait_until(function() c:dispatch(10); return leading[#leading] == true end, 5, 0),
            "we never led")
        local handover = H.now() - started
        assert.is_true(handover < 1, "took " .. handover .. " s")
        curator.expect("latchclosed")
        assert.is_true(e:is_leader())
        assert.are.equal("lua-1", e:leader_id())

        -- Curator joins again behind us and waits; our close hands over within a second.
        curator.send("latch " .. path .. " curator-2")
        wait_children(path, 2)
        c:dispatch(200)
        assert.is_true(e:is_leader())
        assert.are.equal(1, curator.said("leader"), "Curator leads while we do")
        started = H.now()
        assert.are.equal(true, e:close())
        assert.is_false(e:is_leader())
        curator.expect("leader", 2, 5)
        handover = H.now() - started
        assert.is_true(handover < 1, "took " .. handover .. " s")
        assert.are.same({ true, false }, leading)
        curator.send("closelatch")
        curator.expect("latchclosed", 2)
    end)

    it("100 increments from our counter and 100 from SharedCount sum to 200", function()
        local path = root .. "/count"
        local counter = c:counter(path)
        assert.are.equal(true, counter:set(0))
        curator.send("count " .. path .. " 100")
        local seen = {}
        for i = 1, 100 do
            local value, err = counter:add(1)
            assert(value, err)
            assert.is_nil(seen[value], "value " .. tostring(value) .. " twice")
            seen[value] = true
        end
        assert(H.wait_until(function() return #curator.starting_with("counted ") == 1 end, 30, 0.05),
            table.concat(curator.lines(), "\n"))
        assert.are.equal(200, counter:get())
        -- SharedCount's own encoding: 4 bytes, big-endian
        assert.are.equal("\0\0\0\200", c:get_data(path))
    end)

    it("a queue fed by ours is drained by SimpleDistributedQueue and the other way, nothing lost or doubled", function()
        local path = root .. "/queue"
        local q = c:queue(path)
        for i = 0, 19 do assert(q:put("lua-" .. i)) end
        curator.send("drain " .. path .. " 500")
        curator.expect("drained 20", 1, 30)
        local expected = {}
        for i = 0, 19 do expected[#expected + 1] = "item lua-" .. i end
        assert.are.same(expected, curator.starting_with("item "))

        -- Curator offers while ours takes (a take waits for the next item).
        curator.send("offer " .. path .. " 20 curator")
        local taken = {}
        for i = 1, 20 do
            local item, err = q:take(10000)
            assert(item, err)
            taken[i] = item
        end
        for i = 0, 19 do assert.are.equal("curator-" .. i, taken[i + 1]) end
        curator.expect("offered 20")
        assert.are.same({ nil, "timeout", zk.errors.OPERATIONTIMEOUT }, { q:take(200) })
        assert.are.same({}, children(path))
    end)

    -- The double barrier's members (ours are uuid-named ephemerals, as Curator's).
    local function members(path)
        local names = {}
        for _, name in ipairs(children(path)) do
            if name ~= "ready" then names[#names + 1] = name end
        end
        return names
    end

    it("a double barrier of 2 with DistributedDoubleBarrier: nobody enters or leaves before the other", function()
        local path = root .. "/double2"
        local ours = c:double_barrier(path, 2)

        -- Curator arrives first and waits for us; we arrive and both pass.
        curator.send("dbenter first " .. path .. " 2 10000")
        assert(H.wait_until(function() return #members(path) == 1 end, 10, 0.01), "Curator's member never arrived")
        assert.are.equal(0, curator.said("entered first"), "Curator entered alone")
        assert.are.equal(true, ours:enter(10000))
        curator.expect("entered first")

        -- Curator leaves first and waits for us; we leave and both are out.
        curator.send("dbleave first 10000")
        H.sleep(0.3)
        assert.are.equal(0, curator.said("left first"), "Curator left before we did")
        assert.are.equal(true, ours:leave(10000))
        curator.expect("left first")
        assert.are.same({}, members(path))

        -- We arrive first and wait (half a second) for Curator; then we leave first and wait.
        path = root .. "/double2b"
        ours = c:double_barrier(path, 2)
        local slept = curator.said("slept")
        local started = H.now()
        curator.send("sleep 500")
        curator.send("dbenter second " .. path .. " 2 10000")
        assert.are.equal(true, ours:enter(10000))
        assert.is_true(H.now() - started >= 0.45, "entered after " .. (H.now() - started) .. " s")
        assert.are.equal(slept + 1, curator.said("slept"))
        curator.expect("entered second")
        started = H.now()
        curator.send("sleep 500")
        curator.send("dbleave second 10000")
        assert.are.equal(true, ours:leave(10000))
        assert.is_true(H.now() - started >= 0.45, "left after " .. (H.now() - started) .. " s")
        curator.expect("left second")
        assert.are.same({}, members(path))
    end)

    it("a double barrier of 3, ours and two of Curator's: all arrive before any enters, all leave together", function()
        local path = root .. "/double3"
        local ours = c:double_barrier(path, 3)
        curator.send("dbenter x " .. path .. " 3 10000")
        assert(H.wait_until(function() return #members(path) == 1 end, 10, 0.01), "Curator's member never arrived")
        -- two of three: ours gives up (its node deleted), Curator's waits on
        assert.are.same({ nil, "timeout", zk.errors.OPERATIONTIMEOUT }, { ours:enter(300) })
        assert.are.equal(1, #members(path))
        curator.send("dbenter y " .. path .. " 3 10000")
        assert(H.wait_until(function() return #members(path) == 2 end, 10, 0.01), "Curator's second member never arrived")
        assert.are.equal(0, curator.said("entered x") + curator.said("entered y"), "Curator entered with two of three")
        ours = c:double_barrier(path, 3)
        assert.are.equal(true, ours:enter(10000))
        curator.expect("entered x")
        curator.expect("entered y")

        -- x leaves at once, y half a second later: ours leaves with the last of them
        curator.send("dbleave x 10000")
        local started = H.now()
        curator.send("sleep 500")
        curator.send("dbleave y 10000")
        assert.are.equal(true, ours:leave(10000))
        assert.is_true(H.now() - started >= 0.45, "left after " .. (H.now() - started) .. " s")
        curator.expect("left x")
        curator.expect("left y")
        assert.are.same({}, members(path))
    end)
end)
