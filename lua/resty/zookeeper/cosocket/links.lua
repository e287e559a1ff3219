-- Moving bytes for a hosted client: carries out what the core asks (connect, send, close) on
-- cosockets, one per link, and runs the callbacks that came due. Both drivers use it.
local tls = require "resty.zookeeper.cosocket.tls"

local ngx = ngx
local ngx_log, ngx_DEBUG, ngx_ERR = ngx.log, ngx.DEBUG, ngx.ERR
local tcp = ngx.socket.tcp
local spawn, kill = ngx.thread.spawn, ngx.thread.kill
local pcall, tostring = pcall, tostring
local find = string.find

return function(hosted)
    local io_next, io_report = hosted.io_next, hosted.io_report
    local next_event, next_log_line = hosted.next_event, hosted.next_log_line

    local _M = {}

    function _M.print_log_lines(st)
        while true do
            local line = next_log_line(st.core)
            if not line then return end
            ngx_log(ngx_DEBUG, line)
        end
    end

    local function run_one(callback, ...)
        if callback == nil then return false end
        local ok, err = pcall(callback, ...)
        if not ok then ngx_log(ngx_ERR, "resty.zookeeper: error in callback: ", tostring(err)) end
        return true
    end

    -- Runs the due callbacks, from Lua so that they may call the client (and yield).
    function _M.run_callbacks(st)
        local core = st.core
        while run_one(next_event(core)) do end
    end

    -- Opens a link's cosocket (TLS too, when the client has it): the socket, or nil, the
    -- report for the core ("failed", or "refused" when TLS refused a certificate) and why.
    local function open_link(st, link, host, port)
        local sock = tcp()
        sock:settimeout(st.connect_timeout)
        -- nginx parses the host as a URL's: an IPv6 literal ("::1", from "[::1]:2181") needs its
        -- brackets back, or connect fails with "invalid port". TLS below names the bare host.
        local target = find(host, ":", 1, true) and "[" .. host .. "]" or host
        local ok, err
        if st.pool_names then
            -- A per-request client's link gets a pool of its own, for keeping its session.
            local name = st.pool_name()
            st.pool_names[link] = name
            ok, err = sock:connect(target, port, { pool = name })
        else
            ok, err = sock:connect(target, port)
        end
        if not ok then return nil, "failed", err end
        if st.tls then
            local refused
            ok, err, refused = tls.handshake(st.tls, sock, host)
            if not ok then
                sock:close()
                return nil, refused and "refused" or "failed", err
            end
        end
        return sock
    end

    function _M.drop_link(st, link)
        local sock = st.links[link]
        st.links[link] = nil
        if st.probing then
            -- A probe connecting is given up (open_probe closes it); one connected and not yet
            -- taken is closed.
            local outcome = st.probing[link]
            st.probing[link] = nil
            if type(outcome) == "table" and outcome.sock then outcome.sock:close() end
        end
        if st.pool_names then st.pool_names[link] = nil end
        if st.current == link then st.current = nil end
        if st.readers and st.readers[link] then
            kill(st.readers[link])
            st.readers[link] = nil
        end
        if sock then sock:close() end
    end

    -- Tells the core how a link's connect went: the socket in place (with its reader, for a
    -- shared client), or why not.
    local function report_open(st, link, sock, report, err, host, port)
        if sock then
            st.links[link] = sock
            io_report(st.core, "established", link)
            if st.start_reader then st.start_reader(st, link, sock) end
        else
            if st.debug then ngx_log(ngx_DEBUG, "resty.zookeeper: connect to ", host, ":", port, " failed: ", err) end
            io_report(st.core, report, link, err)
        end
    end

    -- A probe (is that server read-write? only a shared client asks) connects in a light
    -- thread of its own: the session's writes must not wait behind a server slow to answer a
    -- connect (up to the connect timeout). st.probing[link] is true while it connects, then its
    -- outcome, which the writer loop reports (take_probes): that loop starts the link's reader,
    -- so that it can kill it. A probe the core gave up meanwhile is closed here.
    local function open_probe(st, link, host, port)
        local sock, report, err = open_link(st, link, host, port)
        if not st.probing[link] or st.stopped then
            if sock then sock:close() end
            return
        end
        st.probing[link] = { sock = sock, report = report, err = err, host = host, port = port }
        st.wake:post(1)
    end

    local function take_probes(st)
        for link, outcome in pairs(st.probing) do
            if outcome ~= true then
                st.probing[link] = nil
                report_open(st, link, outcome.sock, outcome.report, outcome.err, outcome.host, outcome.port)
            end
        end
    end

    -- Carries out what the core asks. One flusher at a time: another caller finds the flag set
    -- and leaves the commands it queued to the running loop. A shared client starts a reader
    -- on each link it opens (st.start_reader).
    function _M.flush(st)
        if st.flushing then return end
        st.flushing = true
        local core = st.core
        if st.probing then take_probes(st) end
        while true do
            local kind, link, a, b = io_next(core)
            if not kind then break end
            if kind == "probe" then
                st.probing = st.probing or {}
                st.probing[link] = true
                spawn(open_probe, st, link, a, b)
            elseif kind == "connect" then
                local sock, report, err = open_link(st, link, a, b)
                if sock then st.current = link end
                report_open(st, link, sock, report, err, a, b)
            elseif kind == "send" then
                local sock = st.links[link]
                if sock then
                    local ok = sock:send(a)
                    if not ok then
                        _M.drop_link(st, link)
                        io_report(core, "closed", link)
                    end
                end
            else
                _M.drop_link(st, link)
            end
        end
        st.flushing = false
    end

    return _M
end
