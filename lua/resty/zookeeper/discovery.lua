-- resty.zookeeper.discovery: service discovery for OpenResty on a worker's shared client.
--
--   mirror{ client =, path =, dict = [, data = true] }
--       keeps the children of `path` (and their data) in the lua_shared_dict `dict`, copied
--       from the client's tree cache of `path` (client:cache) after each change, so that any
--       request of any worker reads them with no ZooKeeper round trip: members(dict, path).
--   register{ client =, path =, data = }
--       keeps an ephemeral node at `path` for this server: made again after a session expiry
--       (a new session) or after someone deletes it.
--
-- Both run in timers of their own (call them from init_worker_by_lua, typically in one worker:
-- `if ngx.worker.id() == 0`); ZooKeeper callbacks only wake those timers, never call the client.
local semaphore = require "ngx.semaphore"
local errors = require("resty.zookeeper").errors

local ngx = ngx
local ngx_log, ngx_ERR, ngx_WARN = ngx.log, ngx.ERR, ngx.WARN
local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs
local concat = table.concat
local sub, find = string.sub, string.find
local NONODE, NODEEXISTS = errors.NONODE, errors.NODEEXISTS

local _M = {}

-- How long a failed refresh or registration waits before it tries again.
local RETRY_S = 0.5

-- ---- the shared dict's format: "<len>:<name><len>:<data>" per member, binary-safe ----------

local function encode(members)
    local parts = {}
    for i, m in ipairs(members) do
        local data = m.data or ""
        parts[i] = #m.name .. ":" .. m.name .. #data .. ":" .. data
    end
    return concat(parts)
end

