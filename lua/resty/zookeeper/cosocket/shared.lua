-- The driver of a client shared by a worker (zk.shared): a timer owns the connection (a writer
-- loop, a reader light thread per link and a callback light thread); requests from any context
-- hand their operation over and wait on an ngx.semaphore.
local semaphore = require "ngx.semaphore"

local ngx = ngx
local ngx_log, ngx_WARN = ngx.log, ngx.WARN
local spawn, kill = ngx.thread.spawn, ngx.thread.kill
local pairs, tostring = pairs, tostring
local math_min, math_max = math.min, math.max

local READY = 1
local RECEIVE_SIZE = 65536
-- How long the owner loop sleeps at most: it notices a worker's exit this soon.
local EXIT_CHECK_MS = 200
-- How long to wait after a failed attempt to open a session before the next.
local RETRY_PAUSE_S = 0.5

return function(hosted, links, errors)
    local begin, check, finish, ready = hosted.begin, hosted.check, hosted.finish, hosted.ready
    local io_report, io_tick, io_wait_ms = hosted.io_report, hosted.io_tick, hosted.io_wait_ms
    local flush, drop_link, run_callbacks = links.flush, links.drop_link, links.run_callbacks

    local _M = {}

    -- Wakes the waiting calls whose answer came (the core tells which: no question per
    -- waiter), and the callback thread.
    local function deliver(st)
        local list = st.ready_list
        local n, event = ready(st.core, list)
        local waiting = st.waiting
        for i = 1, n do
            local ticket = list[i]
            local sema = waiting[ticket]
            if sema then
                waiting[ticket] = nil
                sema:post(1)
            end
        end
        if event then st.events:post(1) end
    end

    local function read_loop(st, link, sock)
        local core = st.core
        sock:settimeout(3600 * 1000) -- the core's timers, not this read, decide what is dead
        while true do
            local data, err = sock:receiveany(RECEIVE_SIZE)
            if data then
                io_report(core, "received", link, data)
            elseif err ~= "timeout" then
                st.readers[link] = nil
                st.links[link] = nil
                if st.current == link then st.current = nil end
                sock:close()
                io_report(core, "closed", link)
                deliver(st)
                st.wake:post(1)
                return
            end
            deliver(st)
            st.wake:post(1) -- replies may ask for writes (SetWatches, auth)
        end
    end

    local function start_reader(st, link, sock)
        st.readers[link] = spawn(read_loop, st, link, sock)
    end

    local function callback_loop(st)
        while not st.stopped do
            run_callbacks(st)
            deliver(st) -- a dispatch() may be waiting for callbacks to have run
            st.events:wait(1)
        end
    end

    local session_state_of = hosted.session_state
    local function session_state(st)
        return session_state_of(st.core)
    end

    -- The owner timer: writes, ticks, reconnects (a new session after an expiry), and at the
    -- worker's exit closes the session so its ephemeral nodes go at once.
    local function owner_loop(premature, st)
        local core = st.core
        st.callbacks = spawn(callback_loop, st)
        while not premature and not st.closing and not ngx.worker.exiting() do
            flush(st)
            if st.connect_ticket and check(core, st.connect_ticket) == READY then
                local ok, err = finish(core, st.connect_ticket)
                st.connect_ticket = nil
                if not ok then
                    -- No session to be had (no server answering, no quorum): the core closed
                    -- this attempt; try again after a pause.
                    ngx_log(ngx_WARN, "resty.zookeeper: shared client: ", tostring(err), "; trying again")
                    st.retry_at = ngx.now() + RETRY_PAUSE_S
                end
            end
            local state = session_state(st)
            if (state == "expired" or state == "closed") and not st.connect_ticket
                and ngx.now() >= (st.retry_at or 0) then
                ngx_log(ngx_WARN, "resty.zookeeper: shared session ", state, "; opening a new one")
                st.connect_ticket = begin(core, "connect")
                if st.connect_ticket == 0 then st.connect_ticket = nil end
            end
            deliver(st)
            local ms = io_wait_ms(core) or EXIT_CHECK_MS
            if ms > 0 then st.wake:wait(math_min(ms, EXIT_CHECK_MS) / 1000) end
            io_tick(core)
            deliver(st)
        end
        -- Closing: closeSession, its answer (up to a second), then every link.
        local ticket = begin(core, "close")
        local deadline = ngx.now() + 1
        while ticket ~= 0 and check(core, ticket) ~= READY and ngx.now() < deadline do
            flush(st)
            st.wake:wait(0.05)
            io_tick(core)
        end
        if ticket ~= 0 then finish(core, ticket) end
        flush(st)
        st.stopped = true
        st.events:post(1)
        for link in pairs(st.links) do drop_link(st, link) end
        for waiting, sema in pairs(st.waiting) do
            st.waiting[waiting] = nil
            sema:post(1)
        end
        if st.callbacks then kill(st.callbacks) end
        st.done:post(1000)
    end

    -- Starts the session and its owner timer; nil and a message when it cannot.
    function _M.start(st)
        st.readers, st.waiting, st.ready_list = {}, {}, {}
        st.wake, st.events, st.done = semaphore.new(), semaphore.new(), semaphore.new()
        st.start_reader = start_reader
        local ticket, ok, err = begin(st.core, "connect")
        if ticket == 0 and not ok then return nil, err end
        st.connect_ticket = ticket ~= 0 and ticket or nil
        local started, timer_err = ngx.timer.at(0, owner_loop, st)
        if not started then
            begin(st.core, "close")
            return nil, "resty.zookeeper: cannot start the shared client's timer: " .. tostring(timer_err)
        end
        return true
    end

    -- Hands the operation of `ticket` to the owner timer and waits for its answer.
    function _M.await(st, ticket)
        local core = st.core
        if check(core, ticket) == READY then return end
        local sema = semaphore.new()
        st.waiting[ticket] = sema
        st.wake:post(1)
        while check(core, ticket) ~= READY and not st.stopped do
            local ms = io_wait_ms(core, ticket) or 1000
            sema:wait(math_max(1, math_min(ms, 1000)) / 1000)
        end
        st.waiting[ticket] = nil
    end

    -- Waits (polling, yielding) until the session is connected or `ms` passed.
    function _M.wait_connected(st, ms)
        local deadline = ngx.now() + ms / 1000
        while true do
            local state = session_state(st)
            if state == "connected" or state == "connected_read_only" then return true end
            if state == "closed" then return nil, "session closed", errors.CLOSED end
            if state == "auth_failed" then return nil, "session auth_failed", errors.AUTHFAILED end
            if ngx.now() >= deadline then return nil, "timeout", errors.OPERATIONTIMEOUT end
            ngx.sleep(0.01)
        end
    end

    -- Asks the owner timer to close the session; waits for it where it may (up to 2 s).
    function _M.close(st, may_wait)
        if not st.closing then
            st.closing = true
            st.wake:post(1)
        end
        if may_wait and not st.stopped then st.done:wait(2) end
    end

    return _M
end
