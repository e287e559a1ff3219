-- Pipelining with handles: client:<method>_async(...) starts the call and returns a handle at
-- once; handle:wait() answers exactly what client:<method>(...) would have.
local H = require("test.spec.helper")

describe("async handles", function()
    local c, root
    H.rooted("async", function(client, path) c, root = client, path end, "root-data")

    it("answer each call as the call alone would, in order, and again on a later wait", function()
        local handles = {
            c:exists_async(root),
            c:get_data_async(root),
            c:get_data_async(root .. "/missing"),
            c:create_async(root .. "/kid", "k", "ephemeral"),
            c:set_data_async(root, "v2"),
            c:get_children_async(root),
            c:stat_async(root .. "/missing"),
            c:delete_async(root .. "/missing"),
            c:get_data_async("no-slash"),
        }
        -- Waited out of order: each handle still gets its own answer.
        assert.are.same({ n = 3, nil, "invalid path", -8 }, H.pack(handles[9]:wait()))
        assert.are.same({ n = 1, true }, H.pack(handles[1]:wait()))
        assert.are.same({ n = 1, "root-data" }, H.pack(handles[2]:wait()))
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(handles[3]:wait()))
        assert.are.same({ n = 1, root .. "/kid" }, H.pack(handles[4]:wait()))
        assert.are.equal(1, handles[5]:wait().version, "requests run in order: set_data after create")
        assert.are.same({ n = 1, { "kid" } }, H.pack(handles[6]:wait()))
        assert.are.same({ n = 1, false }, H.pack(handles[7]:wait()))
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, H.pack(handles[8]:wait()))
        assert.are.same({ n = 1, "root-data" }, H.pack(handles[2]:wait()), "a second wait answers the same")
        assert.is_true(handles[2]:ready())
        assert.are.equal(0, c._pending_calls)
    end)

    it("keep a sliding window of 200 requests in flight over 3,000 calls", function()
        local window, total, done, started = 200, 3000, 0, 0
        local queue, head = {}, 1
        while done < total do
            while started < total and started - done < window do
                started = started + 1
                queue[started] = started % 2 == 0 and c:exists_async(root) or c:get_data_async(root)
            end
            local expected = head % 2 == 0 and true or "v2"
            assert.are.equal(expected, queue[head]:wait())
            queue[head] = nil
            head, done = head + 1, done + 1
        end
        assert.are.equal(0, c._pending_calls)
    end)

    it("become ready without a wait", function()
        local h = c:get_data_async(root)
        assert.is_true(H.wait_until(function() return h:ready() end, 5), "ready within 5 s")
        assert.are.equal("v2", h:wait())
    end)

    it("raise caller mistakes at the call, as the method does, and the client stays usable", function()
        local ok, err = pcall(c.get_data_async, c, {})
        assert.is_false(ok)
        assert.is_truthy(err:find("bad argument #2 to 'get_data_async'", 1, true), err)
        ok, err = pcall(c.watch_async, c, root, "data")
        assert.is_false(ok)
        assert.is_truthy(err:find("no method 'watch_async'", 1, true), err)
        local h = c:exists_async(root)
        ok, err = pcall(h.wait, c)
        assert.is_false(ok, "wait on something that is not a handle")
        assert.is_true(h:wait())
    end)

    it("dropped unwaited leave nothing behind", function()
        for _ = 1, 500 do c:exists_async(root) end
        collectgarbage()
        collectgarbage()
        assert.is_true(c:exists(root))
        assert.is_true(H.wait_until(function()
            c:exists(root)  -- each call drops the answers of given-up calls that have come
            return c._pending_calls == 0 and c._abandoned_calls == 0
        end, 5), "every dropped call forgotten")
    end)

    it("run callbacks that come due while they wait", function()
        local events = {}
        local h = c:get_async(root, function(event) events[#events + 1] = event.type end)
        assert.are.equal("v2", (h:wait()))
        local other = H.client()
        assert(other:set_data(root, "v3"))
        assert.is_true(H.wait_until(function()
            c:get_data_async(root):wait()
            return #events == 1
        end, 5), "the watch fired while a handle waited")
        assert.are.equal(3, events[1], "a data-changed event (3, as the original numbers it)")
    end)

    it("answer after the client closes, without hanging", function()
        local d = H.client()
        local h = d:exists_async(root)
        d:close()
        local res, err = h:wait()
        assert.is_true(res == true or (res == nil and type(err) == "string"), tostring(err))
        local late = d:exists_async(root)
        assert.are.same({ n = 3, nil, "not connected", -1001 }, H.pack(late:wait()))
    end)
end)
