-- resty.zookeeper: a ZooKeeper client whose core is native (Swift). This shim only finds and
-- loads the native library, next to the lua/ directory it lives in, so that nothing but
-- LUA_PATH (or nginx's lua_package_path) is needed. `require("zookeeper")` and
-- `require("zk_connection")` return the same module. Inside nginx (ngx.get_phase exists) the
-- module's clients move their bytes on cosockets, so that no call blocks a worker
-- (resty/zookeeper/cosocket.lua); elsewhere the native core does its own socket I/O.
local function here()
    local source = debug.getinfo(1, "S").source
    return (source:sub(1, 1) == "@" and source:sub(2) or source):match("^(.*)/[^/]*$") or "."
end

local lua_dir = here() .. "/.."
local candidates = {
    os.getenv("RESTY_ZOOKEEPER_NATIVE") or lua_dir .. "/resty/zookeeper_native.so",
    lua_dir .. "/../.build/release/libzookeeper_lua.so",
    lua_dir .. "/../.build/debug/libzookeeper_lua.so",
}

local errors = {}
for _, path in ipairs(candidates) do
    local file = path and io.open(path, "rb")
    if file then
        file:close()
        local open, err = package.loadlib(path, "luaopen_resty_zookeeper_native")
        if open then
            local native = open()
            -- Every error code by name (zk.errors.NONODE == -101), from the core's one table:
            -- callers decide on codes, never on message text.
            native.errors = native.error_codes()
            native.error_codes = nil
            if type(ngx) == "table" and type(ngx.get_phase) == "function" and ngx.socket and ngx.socket.tcp then
                return require("resty.zookeeper.cosocket")(native)
            end
            return native
        end
        errors[#errors + 1] = path .. ": " .. tostring(err)
    end
end
error("resty.zookeeper: native library not found (build it with scripts/build-lua.sh)\n"
    .. table.concat(errors, "\n"), 2)
