/// The methods of a resty.zookeeper client, declared once. Everything else follows from this
/// table: the C glue registers these names at luaopen (zkl_method), the core refuses any other
/// name and decides which may be batched or have an `_async` form from it, and cosocket.lua
/// takes its set of methods that answer at once from it (the module's `_hosted.methods`).
/// ZooKeeperLuaTests checks that the README documents exactly these methods and that every one
/// of them is implemented.
struct LuaMethod: Sendable {
    /// How a method answers: one request to the server, or at once.
    struct Flags: OptionSet, Sendable {
        let rawValue: Int32
        /// A `batch{}` may contain it (it is answered by one request).
        static let batchable = Flags(rawValue: 1)
        /// It has a `<name>_async` form that returns a handle.
        static let async = Flags(rawValue: 2)
        /// It answers at once, in any phase (nginx lets it run where nothing may wait).
        static let instant = Flags(rawValue: 4)
        /// Not registered as a method: the glue reaches it another way (fields of the client).
        static let hidden = Flags(rawValue: 8)
        /// One of the original client's calls (its contract).
        static let contract = Flags(rawValue: 16)
        /// It answers an object (its first value is the object's id, the glue wraps it); the
        /// object's methods are the declared `<name>:<method>`s (or, when the core names a
        /// kind after the id, that kind's: `rw:read_lock()` answers a lock).
        static let object = Flags(rawValue: 32)

        /// One request, batchable and with an `_async` form.
        static let request: Flags = [.batchable, .async]
    }

    let name: String
    /// The arguments after `self`, as the README shows them.
    let arguments: String
    /// What a success returns.
    let result: String
    let flags: Flags

    init(_ name: String, _ arguments: String, _ result: String, _ flags: Flags = []) {
        self.name = name
        self.arguments = arguments
        self.result = result
        self.flags = flags
    }

