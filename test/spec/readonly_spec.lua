-- `read_only = true` from Lua (the direct driver), against servers of its own: a 3-node
-- ensemble started with readonlymode.enabled whose servers 1 and 2 are killed, so that server 3
-- serves read-only, and a single server ("other"), down at first. Before any of this the
-- option was tested from Swift and in nginx only.
local H = require("test.spec.helper")
local zk = H.zk

local TESTBED = H.shell_quote(H.root .. "/scripts/zk-testbed.sh")

local function testbed(args, env)
    local out, status = H.run((env or "") .. " " .. TESTBED .. " " .. args)
    assert(status == 0, "zk-testbed.sh " .. args .. ": " .. out)
    return (out:gsub("%s+$", ""))
end

local function isro(address)
    return H.four_letter("isro", address)
end

describe("read_only = true (direct driver)", function()
    local dir, ro, other

    setup(function()
        dir = H.run("mktemp -d /tmp/zk-readonly-spec.XXXXXX"):gsub("%s+$", "")
        testbed("start-ensemble " .. H.shell_quote(dir .. "/ensemble"),
            -- (a real newline between the lines: the shell here is sh, without $'...')
            "ZK_TESTBED_CONFIG='localSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true' "
            .. "ZK_TESTBED_JVM_OPTIONS=-Dreadonlymode.enabled=true")
        other = testbed("start-single " .. H.shell_quote(dir .. "/other"))
        testbed("kill9 " .. H.shell_quote(dir .. "/other"))
        testbed("kill9 " .. H.shell_quote(dir .. "/ensemble") .. " 1")
        testbed("kill9 " .. H.shell_quote(dir .. "/ensemble") .. " 2")
        local port = assert(io.open(dir .. "/ensemble/3/port")):read("*l")
        ro = "127.0.0.1:" .. port
        assert(H.wait_until(function() return isro(ro) == "ro" end, 30, 0.2), "server 3 never became read-only")
    end)

    teardown(function()
        H.close_all()
        if dir then
            H.run(TESTBED .. " stop " .. H.shell_quote(dir .. "/ensemble"))
            H.run(TESTBED .. " stop " .. H.shell_quote(dir .. "/other"))
            H.run("rm -rf " .. H.shell_quote(dir))
        end
        H.report_assertions()
    end)

    it("reads from a read-only server, and a write fails with NOTREADONLY", function()
        local client = H.new{ connect_string = ro, read_only = true }
        assert.is_true(client:connect())
        H.clients[#H.clients + 1] = client
        assert.are.equal("connected_read_only", client:session_state())
        local children = client:get_children("/")
        assert.is_truthy(children, "get_children on a read-only server")
        local ok, err, code = client:create("/readonly-" .. H.run_id, "x")
        assert.is_nil(ok)
        assert.are.equal(zk.errors.NOTREADONLY, code, tostring(err))
        -- Still there after the refusal.
        assert.are.equal("connected_read_only", client:session_state())
        assert.is_truthy(client:exists("/zookeeper"))
    end)

    it("without it, a read-only server is no server: connect fails", function()
        local client = H.new{ connect_string = ro, timeout = 2000 }
        local started = H.now()
        local ok, err = client:connect()
        assert.is_nil(ok)
        assert.is_truthy(err)
        assert.is_true(H.now() - started < 10, "took " .. (H.now() - started))
        client:close()
    end)

    it("moves by itself to a read-write server that comes up", function()
        -- No read before the move: a session that has seen the ensemble's zxids would be
        -- refused by a server of another ensemble (rightly; "other" stands in for a member).
        local states = {}
        local client = H.new{ connect_string = ro .. "," .. other, read_only = true }
        client:on_state(function(state) states[#states + 1] = state end)
        assert.is_true(client:connect())
        H.clients[#H.clients + 1] = client
        assert.are.equal("connected_read_only", client:session_state())
        testbed("restart " .. H.shell_quote(dir .. "/other"))
        local moved = H.wait_until(function()
            client:dispatch(50) -- runs the state callbacks
            return client:session_state() == "connected"
        end, 60, 0.05)
        assert.is_truthy(moved, "still " .. tostring(client:session_state()) .. "; states " .. table.concat(states, " "))
        local path = assert(client:create("/moved-" .. H.run_id, "x", "ephemeral"))
        assert.are.equal("x", (client:get_data(path)))
        assert.are.equal("ro", isro(ro), "the read-only server stayed so")
    end)
end)
