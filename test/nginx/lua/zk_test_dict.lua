-- What both nginx suites' handlers share: writing what the test looks at into a shared dict,
-- and GET /report, which reads it back as sorted `key=value` lines.
--   local T = require("zk_test_dict")(ngx.shared.NAME, "NAME")
return function(dict, name)
    local T = {}

    function T.now_ms()
        ngx.update_time()
        return ngx.now() * 1000
    end

    function T.put(key, value)
        local ok, err = dict:set(key, value)
        if not ok then ngx.log(ngx.ERR, name, ": shared dict set ", key, ": ", err) end
    end

    -- Keys written by one worker only: no other writer races the read-modify-write.
    function T.append(key, text)
        local old = dict:get(key)
        T.put(key, old and (old .. " " .. text) or text)
    end

    -- Runs a handler; an error answers 500 with its traceback.
    function T.guarded(body)
        local ok, err = xpcall(body, debug.traceback)
        if not ok then
            ngx.status = 500
            ngx.say("error: ", tostring(err))
        end
    end

    function T.report()
        T.guarded(function()
            local keys = dict:get_keys(0)
            table.sort(keys)
            ngx.say("served_by=", ngx.worker.pid())
            for _, key in ipairs(keys) do
                ngx.say(key, "=", tostring(dict:get(key)))
            end
        end)
    end

    return T
end
