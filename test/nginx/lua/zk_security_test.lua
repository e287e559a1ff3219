-- Handlers of the nginx TLS and SASL suite (test/nginx/security.sh). Each handler prints one
-- line per check, "ok <name>" or "not ok <name>: <why>", which the suite counts.
local zk = require "resty.zookeeper"

local M = {}
local config = {}

local function ours(changes)
    local tls = { cert_file = config.certs .. "/client.pem", key_file = config.certs .. "/client.key",
                  server_name = "localhost" }
    for k, v in pairs(changes or {}) do tls[k] = v end
    return tls
end

local BOB = { mechanism = "DIGEST-MD5", username = "bob", password = "bobsecret" }

local function check(name, ok, why)
    if ok then ngx.say("ok ", name) else ngx.say("not ok ", name, ": ", tostring(why)) end
    return ok
end

local function has_identity(client, scheme, user)
    local identities, err = client:who_am_i()
    if not identities then return false, err end
    local seen = {}
    for _, identity in ipairs(identities) do
        if identity.scheme == scheme and identity.user == user then return true end
        seen[#seen + 1] = tostring(identity.scheme) .. ":" .. tostring(identity.user)
    end
    return false, "identities: " .. table.concat(seen, ",")
end

local function unique(name)
    return string.format("/zk_security_%s_%d_%d", name, ngx.worker.pid(), math.random(1, 1e9))
end

-- Values of many TLS records (up to just under jute.maxbuffer) survive the trip.
local function round_trips(name, client)
    for _, size in ipairs({ 200000, 1000000 }) do
        local path = unique(name .. "_" .. size)
        local value = string.rep("0123456789abcdef", size / 16 + 1):sub(1, size)
        local created, err = client:create(path, value, "ephemeral")
        if check(name .. " creates " .. size .. " bytes", created == path, err) then
            local data, get_err = client:get_data(path)
            check(name .. " reads " .. size .. " bytes back", data == value, data and #data or get_err)
        end
    end
end

-- connect() fails at once with a message containing `text`, the session auth_failed.
local function refused(name, options, text)
    local client, err = zk.new(options)
    if not check(name .. ": zk.new accepts the options", client, err) then return end
    local started = ngx.now()
    local ok, connect_err = client:connect()
    ngx.update_time()
    local took = ngx.now() - started
    check(name .. ": connect refused", ok == nil, "connected")
    check(name .. ": the message says why", tostring(connect_err):find(text, 1, true), connect_err)
    check(name .. ": at once", took < 3, "took " .. took .. " s")
    check(name .. ": auth_failed", client:session_state() == "auth_failed", client:session_state())
    client:close()
    return connect_err
end

function M.init_worker(options)
    config = options
    local client, err = zk.shared{ name = "secure", connect_string = config.secure, timeout = 5000, tls = ours(), sasl = BOB }
    if not client then ngx.log(ngx.ERR, "zktest: zk.shared over TLS: ", err) end
    client, err = zk.shared{ name = "failover", connect_string = config.secure, timeout = 6000, tls = ours(), sasl = BOB }
    if not client then ngx.log(ngx.ERR, "zktest: zk.shared for the failover: ", err) end
end

-- A per-request client over TLS with a client certificate.
-- A TLS session kept between per-request clients: the next client with the same settings takes
-- it over with its TLS connection (out of nginx's pool, no second handshake).
local function kept_tls()
    local first = assert(zk.new{ connect_string = config.secure, timeout = 5000, tls = ours() })
    local ok, err = first:connect()
    if not check("kept TLS: connect", ok, err) then return end
    local sid = first.session_id
    check("kept TLS: read", first:get_data("/zookeeper") ~= nil)
    first:close()
    local again = assert(zk.new{ connect_string = config.secure, timeout = 5000, tls = ours() })
    ok, err = again:connect()
    check("kept TLS: the next client takes the session over", ok and again.session_id == sid,
        tostring(err) .. " " .. tostring(again.session_id) .. " (kept " .. tostring(sid) .. ")")
    check("kept TLS: who_am_i still shows x509 CN=client", has_identity(again, "x509", "CN=client"))
    again:close()
end

function M.request()
    kept_tls()
    local client = assert(zk.new{ connect_string = config.secure, timeout = 5000, tls = ours() })
    local ok, err = client:connect()
    if not check("per-request TLS connect", ok, err) then return end
    check("per-request who_am_i shows x509 CN=client", has_identity(client, "x509", "CN=client"))
    round_trips("per-request", client)
    client:close()
end

-- The worker's shared client: TLS with a client certificate and SASL on one session.
function M.shared()
    local client, err = zk.shared("secure")
    if not check("zk.shared over TLS made", client, err) then return end
    local ok, connect_err = client:connect()
    if not check("shared TLS+SASL connects", ok, connect_err) then return end
    check("shared who_am_i shows x509 CN=client", has_identity(client, "x509", "CN=client"))
    check("shared who_am_i shows sasl bob", has_identity(client, "sasl", "bob"))
    local path = unique("shared_sasl")
    local created, create_err = client:create(path, "for bob", "ephemeral", false,
        { acl = { { perms = 0x1f, scheme = "sasl", id = "bob" } } })
    if check("shared creates a node with ACL sasl:bob", created == path, create_err) then
        check("shared reads it", client:get_data(path) == "for bob")
    end
    round_trips("shared", client)
end

-- SASL on a per-request client (plain TCP).
function M.sasl()
    local bob = assert(zk.new{ connect_string = config.plain, timeout = 5000, sasl = BOB })
    local ok, err = bob:connect()
    if not check("per-request SASL connect", ok, err) then return end
    check("per-request who_am_i shows sasl bob", has_identity(bob, "sasl", "bob"))
    local path = unique("sasl")
    local created, create_err = bob:create(path, "for bob", "persistent", false,
        { acl = { { perms = 0x1f, scheme = "sasl", id = "bob" } } })
    if check("bob creates a node with ACL sasl:bob", created == path, create_err) then
        local anyone = assert(zk.new{ connect_string = config.plain, timeout = 5000 })
        assert(anyone:connect())
        local data, anyone_err, code = anyone:get_data(path)
        check("without SASL: NoAuth", data == nil and code == -102, tostring(anyone_err) .. " " .. tostring(code))
        anyone:close()
        check("bob reads it", bob:get_data(path) == "for bob")
        bob:delete(path)
    end
    bob:close()
    local message = refused("wrong password", { connect_string = config.plain, timeout = 5000,
        sasl = { mechanism = "DIGEST-MD5", username = "bob", password = "not-the-one" } }, "refused the credentials of bob")
    check("the password is not echoed", not tostring(message):find("not-the-one", 1, true), message)
end

function M.refusals()
    refused("another server name", { connect_string = config.secure, timeout = 5000,
        tls = ours({ server_name = "elsewhere.example" }) }, "TLS handshake failed: certificate host mismatch")
    refused("no client certificate", { connect_string = config.secure, timeout = 5000,
        tls = { server_name = "localhost" } }, "TLS handshake failed: handshake failed")
    for _, make in ipairs({ "new", "shared" }) do
        local options = { connect_string = config.secure, tls = ours({ ca_file = config.certs .. "/ca.pem" }) }
        if make == "shared" then options.name = "with-ca-file" end
        local client, err = zk[make](options)
        check("zk." .. make .. " refuses tls.ca_file, naming lua_ssl_trusted_certificate",
            client == nil and tostring(err):find("lua_ssl_trusted_certificate", 1, true), err)
    end
    local client, err = zk.new{ connect_string = config.secure, tls = ours({ cert_file = "/nonexistent/client.pem" }) }
    check("zk.new refuses an unreadable certificate file", client == nil and tostring(err):find("certificate file", 1, true), err)
end

-- This location's lua_ssl_trusted_certificate is a CA that did not sign the server.
function M.wrong_ca()
    refused("a CA that did not sign the server", { connect_string = config.secure, timeout = 5000, tls = ours() },
        "TLS handshake failed: 19: self-signed certificate in certificate chain")
end

-- ---- failover on the TLS + SASL ensemble (the worker's shared client "failover") ----------------
-- /failover-before sets the scene and prints "server=HOST:PORT"; the suite kill -9s that server;
-- /failover-after checks the session, its watch and its identities survived on another server.

local failover = { fired = {} }

function M.failover_before()
    local client, err = zk.shared("failover")
    if not check("zk.shared for the failover made", client, err) then return end
    local ok, connect_err = client:connect()
    if not check("ensemble TLS+SASL connects", ok, connect_err) then return end
    failover.session = client.session_id
    failover.node = unique("failover_acl")
    failover.watched = unique("failover_watched")
    local created, create_err = client:create(failover.node, "for bob", "ephemeral", false,
        { acl = { { perms = 0x1f, scheme = "sasl", id = "bob" } } })
    check("creates an ephemeral with ACL sasl:bob", created == failover.node, create_err)
    created, create_err = client:create(failover.watched, "v0", "ephemeral")
    check("creates the watched node", created == failover.watched, create_err)
    local data, watch_err = client:get(failover.watched, function(event)
        failover.fired[#failover.fired + 1] = tostring(event.type) .. ":" .. tostring(event.path)
    end)
    check("sets a data watch", data == "v0", watch_err)
    local info = client:_debug()
    failover.server = info and info.server
    ngx.say("server=", tostring(failover.server))
end

function M.failover_after()
    local client = zk.shared("failover")
    -- Until the client has heard of the kill and moved (a call made before that would meet the
    -- connection loss, as it should).
    local function moved()
        local info = client:_debug()
        return client:session_state() == "connected" and info and info.server ~= failover.server
    end
    local deadline = ngx.now() + 15
    while not moved() and ngx.now() < deadline do
        ngx.sleep(0.05)
        ngx.update_time()
    end
    if not check("connected again to another server", moved(),
        client:session_state() .. " on " .. tostring(client:_debug().server)) then return end
    check("the same session", client.session_id == failover.session,
        tostring(client.session_id) .. " after " .. tostring(failover.session))
    check("who_am_i still shows x509 CN=client", has_identity(client, "x509", "CN=client"))
    check("who_am_i still shows sasl bob", has_identity(client, "sasl", "bob"))
    local data, err = client:get_data(failover.node)
    check("reads its sasl:bob ephemeral (SASL again on the new server)", data == "for bob", err)
    local stat, set_err = client:set_data(failover.watched, "v1")
    check("changes the watched node", stat, set_err)
    deadline = ngx.now() + 5
    while #failover.fired == 0 and ngx.now() < deadline do
        ngx.sleep(0.05)
        ngx.update_time()
    end
    check("the watch set before the kill fired once",
        #failover.fired == 1 and failover.fired[1] == "3:" .. failover.watched, table.concat(failover.fired, ","))
end

return M