local function decode(text)
    local members, at = {}, 1
    while at <= #text do
        local fields = {}
        for f = 1, 2 do
            local colon = find(text, ":", at, true)
            local n = colon and tonumber(sub(text, at, colon - 1))
            if not n then return nil, "corrupt entry" end
            fields[f] = sub(text, colon + 1, colon + n)
            at = colon + n + 1
        end
        members[#members + 1] = { name = fields[1], data = fields[2] }
    end
    return members
end

local function check(opts, name, kind)
    if type(opts[name]) ~= kind then
        error("resty.zookeeper.discovery: " .. name .. " must be a " .. kind, 3)
    end
end

local function check_client(opts)
    if type(opts.client) ~= "table" or type(opts.client.session_state) ~= "function" then
        error("resty.zookeeper.discovery: client must be a resty.zookeeper client (zk.shared{...})", 3)
    end
end

-- Runs `body(wake)` in a timer until the worker exits; `wake` is a semaphore the ZooKeeper
-- callbacks post to.
local function run_in_timer(body)
    local wake = semaphore.new()
    local ok, err = ngx.timer.at(0, function(premature)
        if premature then return end
        body(wake)
    end)
    if not ok then return nil, err end
    return true
end

-- ---- mirror ----------------------------------------------------------------------------------

-- The children of `path` (and their data) as `cache` holds them, sorted by name.
local function cached_members(cache, path, with_data)
    local base = path == "/" and "" or path
    local members = {}
    for i, name in ipairs(cache:children(path) or {}) do
        members[i] = { name = name, data = with_data and cache:get(base .. "/" .. name) or nil }
    end
    return members
end

-- Whether a cache event at `node` changes the members of `path`: `path` itself or a child.
local function concerns(path, node)
    if node == path then return true end
    local slash = node:match("^.*()/")
    return slash ~= nil and sub(node, 1, slash == 1 and 1 or slash - 1) == path
end

--- Keeps the children of `path` in `dict` (a lua_shared_dict name). Returns true, or nil, err.
--- The client's tree cache (client:cache) follows the path, across reconnects and expiries;
--- this only copies what it holds into the dict after each change.
function _M.mirror(opts)
    check(opts, "path", "string")
    check(opts, "dict", "string")
    check_client(opts)
    local dict = ngx.shared[opts.dict]
    if not dict then error("resty.zookeeper.discovery: no lua_shared_dict " .. opts.dict, 2) end
    local client, path, with_data = opts.client, opts.path, opts.data and true or false
    return run_in_timer(function(wake)
        local state = { initialized = false, dirty = false }
        local cache, err = client:cache(path, function(event, node)
            if event == "initialized" then state.initialized = true
            elseif not concerns(path, node) then return end
            state.dirty = true
            wake:post(1)
        end)
        if not cache then
            ngx_log(ngx_ERR, "resty.zookeeper.discovery: mirror ", path, ": ", err)
            return
        end
        while not ngx.worker.exiting() do
            if state.dirty and state.initialized then
                state.dirty = false
                dict:set(path, encode(cached_members(cache, path, with_data)))
                dict:incr(path .. "#version", 1, 0)
            end
            wake:wait(1)
        end
        cache:close()
    end)
end

-- Per worker: the last decoded members of each path, by version.
local cache = {}

--- The members of `path` as mirrored in `dict`: an array of { name =, data = } sorted by
--- name, and the mirror's version (it grows with every update); nil, err before the first read.
function _M.members(dict_name, path)
    local dict = ngx.shared[dict_name]
    if not dict then return nil, "no lua_shared_dict " .. tostring(dict_name) end
    local version = dict:get(path .. "#version")
    if not version then return nil, "not mirrored (yet): " .. path end
    local key = dict_name .. "\0" .. path
    local hit = cache[key]
    if hit and hit.version == version then return hit.members, version end
    local members, err = decode(dict:get(path) or "")
    if not members then return nil, err end
    cache[key] = { version = version, members = members }
    return members, version
end

-- ---- register --------------------------------------------------------------------------------

-- Makes the parents of `path` (persistent), as far as they are missing.
local function make_parents(client, path)
    local at = 1
    while true do
        local slash = find(path, "/", at + 1, true)
        if not slash then return end
        local ok, err, code = client:create(sub(path, 1, slash - 1), "")
        if not ok and code ~= NODEEXISTS then return nil, err end
        at = slash
    end
end

-- Makes the ephemeral node (or finds it ours); true when it is in place. `changed` hears the
-- node's next change (deleted by someone: it is made again). `own` holds the sessions this
-- registration had: a node one of them still holds is replaced, not waited for (after a quorum
-- loss the server keeps an expired session of ours a whole session timeout longer).
local function ensure_node(client, path, data, changed, own)
    local created, err, code = client:create(path, data, "ephemeral")
    if not created and code == NONODE then -- a parent is missing
        make_parents(client, path)
        created, err, code = client:create(path, data, "ephemeral")
    end
    if not created and code ~= NODEEXISTS then return nil, err end
    local stat, stat_err = client:stat(path, changed)
    if not stat then return nil, stat_err or "deleted meanwhile" end
    if stat.ephemeral_owner ~= client.session_id then
        if own[stat.ephemeral_owner] then
            local deleted, delete_err, delete_code = client:delete(path, stat.version)
            if not deleted and delete_code ~= NONODE then return nil, delete_err end
            own[stat.ephemeral_owner] = nil
            return ensure_node(client, path, data, changed, own)
        end
        return nil, "held by another session (" .. tostring(stat.ephemeral_owner) .. ")"
    end
    own[client.session_id] = true
    return true
end

local registered = {}

--- Keeps an ephemeral node at `path` holding `data`. Returns true, or nil, err.
function _M.register(opts)
    check(opts, "path", "string")
    check_client(opts)
    local client, path, data = opts.client, opts.path, opts.data or ""
    if type(data) ~= "string" then error("resty.zookeeper.discovery: data must be a string", 2) end
    local state, own = { check = true }, {}
    return run_in_timer(function(wake)
        local function recheck() state.check = true; wake:post(1) end
        client:on_state(function(s)
            -- An expired (or closed) session took its ephemeral node with it.
            if s == "expired" or s == "closed" then registered[path] = false end
            if s ~= "disconnected" and s ~= "connecting" then recheck() end
        end)
        while not ngx.worker.exiting() do
            if state.check then
                state.check = false
                local ok, err = ensure_node(client, path, data, recheck, own)
                registered[path] = ok or false
                if not ok then
                    state.check = true
                    ngx_log(ngx_WARN, "resty.zookeeper.discovery: register ", path, ": ", err)
                end
            end
            wake:wait(state.check and RETRY_S or 1)
        end
    end)
end

--- Whether this worker's registration of `path` is in place (as last checked).
function _M.registered(path)
    return registered[path] == true
end

return _M
