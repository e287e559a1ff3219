import ZooKeeperRecipes

/// The coordination recipes of a Lua client beyond lock, election and counter:
/// `client:read_write_lock(path)`, whose sides are lock objects, and
/// `client:semaphore(path, leases)`, whose `acquire` answers a lease object (both run by the
/// lock code of LuaRecipes.swift under their own machine); `client:barrier(path)` and
/// `client:double_barrier(path, count)`. Only routing lives here: the logic is the machines'
/// (ZooKeeperRecipes).
enum LuaCoordination {
    case readWriteLock(path: String)
    case semaphore(path: String, leases: Int)
    /// A lease of a semaphore: a lock object under the lease machine, held until released.
    case lease(LuaLock)
    case barrier(path: String)
    case doubleBarrier(LuaDoubleBarrier)
}

/// One member of a double barrier: its machine runs from `enter` until every member left.
final class LuaDoubleBarrier {
    let path: String
    let count: Int
    var runner: RecipeRunner<DoubleBarrierMachine>?
    var inbox: RecipeInbox

    init(path: String, count: Int, inbox: RecipeInbox) {
        self.path = path
        self.count = count
        self.inbox = inbox
    }
}

extension LuaClient {
    /// `client:read_write_lock(path)`...: the id of a new object (the glue wraps it).
    func makeCoordination(_ kind: String, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        let path = try args.string(0)
        let recipe: LuaCoordination
        switch kind {
        case "read_write_lock": recipe = .readWriteLock(path: path)
        case "semaphore": recipe = .semaphore(path: path, leases: Int(try args.integer(1, range: 1...Int64(Int32.max))))
        case "barrier": recipe = .barrier(path: path)
        case "double_barrier":
            let count = Int(try args.integer(1, range: 1...Int64(Int32.max)))
            recipe = .doubleBarrier(LuaDoubleBarrier(path: path, count: count, inbox: RecipeInbox(mailbox: mailbox)))
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
        case let ("barrier:set", .barrier(path)): return barrier(path, .set, deadline: nil)
        case let ("barrier:remove", .barrier(path)): return barrier(path, .remove, deadline: nil)
        case let ("barrier:wait", .barrier(path)): return barrier(path, .wait, deadline: try deadline(args))
        case let ("double_barrier:enter", .doubleBarrier(member)): return try enter(member, deadline: try deadline(args))
        case let ("double_barrier:leave", .doubleBarrier(member)): return try leave(member, deadline: try deadline(args))
        default: throw BadArgument(message: "resty.zookeeper: \(method): no such method for this object")
        }
    }

    /// A coordination object was collected: its work is given up (a lease is given back, a
    /// double barrier member's node deleted).
    func dropCoordination(_ recipe: LuaCoordination) {
        switch recipe {
        case .readWriteLock, .semaphore, .barrier: break  // their locks and leases are objects of their own
        case let .lease(lease): drop(lease)
        case let .doubleBarrier(member):
            let waiting = member.inbox.end()
            if waiting != 0 { forget(waiting) }
            member.runner?.perform { $0.abandon() }
        }
    }

    /// The deadline of a call with an optional `timeout_ms` (none: no limit).
    private func deadline(_ args: LuaArguments) throws(BadArgument) -> Int64 {
        let timeout: Int64? = args[1].isNil ? nil : try args.integer(1, range: 1...86_400_000)
        return monotonicNow() + (timeout ?? Self.forever)
    }

    // MARK: Barrier

    /// `set` and `remove` answer within the client's timeout; `wait` by its deadline, giving up then.
    private func barrier(_ path: String, _ command: BarrierMachine.Command, deadline: Int64?) -> Outcome {
        runOnce(BarrierMachine(path: path, command: command), { .barrier($0) }, deadline: deadline, start: { $0.start() },
                abandon: { $0.abandon() }) { news in
            switch news {
            case .barrier(.done)?: .done([.boolean(true)])
            case let .barrier(.failed(error))?: LuaFormat.failure(error)
            default: Self.timedOut()
            }
        }
    }

    // MARK: Double barrier

    private func enter(_ member: LuaDoubleBarrier, deadline: Int64) throws(BadArgument) -> Outcome {
        if let runner = member.runner, !runner.isFinished {
            return LuaFormat.failure("this member has entered already; leave first", .badArguments)
        }
        let inbox = RecipeInbox(mailbox: mailbox)
        guard let runner = recipeRunner(DoubleBarrierMachine(path: member.path, count: member.count), onNotice: { inbox.post(.doubleBarrier($0)) }) else {
            return LuaFormat.failure(sessionEndedError)
        }
        member.inbox = inbox
        member.runner = runner
        let ticket = doubleBarrierTicket(member, runner, deadline: deadline, awaited: .entered)
        runner.start { $0.enter() }
        return .wait(ticket)
    }

    private func leave(_ member: LuaDoubleBarrier, deadline: Int64) throws(BadArgument) -> Outcome {
        guard let runner = member.runner, runner.read(\.hasEntered) else {
            return LuaFormat.failure("this member has not entered", .badArguments)
        }
        let ticket = doubleBarrierTicket(member, runner, deadline: deadline, awaited: .left)
        runner.perform { $0.leave() }
        return .wait(ticket)
    }

    /// A call waiting for `awaited` (or a failure); at its deadline the member gives up (its node goes).
    private func doubleBarrierTicket(_ member: LuaDoubleBarrier, _ runner: RecipeRunner<DoubleBarrierMachine>, deadline: Int64,
                                     awaited: DoubleBarrierMachine.Notice) -> Ticket {
        recipeTicket(member.inbox, deadline: deadline, ready: { news in
            switch news {
            case .doubleBarrier(awaited), .doubleBarrier(.failed): true
            default: false
            }
        }) { news in
            for case let .doubleBarrier(notice) in news {
                if case let .failed(error) = notice {
                    member.runner = nil
                    return LuaFormat.failure(error)
                }
                if awaited == .left { member.runner = nil }
                return .done([.boolean(true)])
            }
            member.runner = nil
            runner.perform { $0.abandon() }
            return Self.timedOut()
        }
    }
}
