-- TLS on the links of a cosocket client, with nginx's own OpenSSL: the handshake checks the
-- server's name (`tls.server_name`, else the host connected to) and presents the client
-- certificate of `tls.cert_file`/`tls.key_file`. nginx verifies the server with the CA of its
-- `lua_ssl_trusted_certificate` directive (a cosocket takes no CA of its own, so the core
-- refuses `tls.ca_file` here). The core has checked the options' types before this runs.
local io_open, tostring = io.open, tostring

local _M = {}

local function read_file(path, what)
    local file, err = io_open(path, "rb")
    if not file then return nil, "resty.zookeeper: cannot read the TLS " .. what .. " file: " .. tostring(err) end
    local text = file:read("*a")
    file:close()
    return text
end

--- What the handshakes of a client need (`opts`: its checked `tls` table, or nil): the parsed
--- client certificate and key, read once. nil, message when a file cannot be used.
function _M.prepare(opts)
    if opts == nil then return false end
    local tls = { verify = opts.verify ~= false, server_name = opts.server_name }
    if opts.cert_file then
        local ssl = require "ngx.ssl"
        local pem, err = read_file(opts.cert_file, "certificate")
        if not pem then return nil, err end
        tls.cert, err = ssl.parse_pem_cert(pem)
        if not tls.cert then return nil, "resty.zookeeper: cannot use the TLS certificate file: " .. tostring(err) end
        pem, err = read_file(opts.key_file, "key")
        if not pem then return nil, err end
        tls.key, err = ssl.parse_pem_priv_key(pem)
        if not tls.key then return nil, "resty.zookeeper: cannot use the TLS key file: " .. tostring(err) end
    end
    return tls
end

-- nginx reports a failed verification as "<X509 code>: <reason>" and a name that does not
-- match as "certificate host mismatch": a certificate refused, which no retry can mend. Any
-- other failure is only "handshake failed" (the alert goes to nginx's error log): the server
-- refusing our certificate (or its absence) looks like that, and so does a server that dies
-- mid-handshake. Before any handshake of the client has succeeded it is taken as a refusal (a
-- setup that cannot work ends at once); after, as a lost connection (failover goes on).
local function refused(tls, err)
    return err:find("^%d+: ") ~= nil or err == "certificate host mismatch" or not tls.succeeded
end

--- The handshake on `sock`, just connected to `host`: true, or nil, message, and whether the
--- certificate was refused (the session ends then) rather than the connection lost.
function _M.handshake(tls, sock, host)
    if tls.cert then
        local ok, err = sock:setclientcert(tls.cert, tls.key)
        if not ok then return nil, "TLS: cannot use the client certificate: " .. tostring(err), true end
    end
    local ok, err = sock:sslhandshake(false, tls.server_name or host, tls.verify)
    if ok then
        tls.succeeded = true
        return true
    end
    err = tostring(err)
    return nil, "TLS handshake failed: " .. err, err ~= "timeout" and refused(tls, err)
end

return _M
