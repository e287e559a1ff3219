-- Pipelining from one Lua thread: client:batch sends every request at once and answers, for
-- each call, exactly what that call would have returned on its own.
local H = require("test.spec.helper")

describe("batch", function()
    local c, root
    H.rooted("batch", function(client, path) c, root = client, path end, "root-data")

    it("answers each call as the call alone would", function()
        local results = assert(c:batch{
            { "exists", root },
            { "get_data", root },
            { "get_data", root .. "/missing" },
            { "create", root .. "/kid", "k", "ephemeral" },
            { "set_data", root, "v2" },
            { "get_children", root },
            { "stat", root .. "/missing" },
            { "delete", root .. "/missing" },
            { "get_data", "no-slash" },
        })
        assert.are.equal(9, #results)
        assert.are.same({ n = 1, true }, results[1])
        assert.are.same({ n = 1, "root-data" }, results[2])
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, results[3])
        assert.are.same({ n = 1, root .. "/kid" }, results[4])
        assert.are.equal(1, results[5][1].version, "requests run in order: set_data after create")
        assert.are.same({ n = 1, { "kid" } }, results[6])
        assert.are.same({ n = 1, false }, results[7])
        assert.are.same({ n = 3, nil, "node does not exist", -101 }, results[8])
        assert.are.same({ n = 3, nil, "invalid path", -8 }, results[9])
    end)

    it("keeps a thousand requests in flight", function()
        local calls = {}
        for i = 1, 1000 do calls[i] = { i % 2 == 0 and "exists" or "get_data", root } end
        local results = assert(c:batch(calls))
        assert.are.equal(1000, #results)
        for i = 1, 1000 do
            assert.are.same(i % 2 == 0 and { n = 1, true } or { n = 1, "v2" }, results[i])
        end
        assert.is_true(c:exists(root), "the client is still usable")
    end)

    it("refuses what cannot be batched, and stays usable", function()
        local ok, err = pcall(c.batch, c, { { "watch", root } })
        assert.is_false(ok)
        assert.is_truthy(err:find("\"watch\" cannot be batched", 1, true), err)
        ok, err = pcall(c.batch, c, { { "get_data", root }, { "exists" } })
        assert.is_false(ok)
        assert.is_truthy(err:find("(call 2 of batch)", 1, true), err)
        ok, err = pcall(c.batch, c, {})
        assert.is_false(ok)
        ok, err = pcall(c.batch, c, { "exists" })
        assert.is_false(ok)
        assert.are.same({ n = 1, { { n = 1, true } } }, H.pack(c:batch{ { "exists", root } }))
    end)
end)
