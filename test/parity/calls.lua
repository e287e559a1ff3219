-- One scripted session of every call of the module (contract and extended), each result
-- written as a line of text with the run-dependent parts (ids, zxids, times, the root path)
-- masked. Run natively (lua5.1, luajit: test/parity/native.lua) and inside nginx over
-- cosockets (per-request and shared clients): the texts must be identical (test/parity/run.sh).
local M = {}

local MASKED = {
    czxid = true, mzxid = true, pzxid = true, ctime = true, mtime = true, ephemeral_owner = true,
    session_id = true, last_zxid = true, server = true,
}

local function show(value, seen)
    local t = type(value)
    if t == "string" then
        return '"' .. value:gsub('[%c"\\\128-\255]', function(ch) return string.format("\\x%02x", ch:byte()) end) .. '"'
    end
    if t ~= "table" then return tostring(value) end
    seen = seen or {}
    if seen[value] then return "<cycle>" end
    seen[value] = true
    local keys = {}
    for k in pairs(value) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
        if type(a) == type(b) then return a < b end
        return type(a) == "number"
    end)
    local parts = {}
    for _, k in ipairs(keys) do
        local v = MASKED[k] and "<masked>" or show(value[k], seen)
        parts[#parts + 1] = (type(k) == "number" and "[" .. k .. "]" or k) .. "=" .. v
    end
    return "{" .. table.concat(parts, ",") .. "}"
end

local function pack(...) return { n = select("#", ...), ... } end

--- Runs the script; `out(line)` receives each line. `client` is connected unless `connect`
--- is given (a function that connects it, returning what connect returns).
--- opts: { client, other (a second connected client, for auth checks), root, zk (the module),
--- connect (function), close (function or nil to skip) }
function M.run(opts, out)
    local c, root, zk = opts.client, opts.root, opts.zk
    local function line(name, ...)
        local r = pack(...)
        local parts = {}
        for i = 1, r.n do parts[i] = show(r[i]) end
        local text = name .. " -> " .. table.concat(parts, ", ")
        out((text:gsub(root:gsub("%p", "%%%0"), "<root>")))
    end
    local function try(name, f, ...)
        local r = pack(pcall(f, ...))
        if r[1] then return line(name, unpack(r, 2, r.n)) end
        -- errors: drop the position prefix (it names the caller's file)
        line(name, "error", (tostring(r[2]):gsub("^[^:]*:%d+: ", "")))
    end

    if opts.connect then line("connect", opts.connect()) end
    line("session_state", c:session_state())
    line("fields", type(c.session_id), type(c.session_timeout), type(c.session_passwd), c.connect_string ~= nil)

    -- contract
    line("create root", c:create(root, "root"))
    line("create persistent", c:create(root .. "/a", "alpha"))
    line("create exists", c:create(root .. "/a", "again"))
    line("create no parent", c:create(root .. "/x/y", ""))
    line("create ephemeral", c:create(root .. "/e", "eph", "ephemeral"))
    line("create sequential", c:create(root .. "/s-", "", "persistent", true))
    line("create sequential 2", c:create(root .. "/s-", "", "ephemeral", true))
    line("create container", c:create(root .. "/box", "", "container"))
    line("create binary", c:create(root .. "/bin", "\0\1\2\255"))
    line("exists yes", c:exists(root .. "/a"))
    line("exists no", c:exists(root .. "/nope"))
    line("get_data", c:get_data(root .. "/a"))
    line("get_data binary", c:get_data(root .. "/bin"))
    line("get_data missing", c:get_data(root .. "/nope"))
    local children = c:get_children(root)
    table.sort(children)
    line("get_children", children)
    line("get_children missing", c:get_children(root .. "/nope"))
    line("delete bad version", c:delete(root .. "/a", 5))
    line("delete missing", c:delete(root .. "/nope"))
    line("watch timeout", c:watch(root .. "/a"))
    line("watch bad kind", c:watch(root .. "/a", "nonsense"))
    line("_debug", c:_debug())

    -- beyond the contract
    line("set_data", c:set_data(root .. "/a", "beta"))
    line("set_data bad version", c:set_data(root .. "/a", "gamma", 9))
    line("get", c:get(root .. "/a"))
    line("stat", c:stat(root .. "/a"))
    line("stat missing", c:stat(root .. "/nope"))
    local names, stat = c:children(root)
    table.sort(names)
    line("children", names, stat)
    line("get_acl", c:get_acl(root .. "/a"))
    local acl = { zk.digest_acl("parity", "secret"), { perms = 1, scheme = "world", id = "anyone" } }
    line("create with acl", c:create(root .. "/locked", "x", "persistent", false, { acl = acl }))
    line("get_data no auth", c:get_data(root .. "/locked"))
    line("add_auth", c:add_auth("digest", "parity:secret"))
    line("get_data with auth", c:get_data(root .. "/locked"))
    line("set_acl", c:set_acl(root .. "/locked", zk.ZOO_OPEN_ACL_UNSAFE, 0))
    line("set_acl bad version", c:set_acl(root .. "/locked", zk.ZOO_OPEN_ACL_UNSAFE, 0))
    line("who_am_i", c:who_am_i())
    line("multi", c:multi{
        { op = "create", path = root .. "/m1", data = "1" },
        { op = "set_data", path = root .. "/m1", data = "2" },
        { op = "check", path = root .. "/m1", version = 1 },
        { op = "delete", path = root .. "/m1" },
    })
    line("multi fails", c:multi{
        { op = "create", path = root .. "/m2", data = "1" },
        { op = "delete", path = root .. "/nope" },
    })
    line("multi_read", c:multi_read{
        { op = "get_data", path = root .. "/a" },
        { op = "get_children", path = root .. "/box" },
        { op = "get_data", path = root .. "/nope" },
    })
    line("sync", c:sync(root))
    local ephemerals = c:get_ephemerals(root)
    table.sort(ephemerals)
    line("get_ephemerals", ephemerals)
    line("get_all_children_number", c:get_all_children_number(root))
    line("get_config", type((c:get_config())))
    line("batch", c:batch{ { "exists", root .. "/a" }, { "get_data", root .. "/nope" }, { "get", root .. "/a" } })
    local handles = {}
    for i = 1, 50 do handles[i] = c:get_data_async(i % 2 == 0 and root .. "/a" or root .. "/nope") end
    local h_bad = c:exists_async("no-slash")
    line("async, last first", handles[50]:wait())
    line("async, first", handles[1]:wait())
    local all_right = true
    for i = 2, 49 do
        local data, err = handles[i]:wait()
        if i % 2 == 0 and data == nil or i % 2 == 1 and err ~= "node does not exist" then all_right = false end
    end
    line("async, the others", all_right, handles[2]:ready())
    line("async, invalid path", h_bad:wait())
    try("async, no such method", function() return c:watch_async(root) end)
    try("async, bad argument", function() return c:get_data_async({}) end)
    for _ = 1, 20 do c:exists_async(root) end  -- dropped unwaited

    -- callbacks
    local heard = {}
    local function hear(tag) return function(event) heard[#heard + 1] = tag .. ":" .. event.type .. ":" .. event.path end end
    line("get with watch", c:get(root .. "/a", hear("data")))
    line("stat with watch", c:stat(root .. "/later", hear("exists")))
    line("children with watch", c:children(root .. "/box", hear("children")))
    -- (not on /box: a 3.8 server keeps one watch mode per path and connection, so a recursive
    -- watch there would silence the child watch; ZOOKEEPER-4466, fixed in 3.9)
    line("create rec", c:create(root .. "/rec", ""))
    line("add_watch", c:add_watch(root .. "/rec", "persistent_recursive", hear("recursive")))
    line("check_watches", c:check_watches(root .. "/a", "data"))
    line("check_watches none", c:check_watches(root .. "/nope", "data"))
    line("set_data fires", c:set_data(root .. "/a", "delta"))
    line("create fires", c:create(root .. "/later", ""))
    line("create child fires", c:create(root .. "/box/k", ""))
    line("delete child fires", c:delete(root .. "/box/k"))
    line("create deep fires", c:create(root .. "/rec/k", ""))
    line("delete deep fires", c:delete(root .. "/rec/k"))
    local deadline = os.time() + 5
    while #heard < 5 and os.time() <= deadline do c:dispatch(200) end
    table.sort(heard)
    line("heard", heard)
    line("remove_watches", c:remove_watches(root .. "/rec", "any"))
    line("remove_watches none", c:remove_watches(root .. "/rec", "any"))
    local states = {}
    line("on_state", c:on_state(function(s) states[#states + 1] = s end))

    -- recipes (the Swift machines; their objects' methods are calls on the client)
    local lock_a, lock_b = c:lock(root .. "/lock"), c:lock(root .. "/lock")
    line("lock acquire", lock_a:acquire())
    line("lock held", lock_a:is_held(), lock_b:is_held())
    line("lock other object times out", lock_b:acquire(200))
    line("lock release", lock_a:release())
    line("lock other object acquires", lock_b:acquire(5000), lock_b:is_held())
    line("lock release twice", lock_b:release(), lock_b:release())
    local rw_a, rw_b = c:read_write_lock(root .. "/rw"), c:read_write_lock(root .. "/rw")
    local reader_a, reader_b, writer = rw_a:read_lock(), rw_b:read_lock(), rw_b:write_lock()
    line("rw sides are locks", tostring(reader_a):match("^resty%.zookeeper (%S+)"), tostring(writer):match("^resty%.zookeeper (%S+)"))
    line("rw readers share", reader_a:acquire(), reader_b:acquire(5000), reader_a:is_held(), reader_b:is_held())
    line("rw writer waits for readers", writer:acquire(200))
    line("rw readers release", reader_a:release(), reader_b:release())
    line("rw writer acquires", writer:acquire(5000), writer:is_held())
    line("rw reader waits for the writer", reader_a:acquire(200))
    line("rw writer release", writer:release(), reader_a:acquire(5000), reader_a:release())
    local sem = c:semaphore(root .. "/sem", 2)
    local lease_a, lease_b = sem:acquire(), sem:acquire(5000)
    line("semaphore leases", tostring(lease_a):match("^resty%.zookeeper (%S+)"), lease_b ~= nil)
    line("semaphore full", sem:acquire(200))
    line("semaphore release", lease_a:release(), lease_a:release())
    local lease_c = sem:acquire(5000)
    line("semaphore after a release", lease_c ~= nil, #c:get_children(root .. "/sem/leases"))
    line("semaphore release all", lease_b:release(), lease_c:release(), #c:get_children(root .. "/sem/leases"))
    local gate = c:barrier(root .. "/gate")
    line("barrier down", gate:wait(100))
    line("barrier set", gate:set(), gate:set(), c:exists(root .. "/gate"))
    line("barrier up", gate:wait(200))
    line("barrier remove", gate:remove(), gate:remove(), gate:wait())
    local member_a, member_b = c:double_barrier(root .. "/round", 2), c:double_barrier(root .. "/solo", 1)
    line("double barrier short of members", member_a:enter(200))
    line("double barrier leave before enter", member_a:leave())
    line("double barrier of one", member_b:enter(5000), member_b:enter(100), member_b:leave(5000), #c:get_children(root .. "/solo"))
    local counter = c:counter(root .. "/counter")
    line("counter get missing", counter:get())
    line("counter set", counter:set(5))
    line("counter add", counter:add(3), counter:add(-10))
    line("counter get", counter:get(), c:get_data(root .. "/counter"))
    local protected = c:create(root .. "/p-", "x", "ephemeral", true, { protected = true })
    line("protected create", (protected:gsub("_c_[%x%-]+%-p%-", "_c_<uuid>-p-")))
    -- Runs callbacks until `text` is among what they noted in `list` (5 s at most).
    local function until_noted(list, text)
        local deadline = os.time() + 5
        while os.time() <= deadline do
            for _, seen in ipairs(list) do if seen == text then return true end end
            c:dispatch(50)
        end
        return false
    end
    local elected = {}
    local function until_heard(text) return until_noted(elected, text) end
    local e1 = c:election(root .. "/election", "one", function(leading) elected[#elected + 1] = "one:" .. tostring(leading) end)
    line("election first leads", until_heard("one:true"))
    local e2 = c:election(root .. "/election", "two", function(leading) elected[#elected + 1] = "two:" .. tostring(leading) end)
    line("election", e1:is_leader(), e2:is_leader(), e2:leader_id())
    line("election close", e1:close())
    line("election handed over", until_heard("two:true"), e1:is_leader(), e2:is_leader(), e1:leader_id())
    line("election heard", elected)
    line("election close twice", e2:close(), e2:close(), e2:leader_id())
    try("lock bad argument", lock_a.acquire, lock_a, "soon")
    try("counter bad argument", counter.add, counter, 0.5)
    try("rw bad argument", c.read_write_lock, c, {})
    try("semaphore bad argument", c.semaphore, c, root .. "/sem", 0)
    try("barrier bad argument", gate.wait, gate, -1)
    try("double barrier bad argument", c.double_barrier, c, root .. "/round")

    -- queue and cache (test/spec/queue_cache_spec.lua has the rest)
    local queue = c:queue(root .. "/queue")
    line("queue put", queue:put("first"), queue:put("\0second"))
    line("queue take", queue:take(), queue:take(1000), queue:take(100))
    try("queue bad argument", queue.take, queue, "soon")
    line("cache nodes", c:create(root .. "/cached", "c"), c:create(root .. "/cached/k", "v"))
    local cached = {}
    local function until_cached(text) return until_noted(cached, text) end
    local cache = c:cache(root .. "/cached", function(event, path) cached[#cached + 1] = event .. " " .. path end)
    line("cache initialized", until_cached("initialized "), cache:get(root .. "/cached/k"))
    line("cache children", cache:children(root .. "/cached"), cache:children(root .. "/none"), cache:get(root .. "/none"))
    c:set_data(root .. "/cached/k", "v2")
    line("cache changed", until_cached("changed " .. root .. "/cached/k"), cache:get(root .. "/cached/k"))
    table.sort(cached)
    line("cache heard", cached)
    line("cache close", cache:close(), cache:close())
    try("cache bad argument", c.cache, c, root .. "/cached")

    -- retry (test/spec/retry_spec.lua has a real connection loss)
    local calls = 0
    local function counted(...)
        local answer = pack(...)
        return function()
            calls = calls + 1
            if calls < 3 then return nil, "connection loss", zk.errors.CONNECTIONLOSS end
            return unpack(answer, 1, answer.n)
        end
    end
    local answer = pack(c:retry(counted(c:get_data(root .. "/a"))))
    line("retry after two losses", answer, calls)
    calls = 0
    answer = pack(c:retry(counted("never"), { attempts = 2, base_ms = 10 }))
    line("retry gives up", answer, calls)
    calls = 0
    answer = pack(c:retry(function() calls = calls + 1; return c:get_data(root .. "/nope") end))
    line("retry no retry", answer, calls)
    try("retry bad argument", c.retry, c, "get_data")
    try("retry bad policy", c.retry, c, function() end, { tries = 3 })

    -- caller mistakes raise the same errors
    try("bad path", c.get_data, c, "no-slash")
    try("bad type", c.get_data, c, {})
    try("bad mode", c.create, c, root .. "/q", "", "weird")
    try("bad acl", c.set_acl, c, root .. "/a", { { perms = "all" } })
    try("bad multi", c.multi, c, { { op = "explode" } })

    -- clean up (children first)
    local all = c:get_children(root) or {}
    for _, name in ipairs(all) do
        for _, child in ipairs(c:get_children(root .. "/" .. name) or {}) do c:delete(root .. "/" .. name .. "/" .. child) end
        c:delete(root .. "/" .. name)
    end
    line("delete root", c:delete(root))
    if opts.close then
        line("close", opts.close())
        line("after close", c:get_data(root))
        line("session_state after close", c:session_state())
        line("states", states)
    end
end

return M
