-- The cosocket driver's links (lua/resty/zookeeper/cosocket/links.lua) outside nginx, on a
-- recorded fake ngx.socket.tcp and the real native core in hosted mode: what reaches
-- sock:connect for each host of a connect string. nginx parses that host as a URL's, so an
-- IPv6 literal must arrive bracketed ("[::1]"; the bare "::1" fails with "invalid port", as
-- nginx 1.22's lua module answers). Unit level: the servers here listen on 127.0.0.1 only.
local H = require("test.spec.helper")

describe("cosocket links", function()
    local connects, links, native

    setup(function()
        connects = {}
        local function fake_socket()
            return {
                settimeout = function() end,
                connect = function(_, host, port)
                    connects[#connects + 1] = host .. " " .. tostring(port)
                    return nil, "connection refused"
                end,
                close = function() end,
            }
        end
        _G.ngx = {
            log = function() end, DEBUG = 8, ERR = 4,
            socket = { tcp = fake_socket },
            thread = { kill = function() end },
        }
        package.loaded["resty.zookeeper.cosocket.links"] = nil
        native = H.zk._hosted
        links = require("resty.zookeeper.cosocket.links")(native)
    end)

    teardown(function()
        _G.ngx = nil
        package.loaded["resty.zookeeper.cosocket.links"] = nil
    end)

    it("brackets an IPv6 literal for sock:connect and leaves other hosts alone", function()
        local core = assert(H.zk.new({ connect_string = "[::1]:2181,127.0.0.1:2182,zk.example:2183", _hosted = true }))
        native.begin(core, "connect")
        local st = { core = core, links = {}, connect_timeout = 100 }
        links.flush(st)
        table.sort(connects)
        -- One round: every host tried once, each refused, then the core pauses before the next.
        assert.are.same({ "127.0.0.1 2182", "[::1] 2181", "zk.example 2183" }, connects)
        assert.is_nil(st.current)
    end)
end)
