-- Sessions of per-request clients kept between requests, as cosockets keep connections. The core
-- decides which session may be kept and for how long (SessionKeepalive.swift: nothing tied to
-- its owner, same settings); this file moves the sockets: close() parks the session and puts its
-- connection into nginx's pool under a name of its own, connect() takes a parked session back
-- with that connection, and a timer closes sessions left idle past their limit (all of them
-- when the worker exits).
local ngx = ngx
local tcp = ngx.socket.tcp
local timer_at = ngx.timer.at
local spawn, wait = ngx.thread.spawn, ngx.thread.wait
local ngx_log, ngx_WARN = ngx.log, ngx.WARN
local find = string.find

-- nginx keeps a parked connection this much longer than the core keeps its session, so that
-- the sweeper still finds it and closes the session properly.
local MARGIN_MS = 5000
local SWEEP_S = 1

return function(hosted, new_holder, close_holder)
    local begin, io_report = hosted.begin, hosted.io_report
    local _M = {}

    local serial = 0
    -- A pool name for a new connection of a per-request client: nginx hands a pooled connection
    -- only to a connect that names its pool.
    function _M.pool_name()
        serial = serial + 1
        return "resty.zookeeper#" .. serial
    end

    -- Gives the session the core just handed `st` its connection back; when nginx closed it
    -- meanwhile, the session hears so and reconnects (resuming itself) on the next call.
    local function attach(st, link, host, port, name)
        local sock = tcp()
        sock:settimeout(st.connect_timeout)
        local ok = sock:connect(find(host, ":", 1, true) and "[" .. host .. "]" or host, port, { pool = name })
        if ok and sock:getreusedtimes() > 0 then
            st.links[link], st.current, st.pool_names[link] = sock, link, name
            return
        end
        if ok then sock:close() end
        io_report(st.core, "closed", link)
    end

    --- connect(): takes a parked session with this client's settings, if there is one.
    function _M.take(st, ...)
        local _, link, host, port, name = begin(st.core, "__take", ...)
        if link then attach(st, link, host, port, name) end
    end

    local sweeping = false
    local sweep

    local function arm()
        if sweeping then return end
        local ok, err = timer_at(SWEEP_S, sweep)
        if not ok then
            ngx_log(ngx_WARN, "resty.zookeeper: no timer to close idle kept sessions: ", err)
            return
        end
        sweeping = true
    end

    --- close(): parks the session when the core may keep it; false when it must be closed.
    function _M.park(st)
        local link = st.current
        local sock = link and st.links[link]
        local name = link and st.pool_names[link]
        if not name or not sock or st.reading or st.flushing or st.turn_waiters > 0 then return false end
        local _, ms = begin(st.core, "__park", name)
        if not ms then return false end
        st.links[link], st.current, st.pool_names[link] = nil, nil, nil
        -- Refused (bytes arrived unread): the connection is closed; the next taker reconnects.
        if not sock:setkeepalive(ms + MARGIN_MS, 1) then sock:close() end
        arm()
        return true
    end

    -- Closes the sessions idle past their limit (every one when the worker exits), each with a
    -- closeSession over its own connection; comes back while sessions stay parked. Every
    -- connection is taken out of nginx's pool before the first wait: an exiting worker closes
    -- the idle ones it finds (a session whose connection went reconnects to say goodbye).
    sweep = function(premature)
        sweeping = false
        local holders = {}
        while true do
            local holder = new_holder()
            local _, link, host, port, name = begin(holder.core, "__take_idle", premature)
            if not link then
                if host > 0 and not premature then arm() end
                break
            end
            attach(holder, link, host, port, name)
            holders[#holders + 1] = holder
        end
        local threads = {}
        for i = 1, #holders do threads[i] = spawn(close_holder, holders[i]) end
        for i = 1, #threads do wait(threads[i]) end
    end

    return _M
end
