import Synchronization
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// The recipes of a Lua client (client:lock, election, counter, create with `protected`): the
/// machines of ZooKeeperRecipes run by a `RecipeRunner` on the client's session; this file
/// only turns their notices into answers of waiting calls and callbacks. The objects Lua holds
/// are userdata (tables in nginx) carrying an id; their methods are calls on the client named
/// `<kind>:<method>` in the method table, with that id first.

/// What a recipe told the call waiting for it.
enum RecipeNews: Sendable {
    case lock(LockMachine.Notice)
    case election(LeaderLatchMachine.Notice)
    case counter(CounterMachine.Notice)
    case leader(LeaderQueryMachine.Notice)
    case created(ProtectedCreateMachine.Notice)
    case barrier(BarrierMachine.Notice)
    case doubleBarrier(DoubleBarrierMachine.Notice)
    case queued(QueuePutMachine.Notice)
    case taken(QueueTakeMachine.Notice)
}

/// A recipe object held by Lua.
enum LuaRecipe {
    case lock(LuaLock)
    case election(LuaElection)
    case counter(path: String)
    /// A read-write lock, semaphore, lease or barrier (LuaCoordination.swift).
    case coordination(LuaCoordination)
    case queue(path: String)
    case cache(LuaCache)
}

/// Where a recipe's notices go, from whichever thread runs the recipe: to the call waiting for
/// them, if one does (notices nobody waits for are dropped, never left in the mailbox).
final class RecipeInbox: Sendable {
    private struct State {
        var ticket: UInt64 = 0
        /// The lock was lost (its machine deletes what is left of it by itself).
        var lost = false
    }

    private let mailbox: Mailbox
    private let state = Mutex(State())

    init(mailbox: Mailbox) { self.mailbox = mailbox }

    /// Posts under the inbox's lock, so that nothing lands after `end`; false when nobody
    /// waits (the news is dropped).
    @discardableResult
    func post(_ news: RecipeNews) -> Bool {
        state.withLock { state in
            if case .lock(.lost) = news { state.lost = true }
            guard state.ticket != 0 else { return false }
            mailbox.post(.recipe(news), ticket: state.ticket)
            return true
        }
    }

    /// Notices go to `ticket` from now on; returns whether the lock was lost already.
    @discardableResult
    func begin(_ ticket: UInt64) -> Bool {
        state.withLock { state in
            state.ticket = ticket
            return state.lost
        }
    }

    /// Nobody waits any more; returns the ticket that did (0: none).
    @discardableResult
    func end() -> UInt64 {
        state.withLock { state in
            defer { state.ticket = 0 }
            return state.ticket
        }
    }
}

/// One lock object: its path, and the acquisition in progress or held (each with its inbox).
final class LuaLock {
    let path: String
    /// A new acquisition: the mutex, a side of a read-write lock, a semaphore's lease.
    let makeMachine: @Sendable (String) -> AcquisitionMachine
    var inbox: RecipeInbox
    var attempt: RecipeRunner<AcquisitionMachine>?
    /// The session the attempt runs on.
    var session: AnyObject?

    init(path: String, inbox: RecipeInbox, machine: @escaping @Sendable (String) -> AcquisitionMachine = { .lock(LockMachine(path: $0)) }) {
        self.path = path
        self.inbox = inbox
        makeMachine = machine
    }
}

/// One election participant, contending from its creation until closed or collected.
final class LuaElection {
    let path: String
    let runner: RecipeRunner<LeaderLatchMachine>
    let inbox: RecipeInbox
    /// The callback(is_leader), released when the object goes.
    let ref: Int32

    init(path: String, runner: RecipeRunner<LeaderLatchMachine>, inbox: RecipeInbox, ref: Int32) {
        self.path = path
        self.runner = runner
        self.inbox = inbox
        self.ref = ref
    }
}

extension LuaClient {
    /// How long a wait without a time-out lasts: a year.
    static let forever: Int64 = 365 * 86_400_000

    // MARK: Making objects

