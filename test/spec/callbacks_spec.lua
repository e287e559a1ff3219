-- Callbacks: they run on the Lua thread, inside dispatch(ms) or any other call of their
-- client that waits (never one that answers at once), under a protected call; one-shot ones run once and are then let go, persistent ones
-- until removed; errors in them are reported on stderr and never reach the host.
local H = require("test.spec.helper")

describe("callbacks", function()
    local c, other, root

    setup(function()
        c = H.client()
        other = H.client()
        root = H.unique("callbacks")
        assert(c:create(root, ""))
    end)

    teardown(function()
        H.rmr(other, root)
        H.close_all()
        H.report_assertions()
    end)

    local n = 0
    local function node()
        n = n + 1
        local path = root .. "/n" .. n
        assert(c:create(path, ""))
        return path
    end

    it("never run on their own: only when the client is called", function()
        local path = node()
        local events = {}
        assert(c:get(path, function(e) events[#events + 1] = e end))
        assert(other:set_data(path, "x"))
        H.sleep(0.5)   -- the event has arrived by now, but nobody called the client
        assert.are.same({}, events)
        assert.are.equal(1, c:dispatch(2000))
        assert.are.same({ { type = 3, state = 3, path = path } }, events)
    end)

    it("run inside any other call of the client that waits", function()
        local path = node()
        local events = {}
        assert(c:get(path, function(e) events[#events + 1] = e end))
        assert(other:set_data(path, "x"))
        H.sleep(0.3)
        assert.is_true(c:exists(path))   -- runs the due callback
        assert.are.same({ { type = 3, state = 3, path = path } }, events)
        assert.are.equal(0, c:dispatch(100))
    end)

    it("never run inside a call that answers at once, so never inside each other that way", function()
        local first, second = node(), node()
        local order = {}
        assert(c:get(first, function()
            order[#order + 1] = "first:start"
            local _ = c:_debug(), c.session_id, c:session_state()   -- answer at once
            order[#order + 1] = "first:end"
        end))
        assert(c:get(second, function() order[#order + 1] = "second" end))
        assert(other:set_data(first, "x"))
        assert(other:set_data(second, "x"))
        H.sleep(0.5)   -- both events are due
        local _ = c:session_state(), c.session_id
        assert.are.same({}, order, "an instant call ran a callback")
        assert.are.equal(2, c:dispatch(2000))
        assert.are.same({ "first:start", "first:end", "second" }, order)
    end)

    it("get exactly one argument: the event table, or the state name", function()
        local path = node()
        local counts, states = {}, {}
        assert(c:get(path, function(...) counts[#counts + 1] = select("#", ...) end))
        assert(other:set_data(path, "x"))
        c:dispatch(2000)
        assert.are.same({ 1 }, counts)
        local client = H.client()
        assert(client:on_state(function(...) states[#states + 1] = { select("#", ...), ... } end))
        assert(client:close())
        client:dispatch(100)
        assert.are.same({ { 1, "closed" } }, states)
    end)

    it("run in the order their events arrived", function()
        local order = {}
        local paths = {}
        for i = 1, 5 do
            paths[i] = node()
            assert(c:get(paths[i], function(e) order[#order + 1] = e.path end))
        end
        for i = 5, 1, -1 do assert(other:set_data(paths[i], "x")) end
        H.wait_until(function() c:dispatch(200); return #order == 5 end, 5)
        assert.are.same({ paths[5], paths[4], paths[3], paths[2], paths[1] }, order)
    end)

    it("registered inside a coroutine run in the main thread", function()
        local path = node()
        local events = {}
        local co = coroutine.create(function()
            local data = c:get(path, function(e) events[#events + 1] = e.type end)
            coroutine.yield(data)
            return "done"
        end)
        assert.are.same({ true, "" }, { coroutine.resume(co) })
        assert(other:set_data(path, "x"))
        assert.are.equal(1, c:dispatch(2000))
        assert.are.same({ 3 }, events)
        assert.are.same({ true, "done" }, { coroutine.resume(co) })
    end)

    it("can be dispatched from inside a coroutine", function()
        local path = node()
        local events = {}
        assert(c:get(path, function(e) events[#events + 1] = e.type end))
        assert(other:set_data(path, "x"))
        local co = coroutine.wrap(function() return c:dispatch(2000) end)
        assert.are.equal(1, co())
        assert.are.same({ 3 }, events)
    end)

    it("may call methods of their client, dispatch included", function()
        local path = node()
        local seen
        assert(c:get(path, function(e)
            seen = {
                data = c:get_data(path),
                exists = c:exists(path),
                created = c:create(path .. "/from-callback", "cb"),
                nested = c:dispatch(0),
                state = c:session_state(),
            }
        end))
        assert(other:set_data(path, "new"))
        assert.are.equal(1, c:dispatch(2000))
        assert.are.same({ data = "new", exists = true, created = path .. "/from-callback", nested = 0, state = "connected" }, seen)
        assert.are.equal("cb", other:get_data(path .. "/from-callback"))
    end)

    it("may re-arm themselves", function()
        local path = node()
        local heard = {}
        local function arm()
            assert(c:get(path, function(e)
                heard[#heard + 1] = e.type
                if #heard < 3 then arm() end
            end))
        end
        arm()
        for i = 1, 3 do
            assert(other:set_data(path, tostring(i)))
            H.wait_until(function() c:dispatch(200); return #heard == i end, 5)
        end
        assert.are.same({ 3, 3, 3 }, heard)
    end)

    it("are let go once done (one-shot), removed (persistent) or failed", function()
        local path = node()
        local weak = setmetatable({}, { __mode = "v" })
        do
            local once = function() end
            local persistent = function() end
            local failed = function() end
            weak.once, weak.persistent, weak.failed = once, persistent, failed
            assert(c:get(path, once))
            assert.is_true(c:add_watch(path, "persistent", persistent))
            assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(c:get(path .. "/missing", failed)))
        end
        collectgarbage(); collectgarbage()
        assert.is_nil(weak.failed)
        assert.is_function(weak.once)
        assert.is_function(weak.persistent)
        assert(other:set_data(path, "x"))
        H.wait_until(function() c:dispatch(200); collectgarbage(); collectgarbage(); return weak.once == nil end, 5)
        assert.is_nil(weak.once)
        assert.is_function(weak.persistent)
        assert.is_true(c:remove_watches(path, "any"))
        c:dispatch(100)
        collectgarbage(); collectgarbage()
        assert.is_nil(weak.persistent)
    end)

    it("of a missing node's stat are kept and hear its creation", function()
        local path = root .. "/later"
        local weak = setmetatable({}, { __mode = "v" })
        local events = {}
        do
            local callback = function(e) events[#events + 1] = e end
            weak[1] = callback
            assert.is_false(c:stat(path, callback))
        end
        collectgarbage(); collectgarbage()
        assert.is_function(weak[1])
        assert(other:create(path, ""))
        assert.are.equal(1, c:dispatch(2000))
        assert.are.same({ { type = 1, state = 3, path = path } }, events)
    end)

    it("that raise are reported on stderr and the host goes on", function()
        local path = node()
        local code = H.second_client_code(string.format([[
local other = assert(zk.new{ connect_string = %q, timeout = 5000 })
assert(other:connect())
local after = {}
assert(c:get(%q, function() error("boom in a callback") end))
assert(c:get(%q, function() error({ "not a string" }) end))
assert(c:get(%q, function(e) after[#after + 1] = e.type end))
assert(other:set_data(%q, "x"))
local ran = 0
for _ = 1, 20 do
    ran = ran + c:dispatch(200)
    if ran == 3 then break end
end
io.stdout:write("ran=", ran, " after=", table.concat(after, ","), " exists=", tostring(c:exists(%q)), "\n")
other:close()
]], H.connect_string, path, path, path, path, path))
        local out, status = H.run_lua(code)
        assert.are.equal(0, status)
        assert.is_truthy(out:find("ran=3 after=3 exists=true", 1, true), out)
        assert.is_truthy(out:find("resty.zookeeper: error in callback: [^\n]*boom in a callback"), out)
        assert.is_truthy(out:find("resty.zookeeper: error in callback: (error object is not a string)", 1, true), out)
        assert.is_truthy(out:find("stack traceback:", 1, true), out)
    end)

    it("that raise do not reach the caller in this process either", function()
        local path = node()
        local after = {}
        assert(c:get(path, function() error("raised on purpose by callbacks_spec (expected on stderr)") end))
        assert(c:get(path, function(e) after[#after + 1] = e.type end))
        assert(other:set_data(path, "x"))
        local ok, ran = pcall(function()
            local total = 0
            H.wait_until(function() total = total + c:dispatch(200); return total == 2 end, 5)
            return total
        end)
        assert.is_true(ok)
        assert.are.equal(2, ran)
        assert.are.same({ 3 }, after)
        assert.is_true(c:exists(path))
    end)

    it("that yield are reported and the host goes on", function()
        local path = node()
        local out, status = H.run_lua(H.second_client_code(string.format([[
assert(c:get(%q, function() coroutine.yield(1) end))
local other = assert(zk.new{ connect_string = %q, timeout = 5000 })
assert(other:connect())
assert(other:set_data(%q, "x"))
local co = coroutine.wrap(function() return c:dispatch(3000) end)
io.stdout:write("ran=", co(), " alive=", tostring(c:exists(%q)), "\n")
other:close()
]], path, H.connect_string, path, path)))
        assert.are.equal(0, status)
        assert.is_truthy(out:find("ran=1 alive=true", 1, true), out)
        assert.is_truthy(out:find("resty.zookeeper: error in callback: [^\n]*yield"), out)
    end)
end)
