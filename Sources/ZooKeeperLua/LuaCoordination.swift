import ZooKeeperRecipes

/// The coordination recipes of a Lua client beyond lock, election and counter:
/// `client:read_write_lock(path)`, whose sides are lock objects, and
/// `client:semaphore(path, leases)`, whose `acquire` answers a lease object; both run by the
/// lock code of LuaRecipes.swift under their own machine. Only routing lives here: the logic is
/// the machines' (ZooKeeperRecipes).
enum LuaCoordination {
    case readWriteLock(path: String)
    case semaphore(path: String, leases: Int)
    /// A lease of a semaphore: a lock object under the lease machine, held until released.
    case lease(LuaLock)
}

extension LuaClient {
    /// `client:read_write_lock(path)`...: the id of a new object (the glue wraps it).
    func makeCoordination(_ kind: String, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        let path = try args.string(0)
        let recipe: LuaCoordination
        switch kind {
        case "read_write_lock": recipe = .readWriteLock(path: path)
        case "semaphore": recipe = .semaphore(path: path, leases: Int(try args.integer(1, range: 1...Int64(Int32.max))))
        default: throw BadArgument(message: "resty.zookeeper: '\(kind)' is not implemented")
        }
        return .done([.int(Int64(adopt(.coordination(recipe))))])
    }

    /// `<kind>:<method>(id, ...)` of a coordination object.
    func callCoordination(_ method: String, _ recipe: LuaCoordination, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        switch (method, recipe) {
        case let ("read_write_lock:read_lock", .readWriteLock(path)):
            return .done([.int(Int64(adopt(.lock(LuaLock(path: path, inbox: RecipeInbox(mailbox: mailbox)) { .lock(.read(path: $0)) })))), .string("lock")])
        case let ("read_write_lock:write_lock", .readWriteLock(path)):
            return .done([.int(Int64(adopt(.lock(LuaLock(path: path, inbox: RecipeInbox(mailbox: mailbox)) { .lock(.write(path: $0)) })))), .string("lock")])
        case let ("semaphore:acquire", .semaphore(path, leases)):
            let lease = LuaLock(path: path, inbox: RecipeInbox(mailbox: mailbox)) { .lease(SemaphoreMachine(path: $0, max: leases)) }
            // The lease becomes an object only once granted: a time-out leaves nothing to collect.
            return try acquire(lease, args) { [weak self] in
                guard let self else { return LuaFormat.failure("client is closed", .connectionLoss) }
                return .done([.int(Int64(adopt(.coordination(.lease(lease))))), .string("lease")])
            }
        case let ("lease:release", .lease(lease)):
            return release(lease)
        default: throw BadArgument(message: "resty.zookeeper: \(method): no such method for this object")
        }
    }

    /// A coordination object was collected: its work is given up (a lease is given back).
    func dropCoordination(_ recipe: LuaCoordination) {
        switch recipe {
        case .readWriteLock, .semaphore: break  // their locks and leases are objects of their own
        case let .lease(lease): drop(lease)
        }
    }
}
