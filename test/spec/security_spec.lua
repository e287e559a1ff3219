-- SASL DIGEST-MD5 and TLS from Lua (the direct driver), against the server of
-- `scripts/zk-testbed.sh start-secure` (env ZK_SECURE = "PLAIN SECURE CERTDIR", as
-- scripts/test-lua.sh exports it): user bob/bobsecret, client certificates needed on TLS.
local H = require("test.spec.helper")
local zk = H.zk

local secure = os.getenv("ZK_SECURE")
assert(secure and secure ~= "", "set ZK_SECURE (scripts/test-lua.sh starts a secure server)")
local plain, tls_port, certs = secure:match("^(%S+) (%S+) (%S+)$")
assert(plain and tls_port and certs, "ZK_SECURE must be 'PLAIN SECURE CERTDIR', got " .. secure)

local bob = { mechanism = "DIGEST-MD5", username = "bob", password = "bobsecret" }
local ours = { ca_file = certs .. "/ca.pem", cert_file = certs .. "/client.pem", key_file = certs .. "/client.key",
               server_name = "localhost" }

local function with(base, changes)
    local copy = {}
    for k, v in pairs(base) do copy[k] = v end
    for k, v in pairs(changes) do copy[k] = v end
    return copy
end

-- connect() fails at once (well under the timeout) with a message containing `text`.
local function refused(options, text)
    local client = H.new(with(options, { timeout = 10000 }))
    local started = H.now()
    local ok, err = client:connect()
    assert.is_nil(ok)
    assert.is_truthy(tostring(err):find(text, 1, true), tostring(err))
    assert.is_true(H.now() - started < 5, "took " .. (H.now() - started))
    assert.are.equal("auth_failed", client:session_state())
    client:close()
    return err
end

describe("sasl", function()
    local path = H.unique("sasl")
    after_each(H.close_all)

    it("reads a node with ACL sasl:bob after SASL, NoAuth without", function()
        local anyone = H.client({ connect_string = plain })
        assert.are.equal(path, anyone:create(path, "for bob", "persistent", false,
            { acl = { { perms = 0x1f, scheme = "sasl", id = "bob" } } }))
        assert.are.same({ n = 3, nil, "zk error code: -102", -102 }, H.pack(anyone:get_data(path)))
        local client = H.client({ connect_string = plain, sasl = bob })
        assert.are.equal("for bob", client:get_data(path))
        local found = false
        for _, identity in ipairs(client:who_am_i()) do
            if identity.scheme == "sasl" and identity.user == "bob" then found = true end
        end
        assert.is_true(found)
        assert.is_true(client:delete(path))
    end)

    it("a wrong password ends the session as auth_failed with a clear error", function()
        local err = refused({ connect_string = plain, sasl = with(bob, { password = "wrong" }) }, "refused the credentials of bob")
        assert.is_falsy(err:find("wrong", 1, true))
    end)

    it("bad sasl options are refused by zk.new, without echoing the password", function()
        for _, bad in ipairs({ "x", { mechanism = "PLAIN", username = "bob", password = "pw1" },
                               { username = "bob" }, { username = "bob", password = "pw2", extra = 1 } }) do
            local client, err = zk.new({ connect_string = plain, sasl = bad })
            assert.is_nil(client)
            assert.is_truthy(err:find("sasl", 1, true), err)
            assert.is_falsy(err:find("pw", 1, true), err)
        end
    end)
end)

