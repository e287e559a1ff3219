-- Errors that carry their code: every method's failure has the numeric code as its last value
-- (the contract's two values unchanged before it), zk.errors names every code, a session that
-- is over says so, and the options of zk.new are checked, not ignored.
local H = require("test.spec.helper")
local zk = H.zk
local E = zk.errors

describe("errors", function()
    local c, root
    H.rooted("errors", function(client, path) c, root = client, path end)

    it("zk.errors names every ZooKeeper code and the client's own", function()
        local expected = {
            OK = 0, SYSTEMERROR = -1, RUNTIMEINCONSISTENCY = -2, DATAINCONSISTENCY = -3, CONNECTIONLOSS = -4,
            MARSHALLINGERROR = -5, UNIMPLEMENTED = -6, OPERATIONTIMEOUT = -7, BADARGUMENTS = -8, UNKNOWNSESSION = -12,
            NEWCONFIGNOQUORUM = -13, RECONFIGINPROGRESS = -14, APIERROR = -100, NONODE = -101, NOAUTH = -102,
            BADVERSION = -103, NOCHILDRENFOREPHEMERALS = -108, NODEEXISTS = -110, NOTEMPTY = -111,
            SESSIONEXPIRED = -112, INVALIDCALLBACK = -113, INVALIDACL = -114, AUTHFAILED = -115, SESSIONMOVED = -118,
            NOTREADONLY = -119, EPHEMERALONLOCALSESSION = -120, NOWATCHER = -121, REQUESTTIMEOUT = -122,
            RECONFIGDISABLED = -123, SESSIONCLOSEDREQUIRESASLAUTH = -124, QUOTAEXCEEDED = -125, THROTTLEDOP = -127,
            CLOSED = -1001, FRAMETOOLARGE = -1002,
        }
        assert.are.same(expected, E)
        assert.are.equal(E, require("zookeeper").errors)
    end)

    it("the contract's methods keep their words and add the code", function()
        local missing = root .. "/missing"
        assert.are.same({ n = 3, nil, "node does not exist", E.NONODE }, H.pack(c:get_data(missing)))
        assert.are.same({ n = 3, nil, "node does not exist", E.NONODE }, H.pack(c:get_children(missing)))
        assert.are.same({ n = 3, nil, "node does not exist", E.NONODE }, H.pack(c:delete(missing)))
        assert.are.same({ n = 3, nil, "parent node does not exist", E.NONODE }, H.pack(c:create(missing .. "/x", "")))
        assert.are.same({ n = 3, nil, "node already exists", E.NODEEXISTS }, H.pack(c:create(root, "")))
        assert(c:create(root .. "/v", "x"))
        assert.are.same({ n = 3, nil, "bad version", E.BADVERSION }, H.pack(c:delete(root .. "/v", 7)))
        assert(c:create(root .. "/v/child", ""))
        assert.are.same({ n = 3, nil, "zk error code: -111", E.NOTEMPTY }, H.pack(c:delete(root .. "/v")))
        assert.are.same({ n = 3, nil, "invalid watch kind: sideways", E.BADARGUMENTS }, H.pack(c:watch(root, "sideways")))
        local fresh = H.new()
        assert.are.same({ n = 3, nil, "not connected", E.CLOSED }, H.pack(fresh:exists("/")))
        assert.are.same({ n = 3, nil, "not connected", E.CLOSED }, H.pack(fresh:get("/")))
        assert.are.same({ n = 3, nil, "empty connect string", E.BADARGUMENTS }, H.pack(fresh:connect(" ")))
    end)

    it("a client whose core was collected (resurrected by a finalizer) answers not connected with its code", function()
        local saved
        do
            local client = H.new()
            local keeper = newproxy(true)
            getmetatable(keeper).__gc = function() saved = client end
        end
        collectgarbage()
        collectgarbage()
        assert.is_truthy(saved)
        assert.are.same({ n = 3, nil, "not connected", E.CLOSED }, H.pack(saved:exists("/")))
        assert.are.same({ n = 3, nil, "not connected", E.CLOSED }, H.pack(saved:exists_async("/"):wait()))
    end)

    it("the methods beyond the contract answer message and code", function()
        assert.are.same({ n = 3, nil, "node does not exist", E.NONODE }, H.pack(c:get(root .. "/missing")))
        assert.are.same({ n = 3, nil, "no such watcher", E.NOWATCHER }, H.pack(c:check_watches(root)))
    end)

    it("after an expiry every method says the session expired, not 'not connected'", function()
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 6000 })
        local states = {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        local sid = client.session_id
        proxy.cut()
        assert.are.equal(sid, H.end_session(sid, client.session_passwd))
        proxy.restore()
        H.wait_until(function() client:dispatch(200); return states[#states] == "expired" end, 15)
        assert.are.equal("expired", client:session_state())
        local expired = { n = 3, nil, "session expired", E.SESSIONEXPIRED }
        assert.are.same(expired, H.pack(client:exists("/")))
        assert.are.same(expired, H.pack(client:get_data("/")))
        assert.are.same(expired, H.pack(client:create(root .. "/late", "")))
        assert.are.same(expired, H.pack(client:watch("/")))
        assert.are.same(expired, H.pack(client:get("/")))
        -- (multi adds the operations' results as a fourth value: none here)
        assert.are.same({ n = 4, nil, "session expired", E.SESSIONEXPIRED }, H.pack(client:multi({ { op = "check", path = "/" } })))
        assert.are.same(expired, H.pack(client:add_auth("digest", "u:p")))
        assert.are.same({ n = 3, nil, "session expired", E.SESSIONEXPIRED }, H.pack(client:get_async("/"):wait()))
        -- closed, it is "not connected" again, and connects with a new session
        assert.is_true(client:close())
        assert.are.same({ n = 3, nil, "not connected", E.CLOSED }, H.pack(client:exists("/")))
        assert.is_true(client:connect())
        assert.are_not.equal(sid, client.session_id)
    end)

    it("after a refused auth every method says so", function()
        local client = H.client()
        local states = {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        -- a scheme the server has no provider for ends the session (AUTHFAILED)
        assert.are.same({ n = 3, nil, "auth failed, err=-115", E.AUTHFAILED }, H.pack(client:add_auth("nosuchscheme", "x")))
        H.wait_until(function() client:dispatch(100); return states[#states] == "auth_failed" end, 5)
        assert.are.equal("auth_failed", client:session_state())
        local refused = { n = 3, nil, "authentication failed", E.AUTHFAILED }
        assert.are.same(refused, H.pack(client:exists("/")))
        assert.are.same(refused, H.pack(client:get_children("/")))
        assert.are.same(refused, H.pack(client:stat("/")))
    end)

    it("connect() while the session reconnects waits for it and keeps it", function()
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 8000, timeout = 5000 })
        local states = {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        local path = root .. "/kept"
        assert(client:create(path, "", "ephemeral"))
        local sid = client.session_id
        proxy.cut()
        H.wait_until(function() client:dispatch(100); return states[#states] == "disconnected" end, 10)
        assert.are.equal("connecting", client:session_state())
        proxy.restore()
        assert.are.same({ n = 1, true }, H.pack(client:connect()))
        assert.are.equal(sid, client.session_id, "connect() replaced a live session")
        assert.are.equal("connected", client:session_state())
        assert.is_true(c:exists(path), "the session's ephemeral node went")
    end)

    it("a reply over max_frame_bytes is its own error, and the client goes on", function()
        assert(c:create(root .. "/big", string.rep("x", 4000)))
        assert(c:create(root .. "/small", "s"))
        local client = H.client({ max_frame_bytes = 2048 })
        local packed = H.pack(client:get_data(root .. "/big"))
        assert.are.equal(3, packed.n)
        assert.is_nil(packed[1])
        assert.are.equal(E.FRAMETOOLARGE, packed[3])
        assert.matches("exceeds the frame limit of 2048 bytes", packed[2], 1, true)
        local got = H.pack(client:get(root .. "/big"))
        assert.are.equal(E.FRAMETOOLARGE, got[3])
        assert.are.equal("s", client:get_data(root .. "/small"))
        assert.are.equal(4000, #c:get_data(root .. "/big"))
    end)

    it("zk.new refuses options it does not know, and checks max_frame_bytes", function()
        assert.are.same({ n = 2, nil, "unknown option 'session_timout'" }, H.pack(zk.new({ session_timout = 5000 })))
        assert.are.same({ n = 2, nil, "unknown option 'tsl'" }, H.pack(zk.new({ tsl = { verify = true } })))
        assert.are.same({ n = 2, nil, "unknown option '[1]'" }, H.pack(zk.new({ "127.0.0.1:2181" })))
        assert.are.same({ n = 2, nil, "unknown option 'name'" }, H.pack(zk.new({ name = "default" })))
        local limits = "max_frame_bytes must be a whole number of bytes from 1024 to 1073741824"
        assert.are.same({ n = 2, nil, limits }, H.pack(zk.new({ max_frame_bytes = 10 })))
        assert.are.same({ n = 2, nil, limits }, H.pack(zk.new({ max_frame_bytes = "big" })))
        assert.is_truthy(zk.new({ connect_string = H.connect_string, max_frame_bytes = 1024 * 1024 }))
    end)
end)
