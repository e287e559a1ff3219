import Synchronization
import ZooKeeperSession

/// Sessions of nginx per-request clients kept for the next request, as cosockets keep their
/// connections (`sock:setkeepalive`). A request that opens a session, reads and closes it pays
/// a handshake and a closeSession: two transactions the ensemble writes to its log, and most of
/// the request's time. close() instead parks a session that nothing ties to its owner (no
/// ephemeral, watch, added identity, callback or recipe: `SessionStateMachine.isReusable`);
/// the next connect() with the same settings takes it over, over the same TCP connection, which
/// Lua keeps in nginx's connection pool under the name given here. A session idle past its
/// limit is handed to a sweeper that closes it properly.
enum SessionKeepalive {
    /// The `keepalive` option: `false` turns keeping off, a table sets these.
    struct Options: Hashable, Sendable {
        /// The longest a session waits for its next request (ms); never more than a quarter of
        /// its negotiated timeout, so that it is taken back long before it could need a ping.
        var idleMillis: Int64 = 10_000
        /// Sessions kept per set of settings (per worker); past that, close() closes. Kept sessions
        /// never outnumber the requests that ran at once, so this bounds only how many wait.
        var poolSize = 100

        static let idleRange: ClosedRange<Int64> = 1...3_600_000
        static let poolSizeRange = 1...10_000

        /// The option as zk.new got it: nil (the default: kept), `true`, `false` (never kept), or
        /// `{ timeout = ms, pool_size = n }`.
        static func parse(_ value: LuaValue) throws(SecurityOptions.Invalid) -> Options? {
            switch value {
            case .nil, .boolean(true): return Options()
            case .boolean(false): return nil
            case let .table(pairs):
                try SecurityOptions.refuseUnknown(pairs, in: "keepalive", known: ["timeout", "pool_size"])
                var options = Options()
                switch value["timeout"] {
                case .nil: break
                case let .number(n) where n == n.rounded() && n >= Double(idleRange.lowerBound) && n <= Double(idleRange.upperBound):
                    options.idleMillis = Int64(n)
                default: throw SecurityOptions.Invalid(message: "keepalive.timeout must be a whole number of milliseconds from 1 to 3600000")
                }
                switch value["pool_size"] {
                case .nil: break
                case let .number(n) where n == n.rounded() && n >= Double(poolSizeRange.lowerBound) && n <= Double(poolSizeRange.upperBound):
                    options.poolSize = Int(n)
                default: throw SecurityOptions.Invalid(message: "keepalive.pool_size must be a whole number from 1 to 10000")
                }
                return options
            default:
                throw SecurityOptions.Invalid(message: "keepalive must be a boolean or a table { timeout = ms, pool_size = n }")
            }
        }
    }

    /// Sessions interchangeable for a client: the same servers, timeout and security.
    struct Key: Hashable {
        let connectString: String
        let sessionTimeoutMillis: Int64
        let maxFrameBytes: Int
        let readOnly: Bool
        let sasl: SASLCredentials?
        let tls: TLSOptions?
    }

    /// A parked session with its I/O, its link and the name of the link's nginx pool.
    struct Parked {
        let key: Key
        let session: LuaSession
        let io: HostedIO
        let link: UInt64
        let poolName: String
        let parkedAt: Int64
        let idleLimit: Int64
    }

    /// What Lua needs to get the link's connection back out of nginx's pool.
    struct Link {
        let link: UInt64
        let host: String
        let port: Int
        let poolName: String
    }

    /// Every parked session of the process (an nginx worker), oldest first. A session is only
    /// ever touched by the thread that holds it (parked: nobody), so the lock guards the list.
    private final class Store: @unchecked Sendable {
        private let lock = Mutex<Void>(())
        private var entries: [Parked] = []

        func withLock<T>(_ body: (inout [Parked]) -> T) -> T {
            lock.withLock { _ in body(&entries) }
        }
    }

    private static let parked = Store()

    static var count: Int { parked.withLock { $0.count } }

    /// Parks `client`'s session if it may serve another request; `client` is then closed as if
    /// by close(). Answers how long nginx should keep the connection (ms), or nil (close it).
    static func park(_ client: LuaClient, poolName: String, now: Int64 = monotonicNow()) -> Int64? {
        guard let options = client.keepalive, client.hostedIO, !client.shared, !client.debug,
              let zk = client.zk, let hosted = zk.hosted, hosted.runtime.isReusable,
              client.tickets.isEmpty, client.abandonedTickets.isEmpty, client.recipes.isEmpty, client.authCount == 0,
              !client.holdsReferences, client.mailbox.isIdle, let link = client.io.onlyLink(of: hosted)
        else { return nil }
        let key = key(of: client)
        let idleLimit = min(options.idleMillis, zk.sessionTimeout.millis / 4)
        guard idleLimit > 0 else { return nil }
        let kept = parked.withLock { entries -> Bool in
            guard entries.count(where: { $0.key == key }) < options.poolSize else { return false }
            entries.append(Parked(key: key, session: zk, io: client.io, link: link, poolName: poolName, parkedAt: now, idleLimit: idleLimit))
            return true
        }
        guard kept else { return nil }
        client.stopObservingState()
        client.zk = nil
        client.io = HostedIO()
        client.closedByUser = true
        return idleLimit
    }

    /// Hands `client` (not connected) the newest parked session with its settings that is still
    /// within its idle limit.
    static func take(for client: LuaClient, now: Int64 = monotonicNow()) -> Link? {
        guard client.keepalive != nil, client.hostedIO, !client.shared, !client.debug, client.zk == nil else { return nil }
        let key = key(of: client)
        let entry = parked.withLock { entries -> Parked? in
            guard let index = entries.lastIndex(where: { $0.key == key && now - $0.parkedAt < $0.idleLimit }) else { return nil }
            return entries.remove(at: index)
        }
        return entry.flatMap { adopt($0, into: client) }
    }

    /// For the sweeper: hands `client` a session past its idle limit (any, with `all`) to close.
    static func takeIdle(for client: LuaClient, all: Bool, now: Int64 = monotonicNow()) -> Link? {
        guard client.hostedIO, client.zk == nil else { return nil }
        let entry = parked.withLock { entries -> Parked? in
            guard let index = entries.firstIndex(where: { all || now - $0.parkedAt >= $0.idleLimit }) else { return nil }
            return entries.remove(at: index)
        }
        return entry.flatMap { adopt($0, into: client) }
    }

    private static func adopt(_ entry: Parked, into client: LuaClient) -> Link? {
        // The settings the session was made with (the sweeper's client has its own): a
        // connect() then waits for this session instead of opening another.
        client.connectString = entry.key.connectString
        client.sessionTimeoutMillis = entry.key.sessionTimeoutMillis
        client.zk = entry.session
        client.io = entry.io
        client.closedByUser = false
        client.observeState(of: entry.session)
        guard let host = entry.session.currentHost else {
            // No server to take the connection back from: the session reconnects by itself.
            entry.io.report(.closed, link: entry.link, bytes: UnsafeRawBufferPointer(start: nil, count: 0))
            return nil
        }
        return Link(link: entry.link, host: host.host, port: host.port, poolName: entry.poolName)
    }

    private static func key(of client: LuaClient) -> Key {
        Key(connectString: client.connectString, sessionTimeoutMillis: client.sessionTimeoutMillis, maxFrameBytes: client.maxFrameBytes,
            readOnly: client.readOnly, sasl: client.sasl, tls: client.tls)
    }
}