describe("tls", function()
    after_each(H.close_all)

    it("connects with verification and a client certificate; who_am_i shows x509 CN=client", function()
        local client = H.client({ connect_string = tls_port, tls = ours })
        local found = false
        for _, identity in ipairs(client:who_am_i()) do
            if identity.scheme == "x509" and identity.user == "CN=client" then found = true end
        end
        assert.is_true(found)
    end)

    -- Replies of many TLS records (up to just under jute.maxbuffer): their last records must not
    -- wait in OpenSSL with the socket drained. Calls time out after 3 s, under the ping interval
    -- (a third of the 10 s session the server grants), so no ping reply can rescue a stall.
    it("reads values of many TLS records, up to 1 MB", function()
        local client = H.client({ connect_string = tls_port, tls = ours, timeout = 3000 })
        for _, size in ipairs({ 30000, 200000, 524287, 1000000 }) do
            local path = H.unique("tls-" .. size)
            local big = string.rep("0123456789abcdef", size / 16 + 1):sub(1, size)
            assert.are.equal(path, client:create(path, big, "ephemeral"))
            for _ = 1, 3 do
                local data, err = client:get_data(path)
                assert.are.equal(size, data and #data, tostring(err))
                assert.is_true(data == big)
            end
        end
    end)

    it("refuses a server signed by another CA, at once", function()
        refused({ connect_string = tls_port, tls = with(ours, { ca_file = certs .. "/unrelated-ca.pem" }) }, "certificate verify failed")
    end)

    it("checks the server's name", function()
        refused({ connect_string = tls_port, tls = with(ours, { server_name = "elsewhere.example" }) }, "certificate verify failed")
    end)

    it("is refused without a client certificate, at once", function()
        refused({ connect_string = tls_port, tls = { ca_file = certs .. "/ca.pem", server_name = "localhost" } }, "TLS")
    end)

    it("bad tls options are refused by zk.new", function()
        for _, bad in ipairs({ true, { verify = "yes" }, { cert_file = "a.pem" }, { ca = "x" } }) do
            local client, err = zk.new({ connect_string = tls_port, tls = bad })
            assert.is_nil(client)
            assert.is_truthy(err:find("tls", 1, true), err)
        end
    end)
end)

-- kazoo (test/kazoo_peer.py with --tls and --sasl), an independent client, on the same servers.
describe("kazoo cross-checks", function()
    after_each(H.close_all)

    local function kazoo(security, hosts, ...)
        local args = {}
        for _, word in ipairs(security) do args[#args + 1] = H.shell_quote(word) end
        args[#args + 1] = H.shell_quote(hosts)
        for i = 1, select("#", ...) do args[#args + 1] = H.shell_quote(select(i, ...)) end
        local out, status = H.run("/usr/bin/python3 " .. H.shell_quote(H.root .. "/test/kazoo_peer.py") .. " "
            .. table.concat(args, " ") .. " 2>/dev/null")
        assert.are.equal(0, status, out)
        return (out:gsub("%s+$", ""))
    end
    local kazoo_tls = { "--tls", ours.ca_file, ours.cert_file, ours.key_file }
    local kazoo_bob = { "--sasl", "bob", "bobsecret" }
    local kazoo_both = { "--tls", ours.ca_file, ours.cert_file, ours.key_file, "--sasl", "bob", "bobsecret" }

    it("a node kazoo made over TLS with SASL, ACL sasl:bob, is ours to read with SASL over TLS", function()
        local path = H.unique("kazoo-sasl")
        assert.are.equal("created " .. path, kazoo(kazoo_both, tls_port, "sasl-node", path, "bob", "from kazoo"))
        local anyone = H.client({ connect_string = plain })
        assert.are.equal(-102, select(3, anyone:get_data(path)))
        local client = H.client({ connect_string = tls_port, tls = ours, sasl = bob })
        assert.are.equal("from kazoo", client:get_data(path))
        assert.is_true(client:delete(path))
    end)

    it("a node we made with SASL, ACL sasl:bob, is kazoo's to read with SASL only", function()
        local path = H.unique("ours-sasl")
        local client = H.client({ connect_string = plain, sasl = bob })
        assert.are.equal(path, client:create(path, "from lua", "persistent", false,
            { acl = { { perms = 0x1f, scheme = "sasl", id = "bob" } } }))
        assert.are.equal("noauth", kazoo({}, plain, "read-text", path))
        assert.are.equal("from lua", kazoo(kazoo_bob, plain, "read-text", path))
        assert.are.equal("noauth", kazoo(kazoo_tls, tls_port, "read-text", path))
        assert.is_true(client:delete(path))
    end)

    it("what kazoo writes over TLS we read over TLS, and the other way", function()
        local path = H.unique("kazoo-tls")
        assert.are.equal("created " .. path, kazoo(kazoo_tls, tls_port, "create", path, "kazoo over tls"))
        local client = H.client({ connect_string = tls_port, tls = ours })
        assert.are.equal("kazoo over tls", client:get_data(path))
        assert.is_truthy(client:set_data(path, "lua over tls"))
        assert.are.equal("lua over tls", kazoo(kazoo_tls, tls_port, "read-text", path))
        assert.is_true(client:delete(path))
    end)
end)
