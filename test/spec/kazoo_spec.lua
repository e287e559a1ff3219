-- Cross-checks with kazoo (/usr/bin/python3, python3-kazoo), a client written independently:
-- what the Lua client writes kazoo reads and the other way round, stats agree field by field,
-- kazoo's changes fire the Lua callbacks, and the session id and password are the real ones.
local H = require("test.spec.helper")
local zk = H.zk

local kazoo = H.kazoo_values

describe("kazoo", function()
    local c, root
    H.rooted("kazoo", function(client, path) c, root = client, path end)

    it("sees a Lua client's ephemeral node, owned by its session, and not after close()", function()
        local client = H.client()
        local path = root .. "/eph"
        assert.are.equal(path, client:create(path, "ephemeral data", "ephemeral"))
        local seen = kazoo([[
data, stat = zk.get(sys.argv[1])
print("data=" + data.decode())
print("owner=" + hex(stat.ephemeralOwner))
]], path)
        assert.are.equal("ephemeral data", seen.data)
        assert.are.equal(client.session_id, seen.owner)
        assert.is_true(client:close())
        local after = kazoo([[print("exists=" + str(zk.exists(sys.argv[1]) is not None))]], path)
        assert.are.equal("False", after.exists)
    end)

    it("reads what Lua wrote and Lua reads what kazoo wrote, binary data included", function()
        local path = root .. "/both"
        local binary = "\0\1\2\255 lua"
        assert(c:create(path, binary))
        local seen = kazoo([[
data, _ = zk.get(sys.argv[1])
print("hex=" + data.hex())
zk.create(sys.argv[1] + "/from-kazoo", bytes([0, 255, 1]) + b" kazoo")
zk.create(sys.argv[1] + "/seq-", b"s", sequence=True)
]], path)
        assert.are.equal(H.hex(binary), seen.hex)
        assert.are.equal("\0\255\1 kazoo", c:get_data(path .. "/from-kazoo"))
        local names = H.sorted(c:get_children(path))
        assert.are.equal(2, #names)
        assert.are.equal("from-kazoo", names[1])
        assert.is_truthy(names[2]:match("^seq%-%d%d%d%d%d%d%d%d%d%d$"), names[2])
    end)

    it("agrees on every field of a stat", function()
        local path = root .. "/stat"
        assert(c:create(path, "abc"))
        assert(c:create(path .. "/kid", ""))
        assert(c:set_data(path, "abcd"))
        local _, stat = c:get(path)
        local k = kazoo([[
_, s = zk.get(sys.argv[1])
for name in ("czxid", "mzxid", "pzxid", "ephemeralOwner"):
    print(name + "=" + hex(getattr(s, name)))
for name in ("ctime", "mtime", "version", "cversion", "aversion", "dataLength", "numChildren"):
    print(name + "=" + str(getattr(s, name)))
]], path)
        assert.are.same({
            czxid = k.czxid, mzxid = k.mzxid, pzxid = k.pzxid, ephemeral_owner = k.ephemeralOwner,
            ctime = tonumber(k.ctime), mtime = tonumber(k.mtime), version = tonumber(k.version),
            cversion = tonumber(k.cversion), aversion = tonumber(k.aversion),
            data_length = tonumber(k.dataLength), num_children = tonumber(k.numChildren),
        }, stat)
        assert.are.equal(1, stat.version)
        assert.are.equal(1, stat.num_children)
    end)

    it("agrees on ACLs and digest ids", function()
        local path = root .. "/acl"
        local acl = zk.digest_acl("dave", "s3cret", 31)
        assert(c:create(path, "for dave", "persistent", false, { acl = { acl } }))
        local k = kazoo([[
from kazoo.security import make_digest_acl_credential
print("id=" + make_digest_acl_credential("dave", "s3cret"))
zk.add_auth("digest", "dave:s3cret")
data, _ = zk.get(sys.argv[1])
print("data=" + data.decode())
acls, _ = zk.get_acls(sys.argv[1])
print("acl=%s|%s|%d" % (acls[0].id.scheme, acls[0].id.id, acls[0].perms))
]], path)
        assert.are.equal(zk.digest_id("dave", "s3cret"), k.id)
        assert.are.equal("for dave", k.data)
        assert.are.equal("digest|" .. acl.id .. "|31", k.acl)
    end)

    it("fires the Lua get, stat and children callbacks and a persistent watch", function()
        local path = root .. "/watched"
        assert(c:create(path, ""))
        local events = {}
        local function record(tag) return function(e) events[#events + 1] = { tag, e.type, e.path } end end
        assert.are.equal("", (c:get(path, record("get"))))
        assert.are.same({}, (c:children(path, record("children"))))
        assert.is_false(c:stat(path .. "/new", record("stat")))
        -- (on another session: the server lets a recursive watch replace a one-shot child watch
        -- of the same session and path, and recursive watches hear no child events)
        local watcher = H.client()
        assert.is_true(watcher:add_watch(path, "persistent_recursive", record("recursive")))
        kazoo([[
zk.set(sys.argv[1], b"changed by kazoo")
zk.create(sys.argv[1] + "/new", b"")
zk.delete(sys.argv[1] + "/new")
]], path)
        H.wait_until(function() c:dispatch(100); watcher:dispatch(100); return #events >= 6 end, 10)
        assert.are.equal(0, c:dispatch(300) + watcher:dispatch(1))
        local by_tag = {}
        for _, e in ipairs(events) do
            by_tag[e[1]] = by_tag[e[1]] or {}
            table.insert(by_tag[e[1]], { e[2], e[3] })
        end
        assert.are.same({ { 3, path } }, by_tag.get)
        assert.are.same({ { 4, path } }, by_tag.children)
        assert.are.same({ { 1, path .. "/new" } }, by_tag.stat)
        assert.are.same({ { 3, path }, { 1, path .. "/new" }, { 2, path .. "/new" } }, by_tag.recursive)
        assert.are.equal(6, #events)
        assert.are.equal("changed by kazoo", c:get_data(path))
        assert.is_true(watcher:remove_watches(path, "any"))
    end)

    it("fires the blocking watch() from a kazoo process in the background", function()
        local path = root .. "/blocking"
        assert(c:create(path, ""))
        local marker = os.tmpname()
        os.remove(marker)
        os.execute("( /usr/bin/python3 " .. H.shell_quote(H.root .. "/test/kazoo_peer.py") .. " "
            .. H.shell_quote(H.connect_string) .. " exec " .. H.shell_quote("import time\ntime.sleep(0.5)\nzk.create(sys.argv[1] + '/k', b'')")
            .. " " .. H.shell_quote(path) .. " >/dev/null 2>&1; echo $? > " .. H.shell_quote(marker) .. " ) &")
        local client = H.client({ timeout = 10000 })
        local event, err = client:watch(path, "get_children")
        assert.is_nil(err)
        assert.are.same({ type = 4, state = 3, path = path }, event)
        local status = H.wait_until(function()
            local f = io.open(marker)
            if not f then return nil end
            local text = f:read("*a")
            f:close()
            return tonumber(text)
        end, 15)
        os.remove(marker)
        assert.are.equal(0, status)
    end)

    it("session_id and session_passwd are the real ones: kazoo resumes the session with them", function()
        -- The Lua client talks to the server through a proxy of ours: cut, it cannot take its
        -- session back while kazoo holds it.
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 6000 })
        local states = {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        local path = root .. "/resumed"
        assert(client:create(path, "mine", "ephemeral"))
        local sid, passwd = client.session_id, H.hex(client.session_passwd)
        -- a wrong password does not get the session (kazoo falls back to a new one, or fails)
        local wrong = kazoo([[
from kazoo.client import KazooClient
other = KazooClient(hosts=sys.argv[0], client_id=(int(sys.argv[1], 16), b"0" * 16), timeout=4)
try:
    other.start(timeout=5)
    print("started=" + hex(other.client_id[0]))
    other.stop()
except Exception as e:
    print("refused=" + type(e).__name__)
other.close()
]], sid)
        assert.is_truthy(wrong.started or wrong.refused)
        assert.are_not.equal(sid, wrong.started)
        -- (the server drops the session's connection before it checks the password: the Lua
        -- client reconnects to its session)
        H.wait_until(function() client:dispatch(100); return states[#states] == "reconnected" end, 10)
        -- (kazoo may try more than once: each try costs the Lua client one reconnect)
        assert.is_true(#states >= 2 and #states % 2 == 0, table.concat(states, ","))
        for i = 1, #states, 2 do
            assert.are.same({ "disconnected", "reconnected" }, { states[i], states[i + 1] })
        end
        assert.are.equal(sid, client.session_id)
        assert.are.equal("connected", client:session_state())
        assert.is_true(client:exists(path))
        for i = #states, 1, -1 do states[i] = nil end
        -- cut the Lua client off; kazoo resumes the session with the right password, finds the
        -- session's ephemeral node its own, and closes the session
        proxy.cut()
        local right = kazoo([[
import binascii
from kazoo.client import KazooClient
other = KazooClient(hosts=sys.argv[0], client_id=(int(sys.argv[1], 16), binascii.unhexlify(sys.argv[2])), timeout=6)
other.start(timeout=10)
print("resumed=" + hex(other.client_id[0]))
data, stat = other.get(sys.argv[3])
print("data=" + data.decode())
print("owner=" + hex(stat.ephemeralOwner))
other.stop()
other.close()
]], sid, passwd, path)
        assert.are.equal(sid, right.resumed)
        assert.are.equal("mine", right.data)
        assert.are.equal(sid, right.owner)
        assert.is_false(c:exists(path))
        -- back through the proxy, the Lua client hears that its session is gone
        proxy.restore()
        H.wait_until(function() client:dispatch(200); return states[#states] == "expired" end, 15)
        assert.are.same({ "disconnected", "expired" }, states)
        assert.are.equal("expired", client:session_state())
        assert.are.same({ n = 3, nil, "session expired", -112 }, H.pack(client:exists("/")))
        -- closed, it connects again with a new session
        assert.is_true(client:close())
        assert.is_true(client:connect())
        assert.are_not.equal(sid, client.session_id)
        assert.is_true(client:exists("/"))
    end)

    it("a client cut off for less than its session timeout reconnects to the same session", function()
        local proxy = H.proxy()
        finally(proxy.stop)
        local client = H.client({ connect_string = proxy.address, session_timeout = 6000 })
        local states = {}
        assert(client:on_state(function(s) states[#states + 1] = s end))
        local path = root .. "/kept"
        assert(client:create(path, "kept", "ephemeral"))
        local sid = client.session_id
        proxy.cut()
        H.wait_until(function() client:dispatch(100); return #states > 0 end, 10)
        assert.are.same({ "disconnected" }, states)
        -- meanwhile kazoo sees the session's node, still owned by it
        local seen = kazoo([[
_, stat = zk.get(sys.argv[1])
print("owner=" + hex(stat.ephemeralOwner))
]], path)
        assert.are.equal(sid, seen.owner)
        proxy.restore()
        H.wait_until(function() client:dispatch(200); return states[#states] == "reconnected" end, 10)
        -- (kazoo may try more than once: each try costs the Lua client one reconnect)
        assert.is_true(#states >= 2 and #states % 2 == 0, table.concat(states, ","))
        for i = 1, #states, 2 do
            assert.are.same({ "disconnected", "reconnected" }, { states[i], states[i + 1] })
        end
        assert.are.equal(sid, client.session_id)
        assert.are.equal("connected", client:session_state())
        assert.are.equal("kept", client:get_data(path))
        assert.is_true(client:close())
    end)
end)
