-- The per-request driver: the call that waits drives the connection itself, in its request's
-- own context. Light threads of one request may share it: one reads while the others wait
-- their turn. Time passes in the read's timeout (a reader light thread would not do: killing a
-- thread blocked in a read closes the cosocket), so a long wait (watch, dispatch) logs nginx's
-- "lua tcp socket read timed out" at each ping unless `lua_socket_log_errors off` is set, as
-- the original's watch did.
local semaphore = require "ngx.semaphore"

local ngx = ngx
local math_min, math_max = math.min, math.max

local READY, EVENT = 1, 2
local RECEIVE_SIZE = 65536

return function(hosted, links)
    local check, io_report, io_tick, io_wait_ms = hosted.check, hosted.io_report, hosted.io_tick, hosted.io_wait_ms
    local flush, drop_link, run_callbacks = links.flush, links.drop_link, links.run_callbacks

    -- Drives `st`'s connection until `ticket` is ready.
    return function(st, ticket)
        local core = st.core
        while true do
            local status = check(core, ticket)
            if status == READY then return end
            if status == EVENT then
                run_callbacks(st)
            elseif st.reading then
                st.turn = st.turn or semaphore.new()
                st.turn_waiters = st.turn_waiters + 1
                st.turn:wait(math_max(1, io_wait_ms(core, ticket) or 1000) / 1000)
                st.turn_waiters = st.turn_waiters - 1
            else
                flush(st)
                local ms = io_wait_ms(core, ticket) or 1000
                local link = st.current
                local sock = link and st.links[link]
                if ms <= 0 then
                    io_tick(core)
                elseif sock then
                    st.reading = true
                    sock:settimeout(math_max(1, ms))
                    local data, err = sock:receiveany(RECEIVE_SIZE)
                    st.reading = false
                    if data then
                        io_report(core, "received", link, data)
                    elseif err == "timeout" then
                        io_tick(core)
                    else
                        drop_link(st, link)
                        io_report(core, "closed", link)
                    end
                    if st.turn_waiters > 0 then st.turn:post(st.turn_waiters) end
                else
                    ngx.sleep(math_min(ms, 50) / 1000)
                    io_tick(core)
                end
            end
        end
    end
end