    static let all: [LuaMethod] = [
        // The original client's contract.
        LuaMethod("connect", "[connect_string [, session_timeout]]", "true", .contract),
        LuaMethod("set_timeout", "ms", "nothing", [.contract, .instant]),
        LuaMethod("add_auth", "scheme, credentials", "true", .contract),
        LuaMethod("exists", "path", "true | false", [.contract, .request]),
        LuaMethod("get_data", "path", "data", [.contract, .request]),
        LuaMethod("create", "path, data, mode, sequential [, opts]", "created path", [.contract, .request]),
        LuaMethod("get_children", "path", "names", [.contract, .request]),
        LuaMethod("delete", "path [, version]", "true", [.contract, .request]),
        LuaMethod("watch", "path [, kind]", "event", .contract),
        LuaMethod("close", "", "true", .contract),
        LuaMethod("_debug", "", "table", [.contract, .instant]),
        // Beyond it.
        LuaMethod("set_data", "path, data [, version]", "stat", .request),
        LuaMethod("stat", "path [, callback]", "stat | false", .request),
        LuaMethod("get", "path [, callback]", "data, stat", .request),
        LuaMethod("children", "path [, callback]", "names, stat", .request),
        LuaMethod("get_acl", "path", "acl, stat", .request),
        LuaMethod("set_acl", "path, acl [, version]", "stat", .request),
        LuaMethod("multi", "ops", "results", .request),
        LuaMethod("multi_read", "ops", "results", .request),
        LuaMethod("sync", "path", "true", .request),
        LuaMethod("get_ephemerals", "[prefix]", "paths", .request),
        LuaMethod("get_all_children_number", "path", "number", .request),
        LuaMethod("who_am_i", "", "identities"),
        LuaMethod("add_watch", "path, mode, callback", "true"),
        LuaMethod("remove_watches", "path [, kind [, local]]", "true"),
        LuaMethod("check_watches", "path [, kind]", "true"),
        LuaMethod("get_config", "", "data, stat"),
        LuaMethod("session_state", "", "state name", .instant),
        LuaMethod("on_state", "callback", "true", .instant),
        LuaMethod("dispatch", "[ms]", "callbacks run"),
        LuaMethod("batch", "calls", "packed answers"),
        // The glue runs `fn` and asks the core between attempts (LuaRetry.swift).
        LuaMethod("retry", "fn [, policy]", "fn's results"),
        // Recipes (ZooKeeperRecipes): objects whose methods are `<kind>:<method>`, called with
        // the object's id first.
        LuaMethod("lock", "path", "lock", [.instant, .object]),
        LuaMethod("lock:acquire", "[timeout_ms]", "true"),
        LuaMethod("lock:release", "", "true"),
        LuaMethod("lock:is_held", "", "boolean", .instant),
        LuaMethod("election", "path, id, callback", "election", .object),
        LuaMethod("election:is_leader", "", "boolean", .instant),
        LuaMethod("election:leader_id", "", "id | nil"),
        LuaMethod("election:close", "", "true"),
        LuaMethod("counter", "path", "counter", [.instant, .object]),
        LuaMethod("counter:get", "", "number"),
        LuaMethod("counter:add", "delta", "new value"),
        LuaMethod("counter:set", "value", "true"),
        // Coordination (LuaCoordination.swift); an object method flagged `.object` answers an
        // object of the kind its result names.
        LuaMethod("read_write_lock", "path", "read_write_lock", [.instant, .object]),
        LuaMethod("read_write_lock:read_lock", "", "lock", [.instant, .object]),
        LuaMethod("read_write_lock:write_lock", "", "lock", [.instant, .object]),
        LuaMethod("semaphore", "path, leases", "semaphore", [.instant, .object]),
        LuaMethod("semaphore:acquire", "[timeout_ms]", "lease", .object),
        LuaMethod("lease:release", "", "true"),
        LuaMethod("barrier", "path", "barrier", [.instant, .object]),
        LuaMethod("barrier:set", "", "true"),
        LuaMethod("barrier:remove", "", "true"),
        LuaMethod("barrier:wait", "[timeout_ms]", "true"),
        LuaMethod("double_barrier", "path, count", "double_barrier", [.instant, .object]),
        LuaMethod("double_barrier:enter", "[timeout_ms]", "true"),
        LuaMethod("double_barrier:leave", "[timeout_ms]", "true"),
        LuaMethod("queue", "path", "queue", [.instant, .object]),
        LuaMethod("queue:put", "data", "item path"),
        LuaMethod("queue:take", "[timeout_ms]", "data"),
        LuaMethod("cache", "path, callback", "cache", [.instant, .object]),
        LuaMethod("cache:get", "path", "data, stat | nil", .instant),
        LuaMethod("cache:children", "path", "names | nil", .instant),
        LuaMethod("cache:close", "", "true", .instant),
        // A field of the client (session_id, ...), read through the client's __index.
        LuaMethod("__field", "name", "value", [.instant, .hidden]),
        // nginx per-request clients keeping sessions between requests (SessionKeepalive.swift):
        // close() parks, connect() takes, the sweeper takes idle ones to close them.
        LuaMethod("__park", "pool_name", "ms | nil", [.instant, .hidden]),
        LuaMethod("__take", "[connect_string [, session_timeout]]", "link, host, port, pool_name | nothing", [.instant, .hidden]),
        LuaMethod("__take_idle", "all", "link, host, port, pool_name | nil, parked", [.instant, .hidden]),
    ]

    private static let byName: [String: LuaMethod] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    static func named(_ name: String) -> LuaMethod? { byName[name] }

    /// The declared method a call names: a method, or the `_async` form of one that has it.
    static func resolve(_ name: String) -> (method: LuaMethod, async: Bool)? {
        if let method = byName[name] { return (method, false) }
        guard name.hasSuffix("_async"), let method = byName[String(name.dropLast(6))], method.flags.contains(.async) else { return nil }
        return (method, true)
    }
}