    /// `client:lock(path)`, `client:election(path, id, callback)`, `client:counter(path)`:
    /// the id of a new object (the glue wraps it).
    func makeRecipe(_ kind: String, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        let path = try args.string(0)
        let recipe: LuaRecipe
        switch kind {
        case "lock": recipe = .lock(LuaLock(path: path, inbox: RecipeInbox(mailbox: mailbox)))
        case "counter": recipe = .counter(path: path)
        case "queue": recipe = .queue(path: path)
        case "cache": recipe = .cache(try makeCache(path, args))
        default:
            let id = try args.string(1)
            guard let ref = try args.function(2, required: true) else { return .done([]) }
            let inbox = RecipeInbox(mailbox: mailbox)
            let mailbox = self.mailbox
            let machine = LeaderLatchMachine(path: path, id: id)
            guard let runner = recipeRunner(machine, onNotice: { notice in
                if case let .leader(leading) = notice {
                    mailbox.post(callback: Mailbox.Callback(ref: ref, arguments: [.boolean(leading)], last: false))
                } else {
                    inbox.post(.election(notice))
                }
            }) else { return LuaFormat.failure(sessionEndedError) }
            keep(ref)
            recipe = .election(LuaElection(path: path, runner: runner, inbox: inbox, ref: ref))
            runner.start { $0.start() }
        }
        return .done([.int(Int64(adopt(recipe)))])
    }

    /// Keeps `recipe` for Lua; its id.
    func adopt(_ recipe: LuaRecipe) -> UInt64 {
        let id = nextRecipe
        nextRecipe += 1
        recipes[id] = recipe
        return id
    }

    /// A runner on the current session; nil when there is none. The direct session runs its
    /// completions with its lock held: the runner's reactions (which submit again) wait until
    /// it is released.
    func recipeRunner<Machine: RecipeMachine>(_ machine: Machine, onNotice: @escaping @Sendable (Machine.Notice) -> Void) -> RecipeRunner<Machine>? {
        guard let zk, !zk.state.isTerminal else { return nil }
        var hop: RecipeRunner<Machine>.Hop?
        if let direct = zk.direct {
            hop = { @Sendable work in direct.runUnlocked(work) }
        }
        return RecipeRunner(machine, session: zk.session, requestTimeout: timeoutMillis, hop: hop, onNotice: onNotice)
    }

    /// A ticket answered by what a recipe tells `inbox`; `finish` gets that news (empty at the
    /// deadline). Notices after the answer are dropped.
    func recipeTicket(_ inbox: RecipeInbox, deadline: Int64, ready: @escaping (RecipeNews) -> Bool,
                              finish: @escaping (_ news: [RecipeNews]) -> Outcome) -> Ticket {
        let mailbox = self.mailbox
        let ticket = makeTicket(deadline: deadline, isReady: { news, _ in
            news.contains { if case let .recipe(recipe) = $0 { ready(recipe) } else { false } }
        }) { news, _ in
            let id = inbox.end()
            if id != 0 { mailbox.forget(id) }
            return finish(news.compactMap { if case let .recipe(recipe) = $0 { recipe } else { nil } })
        }
        inbox.begin(ticket.id)
        return ticket
    }

    /// Runs a machine that tells one thing and finishes (a counter operation, a protected
    /// create, who leads, a barrier's wait); `format` answers it (nil: no answer by `deadline`,
    /// the client's timeout by default; the machine then runs `abandon`, if given).
    func runOnce<Machine: RecipeMachine>(_ machine: Machine, _ wrap: @escaping @Sendable (Machine.Notice) -> RecipeNews,
                                         deadline: Int64? = nil, start: (inout Machine) -> [RecipeStep<Machine.Notice>],
                                         abandon: (@Sendable (inout Machine) -> [RecipeStep<Machine.Notice>])? = nil,
                                         format: @escaping (RecipeNews?) -> Outcome) -> Outcome {
        let inbox = RecipeInbox(mailbox: mailbox)
        guard let runner = recipeRunner(machine, onNotice: { inbox.post(wrap($0)) }) else { return LuaFormat.failure(sessionEndedError) }
        let ticket = recipeTicket(inbox, deadline: deadline ?? monotonicNow() + timeoutMillis + 1_000, ready: { _ in true }) { news in
            if news.isEmpty, let abandon { runner.perform(abandon) }
            return format(news.first)
        }
        runner.start(start)
        return .wait(ticket)
    }

