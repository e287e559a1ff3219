import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// The queue and the tree cache of a Lua client (`client:queue(path)`, `client:cache(path,
/// callback)`): the machines of ZooKeeperRecipes on the client's session; this file only turns
/// their notices into answers and callbacks.

/// One cache object: its machine runs on the current session and is carried over to the next
/// one after an expiry (reporting what changed meanwhile).
final class LuaCache {
    let path: String
    /// The callback(event, path), released when the object goes.
    let ref: Int32
    var runner: RecipeRunner<CacheMachine>?
    /// The session the runner runs on.
    var session: AnyObject?
    var closed = false

    init(path: String, ref: Int32) {
        self.path = path
        self.ref = ref
    }
}

/// Puts items back into a queue. Called where the take's notices are heard: the direct
/// session is thread-safe, and the hosted one tells its notices on the Lua thread that owns it.
struct ItemReturner: @unchecked Sendable {
    let path: String
    let session: any DrivenSession
    let timeout: Int64
    let hop: RecipeRunner<QueuePutMachine>.Hop?

    func callAsFunction(_ data: [UInt8]) {
        RecipeRunner(QueuePutMachine(path: path, data: data), session: session, requestTimeout: timeout, hop: hop) { _ in }
            .start { $0.start() }
    }
}

extension LuaClient {
    // MARK: Queue

    /// `queue:put(data)`, `queue:take([timeout_ms])`.
    func callQueue(_ method: String, _ path: String, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        switch method {
        case "queue:put":
            return runOnce(QueuePutMachine(path: path, data: try args.data(1)), { .queued($0) }, start: { $0.start() }) { news in
                switch news {
                case let .queued(.put(created))?: .done([.string(created)])
                case let .queued(.failed(error))?: LuaFormat.failure(error)
                default: Self.timedOut()
                }
            }
        case "queue:take":
            return try take(path, timeout: args[1].isNil ? nil : args.integer(1, range: 1...86_400_000))
        default:
            throw BadArgument(message: "resty.zookeeper: \(method): no such method for this object")
        }
    }

    /// Waits for the first item. At the time-out the take is given up; an item taken just then
    /// (its notice came after nobody waited any more) goes back to the queue.
    private func take(_ path: String, timeout: Int64?) -> Outcome {
        guard let putBack = itemReturner(path) else { return LuaFormat.failure(sessionEndedError) }
        let inbox = RecipeInbox(mailbox: mailbox)
        guard let runner = recipeRunner(QueueTakeMachine(path: path), onNotice: { notice in
            if !inbox.post(.taken(notice)), case let .item(data) = notice { putBack(data) }
        }) else { return LuaFormat.failure(sessionEndedError) }
        let mailbox = self.mailbox
        let ticket = makeTicket(deadline: monotonicNow() + (timeout ?? Self.forever), isReady: { news, _ in !news.isEmpty }) { news, _ in
            // News posted after the ticket's were taken is read here, never dropped.
            let id = inbox.end()
            let all = news + (id != 0 ? mailbox.takeNews(id) : [])
            for case let .recipe(.taken(notice)) in all {
                switch notice {
                case let .item(data): return .done([.string(data)])
                case let .failed(error): return LuaFormat.failure(error)
                }
            }
            runner.perform { $0.abandon() }
            return Self.timedOut()
        }
        inbox.begin(ticket.id)
        runner.start { $0.start() }
        return .wait(ticket)
    }

    /// Puts an item back into the queue at `path`, from the thread that heard the take's
    /// notice (nil: no session).
    private func itemReturner(_ path: String) -> ItemReturner? {
        guard let zk, !zk.state.isTerminal else { return nil }
        let hop: RecipeRunner<QueuePutMachine>.Hop? = zk.direct.map { direct in { @Sendable work in direct.runUnlocked(work) } }
        return ItemReturner(path: path, session: zk.session, timeout: timeoutMillis, hop: hop)
    }

    // MARK: Cache

    /// `client:cache(path, callback)`: starts on the current session, or on the next one.
    func makeCache(_ path: String, _ args: LuaArguments) throws(BadArgument) -> LuaCache {
        guard let ref = try args.function(1, required: true) else { throw args.bad(1, "function expected") }
        keep(ref)
        let cache = LuaCache(path: path, ref: ref)
        resume(cache)
        return cache
    }

    /// Moves every cache to the current session (after a connect made a new one).
    func resumeCaches() {
        for case let .cache(cache) in recipes.values { resume(cache) }
    }

    /// Runs `cache` on the current session, carrying on from what it held on an earlier one.
    private func resume(_ cache: LuaCache) {
        guard !cache.closed, let zk, !zk.state.isTerminal, cache.session !== zk.session else { return }
        let earlier = cache.runner
        earlier?.perform { $0.close() }
        let machine = earlier.map { CacheMachine(resuming: $0.read { $0 }) } ?? CacheMachine(path: cache.path)
        let mailbox = self.mailbox, ref = cache.ref
        cache.runner = recipeRunner(machine) { notice in
            guard case let .event(event) = notice else { return }
            mailbox.post(callback: Mailbox.Callback(ref: ref, arguments: [.string(event.kind.rawValue), .string(event.path)], last: false))
        }
        cache.session = zk.session
        cache.runner?.start { $0.start() }
    }

    /// `cache:get(path)`, `cache:children(path)`, `cache:close()`: answered from the cache.
    func callCache(_ method: String, _ cache: LuaCache, _ args: LuaArguments) throws(BadArgument) -> Outcome {
        switch method {
        case "cache:get":
            let path = try args.string(1)
            guard let node = cache.runner?.read({ $0.node(path) }) else { return .done([.nil]) }
            return .done([.string(node.data), LuaFormat.stat(node.stat)])
        case "cache:children":
            let path = try args.string(1)
            guard let names = cache.runner?.read({ $0.children(path) }) else { return .done([.nil]) }
            return .done([LuaFormat.strings(names)])
        case "cache:close":
            closeCache(cache)
            return .done([.boolean(true)])
        default:
            throw BadArgument(message: "resty.zookeeper: \(method): no such method for this object")
        }
    }

    /// Stops the cache (its watch goes); its callback is handed back when the object goes.
    func closeCache(_ cache: LuaCache) {
        cache.closed = true
        cache.runner?.perform { $0.close() }
    }
}
