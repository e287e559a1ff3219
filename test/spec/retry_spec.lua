-- client:retry(fn [, policy]): fn is called again after a retryable failure (connection loss,
-- time-out...), with RetryPolicy's back-off, until it answers otherwise or the policy gives up;
-- the wait keeps the session driven. Across a real connection loss (a proxy of ours cut and
-- restored), giving up after N attempts, and the caller's mistakes.
local H = require("test.spec.helper")
local zk = H.zk

local LOSS = zk.errors.CONNECTIONLOSS

describe("retry", function()
    local c, root
    H.rooted("retry", function(client, path) c, root = client, path end, "root data")

    -- A function failing as a lost connection does, `failures` times, then answering `...`;
    -- counts its calls in `calls.n`.
    local function flaky(calls, failures, ...)
        local answer = H.pack(...)
        return function()
            calls.n = calls.n + 1
            if calls.n <= failures then return nil, "connection loss", LOSS end
            return unpack(answer, 1, answer.n)
        end
    end

    it("answers fn's own results, every one, when it does not fail", function()
        local calls = { n = 0 }
        assert.are.same({ n = 4, "a", nil, 3, false }, H.pack(c:retry(flaky(calls, 0, "a", nil, 3, false))))
        assert.are.equal(1, calls.n)
        assert.are.same({ n = 2, "root data", 0 }, H.pack(c:retry(function()
            local data, stat = c:get(root)
            return data, stat.version
        end)))
        -- `nil, err` without a code, or false: an answer, not a failure
        assert.are.same({ n = 2, nil, "no code" }, H.pack(c:retry(function() return nil, "no code" end)))
        assert.are.same({ n = 3, false, "x", LOSS }, H.pack(c:retry(function() return false, "x", LOSS end)))
    end)

    it("calls fn again after a retryable failure, with the policy's back-off", function()
        local calls = { n = 0 }
        local started = H.now()
        assert.are.equal("done", c:retry(flaky(calls, 3, "done"), { attempts = 5, base_ms = 100, max_ms = 1000 }))
        local took = H.now() - started
        assert.are.equal(4, calls.n)
        -- back-offs of 100, 200, 400 ms, each jittered over its upper half: 350 to 700 ms
        assert.is_true(took >= 0.33 and took < 2, "took " .. took)
    end)

    it("gives up after `attempts` attempts with fn's last answer", function()
        local calls = { n = 0 }
        assert.are.same({ n = 3, nil, "connection loss", LOSS },
            H.pack(c:retry(flaky(calls, 100, "never"), { attempts = 3, base_ms = 10 })))
        assert.are.equal(3, calls.n)
        calls.n = 0
        assert.are.same({ n = 3, nil, "connection loss", LOSS }, H.pack(c:retry(flaky(calls, 100), { attempts = 1 })))
        assert.are.equal(1, calls.n)
    end)

    it("gives up when the next attempt would start after deadline_ms", function()
        local calls = { n = 0 }
        local started = H.now()
        assert.is_nil((c:retry(flaky(calls, 1000), { attempts = 1000, base_ms = 50, max_ms = 50, deadline_ms = 500 })))
        local took = H.now() - started
        -- (without the deadline: 1000 calls, 25 s at least)
        assert.is_true(took >= 0.45 and took < 1.5, "took " .. took)
        -- back-offs of 25 to 50 ms: no more calls than fit in the deadline
        assert.is_true(calls.n >= 2 and calls.n <= 21, calls.n .. " calls")
    end)

    it("does not retry answers that another attempt would not change", function()
        for _, code in ipairs({ zk.errors.NONODE, zk.errors.NODEEXISTS, zk.errors.BADVERSION, zk.errors.SESSIONEXPIRED,
            zk.errors.AUTHFAILED, zk.errors.CLOSED }) do
            local calls = 0
            local answer = H.pack(c:retry(function()
                calls = calls + 1
                return nil, "failed", code
            end))
            assert.are.same({ n = 3, nil, "failed", code }, answer)
            assert.are.equal(1, calls, "code " .. code)
        end
        local calls = { n = 0 }
        assert.are.same({ nil, "node does not exist", zk.errors.NONODE }, { c:retry(function()
            calls.n = calls.n + 1
            return c:get_data(root .. "/missing")
        end) })
        assert.are.equal(1, calls.n)
        -- a code that is no number, or out of range, is an answer too
        assert.are.same({ n = 3, nil, "odd", 1e300 }, H.pack(c:retry(function() return nil, "odd", 1e300 end)))
    end)

    it("keeps the session driven while it waits: callbacks run between attempts", function()
        local path = root .. "/watched"
        assert(c:create(path, "1"))
        local fired = {}
        assert(c:get(path, function(event) fired[#fired + 1] = event.type end))
        assert(H.client():set_data(path, "2"))
        -- fails until the watch's callback has run: only the retry's waits can run it
        local calls = 0
        local answer = c:retry(function()
            calls = calls + 1
            if #fired == 0 then return nil, "not yet", LOSS end
            return "heard"
        end, { attempts = 100, base_ms = 20, max_ms = 50 })
        assert.are.equal("heard", answer)
        assert.is_true(calls >= 2, calls .. " calls")
        assert.are.same({ 3 }, fired)
    end)

    -- A client through a proxy of ours (stopped after the test), with the request time-out
    -- `timeout_ms`, and the session states it hears.
    local function proxied(timeout_ms)
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 10000, timeout = timeout_ms })
        local states = {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        return proxy, client, states
    end

    it("carries a read across a real connection loss", function()
        local proxy, client, states = proxied(1000)
        local path = root .. "/across"
        assert(c:create(path, "still here"))
        proxy.cut()
        -- the server is out of reach for a second; fn brings it back when that has passed
        local back_at = H.now() + 1
        local answers = {}
        local data, err, code = client:retry(function()
            if H.now() >= back_at then proxy.restore() end
            local got = H.pack(client:get_data(path))
            answers[#answers + 1] = got[3] or "ok"
            return unpack(got, 1, got.n)
        end, { attempts = 30, base_ms = 100, max_ms = 300, deadline_ms = 8000 })
        assert.are.same({ "still here", nil, nil }, { data, err, code }, table.concat(answers, ","))
        assert.is_true(#answers >= 2, table.concat(answers, ","))
        for i = 1, #answers - 1 do
            assert.is_true(answers[i] == LOSS or answers[i] == zk.errors.OPERATIONTIMEOUT, table.concat(answers, ","))
        end
        assert.are.equal("ok", answers[#answers])
        -- the state changes were heard while retry waited, the session kept
        assert.are.same({ "disconnected", "reconnected" }, { states[1], states[#states] })
        assert.are.equal("connected", client:session_state())
    end)

    it("gives up after N attempts while the server stays out of reach", function()
        local proxy, client = proxied(500)
        proxy.cut()
        local calls = 0
        local started = H.now()
        local data, err, code = client:retry(function()
            calls = calls + 1
            return client:get_data(root)
        end, { attempts = 3, base_ms = 50 })
        local took = H.now() - started
        assert.is_nil(data)
        assert.is_string(err)
        assert.is_true(code == LOSS or code == zk.errors.OPERATIONTIMEOUT, tostring(code))
        assert.are.equal(3, calls)
        assert.is_true(took < 5, "took " .. took)
        proxy.restore()
        assert.are.equal("root data", client:retry(function() return client:get_data(root) end, { attempts = 50, base_ms = 100, max_ms = 200 }))
    end)

    it("refuses bad arguments with a clear error, and the client stays usable", function()
        local function raised(...)
            local ok, err = pcall(c.retry, c, ...)
            assert.is_false(ok)
            return (tostring(err):gsub("^[^:]*:%d+: ", ""))
        end
        assert.are.equal("bad argument #2 to 'retry' (function expected, got nil)", raised())
        assert.are.equal("bad argument #2 to 'retry' (function expected, got string)", raised("get_data"))
        local fn = function() error("fn must not run") end
        assert.are.equal("bad argument #3 to 'retry' (table expected, got number)", raised(fn, 3))
        assert.are.equal("bad argument #3 to 'retry' (unknown policy field 'tries' (known: attempts, base_ms, max_ms, deadline_ms))",
            raised(fn, { tries = 3 }))
        assert.are.equal("bad argument #3 to 'retry' (unknown policy field [1] (known: attempts, base_ms, max_ms, deadline_ms))",
            raised(fn, { 5 }))
        assert.are.equal("bad argument #3 to 'retry' (policy.attempts: integer between 1 and 1000000 expected, got 0)",
            raised(fn, { attempts = 0 }))
        assert.are.equal("bad argument #3 to 'retry' (policy.base_ms: integer between 0 and 86400000 expected, got 1.5)",
            raised(fn, { base_ms = 1.5 }))
        assert.are.equal("bad argument #3 to 'retry' (policy.max_ms: must be at least base_ms (500), got 100)",
            raised(fn, { base_ms = 500, max_ms = 100 }))
        assert.are.equal("bad argument #3 to 'retry' (policy.deadline_ms: number expected, got string)",
            raised(fn, { deadline_ms = "soon" }))
        -- an error fn raises goes through, not retried
        local calls = 0
        local ok, err = pcall(c.retry, c, function() calls = calls + 1; error("boom", 0) end)
        assert.are.same({ false, "boom", 1 }, { ok, err, calls })
        assert.are.equal("root data", c:retry(function() return c:get_data(root) end))
    end)
end)