    private var isConnected: Bool { zk?.state.isConnected ?? false }

    static func timedOut() -> Outcome { LuaFormat.failure("timeout", .operationTimeout) }

    // MARK: Methods of the objects

    /// `<kind>:<method>(id, ...)`.
    func callRecipe(_ method: String, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        let id = UInt64(try args.integer(0, range: 1...(1 << 53)))
        var args = args
        args.method = String(method.split(separator: ":").last ?? "")
        args.firstNumber = 1  // self is #1, the id is not the caller's
        guard let recipe = recipes[id] else { throw BadArgument(message: "resty.zookeeper: \(method): no such object") }
        switch (method, recipe) {
        case let ("lock:acquire", .lock(lock)): return try acquire(lock, args)
        case let ("lock:release", .lock(lock)): return release(lock)
        // Only while connected: the machine hears a lost connection a moment later (on the
        // thread that runs its reactions), and a holder must not be told "held" meanwhile.
        case let ("lock:is_held", .lock(lock)): return .done([.boolean(isConnected && lock.attempt?.read { $0.isHeld } ?? false)])
        case let ("election:is_leader", .election(election)):
            return .done([.boolean(isConnected && election.runner.read { $0.hasLeadership })])
        case let ("election:leader_id", .election(election)):
            return runOnce(LeaderQueryMachine(path: election.path), { .leader($0) }, start: { $0.start() }) { news in
                switch news {
                case let .leader(.leader(id))?: .done([id.map { .string($0) } ?? .nil])
                case let .leader(.failed(error))?: LuaFormat.failure(error)
                default: Self.timedOut()
                }
            }
        case let ("election:close", .election(election)): return close(election)
        case let ("counter:get", .counter(path)): return count(path, .get)
        case let ("counter:add", .counter(path)): return count(path, .add(Int32(try args.integer(1))))
        case let ("counter:set", .counter(path)): return count(path, .set(Int32(try args.integer(1))))
        case let (_, .coordination(recipe)): return try callCoordination(method, recipe, args)
        case let (_, .queue(path)): return try callQueue(method, path, args)
        case let (_, .cache(cache)): return try callCache(method, cache, args)
        default: throw BadArgument(message: "resty.zookeeper: \(method): no such method for this object")
        }
    }

    /// The object was collected (zkl_drop_object): its work is given up (a lock attempt's node
    /// deleted, an election left) and its callback handed back.
    func dropRecipe(_ id: UInt64) {
        switch recipes.removeValue(forKey: id) {
        case let .lock(lock)?:
            drop(lock)
        case let .election(election)?:
            let waiting = election.inbox.end()
            if waiting != 0 { forget(waiting) }
            election.runner.perform { $0.close() }
            release(election.ref)
        case let .coordination(recipe)?:
            dropCoordination(recipe)
        case let .cache(cache)?:
            closeCache(cache)
            release(cache.ref)
        case .counter?, .queue?, nil:
            break
        }
    }

    // MARK: Lock

    /// A lock (or lease) object is gone: its attempt or hold is given up.
    func drop(_ lock: LuaLock) {
        let waiting = lock.inbox.end()
        if waiting != 0 { forget(waiting) }
        lock.attempt?.perform { $0.abandon() }
    }

    /// `granted`: the answer once acquired (a semaphore answers a lease object).
    func acquire(_ lock: LuaLock, _ args: LuaArguments, granted: @escaping () -> Outcome = { .done([.boolean(true)]) }) throws(BadArgument) -> Outcome {
        let timeout: Int64? = args[1].isNil ? nil : try args.integer(1, range: 1...86_400_000)
        guard let zk, !zk.state.isTerminal else { return LuaFormat.failure(sessionEndedError) }
        // An attempt of an earlier session ends with it (its machine hears the end a moment later).
        if let attempt = lock.attempt, lock.session === zk.session {
            guard attempt.isFinished else { return LuaFormat.failure("this lock object already holds or is acquiring the lock", .badArguments) }
            lock.attempt = nil
        }
        let inbox = RecipeInbox(mailbox: mailbox)
        guard let runner = recipeRunner(lock.makeMachine(lock.path), onNotice: { inbox.post(.lock($0)) }) else {
            return LuaFormat.failure(sessionEndedError)
        }
        lock.inbox = inbox
        lock.attempt = runner
        lock.session = zk.session
        let deadline = monotonicNow() + (timeout ?? Self.forever)
        let ticket = recipeTicket(inbox, deadline: deadline, ready: { news in
            switch news {
            case .lock(.acquired), .lock(.failed), .lock(.lost): true
            default: false
            }
        }) { news in
            for case let .lock(notice) in news {
                switch notice {
                case .acquired: return granted()
                case let .failed(error), let .lost(error):
                    lock.attempt = nil
                    return LuaFormat.failure(error)
                default: continue
                }
            }
            // Not ours in time: our place in line (our node, even one still being made) goes.
            lock.attempt = nil
            runner.perform { $0.abandon() }
            return Self.timedOut()
        }
        runner.start { $0.acquire() }
        return .wait(ticket)
    }

    func release(_ lock: LuaLock) -> Outcome {
        guard let runner = lock.attempt else { return .done([.boolean(true)]) }
        if runner.isFinished {
            lock.attempt = nil
            return .done([.boolean(true)])
        }
        let ticket = recipeTicket(lock.inbox, deadline: monotonicNow() + timeoutMillis + 1_000, ready: { news in
            switch news {
            case .lock(.released), .lock(.failed), .lock(.lost): true
            default: false
            }
        }) { news in
            lock.attempt = nil
            for case let .lock(.failed(error)) in news { return LuaFormat.failure(error) }
            return news.isEmpty && !runner.isFinished ? Self.timedOut() : .done([.boolean(true)])
        }
        if lock.inbox.begin(ticket.id) {
            // Lost already: its machine deletes what is left of its node by itself.
            tickets[ticket.id] = nil
            lock.inbox.end()
            lock.attempt = nil
            return .done([.boolean(true)])
        }
        runner.perform { $0.release() }
        return .wait(ticket)
    }

    // MARK: Election

    private func close(_ election: LuaElection) -> Outcome {
        let runner = election.runner
        if runner.isFinished { return .done([.boolean(true)]) }
        let ticket = recipeTicket(election.inbox, deadline: monotonicNow() + timeoutMillis + 1_000, ready: { news in
            if case .election(.closed) = news { true } else { false }
        }) { news in
            news.isEmpty && !runner.isFinished ? Self.timedOut() : .done([.boolean(true)])
        }
        runner.perform { $0.close() }
        return .wait(ticket)
    }

    // MARK: Counter

    private func count(_ path: String, _ change: CounterMachine.Change) -> Outcome {
        runOnce(CounterMachine(path: path, change: change), { .counter($0) }, start: { $0.start() }) { news in
            switch news {
            case let .counter(.value(value))?:
                if case .set = change { return .done([.boolean(true)]) }
                return .done([.int(Int64(value))])
            case let .counter(.failed(error))?: return LuaFormat.failure(error)
            default: return Self.timedOut()
            }
        }
    }

    // MARK: Protected create

    /// `create(path, data, mode, sequential, { protected = true })`.
    func protectedCreate(path: String, data: [UInt8], mode: CreateMode, acl: [ACL]) -> Outcome {
        runOnce(ProtectedCreateMachine(path: path, data: data, mode: mode, acl: acl), { .created($0) }, start: { $0.start() }) { news in
            switch news {
            case let .created(.created(created))?: .done([.string(created)])
            case let .created(.failed(error))?: LuaFormat.contractFailure(error, creating: true)
            default: Self.timedOut()
            }
        }
    }
}
