import Logging
import NIOConcurrencyHelpers
import NIOCore
@_exported import ZooKeeperProtocol
@_exported import ZooKeeperSession

/// A ZooKeeper session for Swift programs: async methods for every operation, watches as
/// callbacks or async sequences, and a session that pings, fails over between servers, and
/// re-registers its watches and auth after a reconnect.
///
/// ```swift
/// let zk = try await ZooKeeperClient.connect("127.0.0.1:2181/app")
/// _ = try await zk.create("/config", data: Array("v1".utf8))
/// let (data, stat) = try await zk.getData("/config")
/// await zk.close()
/// ```
///
/// Watch and state callbacks run on the client's I/O thread: keep them short and non-blocking.
public final class ZooKeeperClient: Sendable {
    /// How the client connects and how long its requests may take.
    public struct Configuration: Sendable {
        /// `host:port[,host:port...][/chroot]`.
        public var connectString: String
        /// Requested session timeout; the server clamps it to its min/max.
        public var sessionTimeout: Duration
        /// Per-host connect plus handshake; nil divides the session timeout among the hosts.
        public var connectTimeout: Duration?
        /// How long a request may wait for its answer, including time spent reconnecting.
        public var requestTimeout: Duration
        /// Accept a read-only server (one cut off from its quorum).
        public var canBeReadOnly: Bool
        /// Requests written and not yet answered at once; more wait in a queue.
        public var maxInFlight: Int
        /// The longest reply accepted, in bytes (the client's jute.maxbuffer). A longer one fails
        /// its request with `.frameTooLarge`; the session reconnects and goes on.
        public var maxFrameLength: Int
        /// Resume this session instead of creating one.
        public var sessionId: Int64?
        /// The password of `sessionId`.
        public var password: [UInt8]?
        /// Where the client logs (state changes, connects); secrets never appear.
        public var logger: Logger
        /// SASL (DIGEST-MD5) on every connection; see docs/security.md.
        public var sasl: SASLCredentials?
        /// TLS on every connection (connect to the servers' secureClientPort).
        public var tls: TLSOptions?
        /// swift-metrics of requests, errors, reconnects and session state; nil: none (`ZooKeeperMetrics`).
        public var metrics: ZooKeeperMetrics?
        /// A span per request; nil: none, whatever tracer is bootstrapped (`ZooKeeperTracing`).
        public var tracing: ZooKeeperTracing?

        /// A configuration with the defaults a typical application wants.
        public init(
            connectString: String, sessionTimeout: Duration = .seconds(30), connectTimeout: Duration? = nil,
            requestTimeout: Duration = .seconds(10), canBeReadOnly: Bool = false, maxInFlight: Int = 10_000,
            maxFrameLength: Int = FrameDecoder.defaultMaxFrameLength, sessionId: Int64? = nil, password: [UInt8]? = nil, logger: Logger = Logger(label: "zookeeper"),
            sasl: SASLCredentials? = nil, tls: TLSOptions? = nil, metrics: ZooKeeperMetrics? = nil, tracing: ZooKeeperTracing? = nil
        ) {
            self.connectString = connectString
            self.sessionTimeout = sessionTimeout
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.canBeReadOnly = canBeReadOnly
            self.maxInFlight = maxInFlight
            self.maxFrameLength = maxFrameLength
            self.sessionId = sessionId
            self.password = password
            self.logger = logger
            self.sasl = sasl
            self.tls = tls
            self.metrics = metrics
            self.tracing = tracing
        }
    }

    /// The configuration the client was created with.
    public let configuration: Configuration
    let driver: SessionDriver
    private let requestTimeoutMillis: Int64
    /// Nil unless metrics or tracing was asked for.
    private let instruments: RequestInstruments?

    /// An executor on the client's I/O thread, for loops of calls that should not pay two
    /// thread hops per call (the reply otherwise resumes the task on another thread):
    ///
    /// ```swift
    /// try await withTaskExecutorPreference(zk.ioExecutor) {
    ///     for path in paths { _ = try await zk.exists(path) }
    /// }
    /// ```
    ///
    /// The thread serves every client of the process: keep slow or blocking work off it.
    public var ioExecutor: any TaskExecutor { driver.ioExecutor }

    /// Creates a client and starts connecting; use `waitUntilConnected` or `connect` to wait.
    /// `onStateChange` hears every state change from the first: a handler added after `init`
    /// may come after `.connected` (connecting to a nearby server takes a millisecond).
    public init(configuration: Configuration, onStateChange: (@Sendable (SessionEvent) -> Void)? = nil) throws(ZooKeeperError) {
        let connectString: ConnectString
        do { connectString = try ConnectString(configuration.connectString) } catch {
            throw ZooKeeperError(.badArguments, message: error.description)
        }
        self.configuration = configuration
        requestTimeoutMillis = configuration.requestTimeout.milliseconds
        let session = SessionConfiguration(
            connectString: connectString, sessionTimeout: configuration.sessionTimeout.milliseconds,
            connectTimeout: configuration.connectTimeout?.milliseconds, canBeReadOnly: configuration.canBeReadOnly,
            maxInFlight: configuration.maxInFlight, maxFrameLength: configuration.maxFrameLength, sessionId: configuration.sessionId ?? 0,
            password: configuration.password ?? [UInt8](repeating: 0, count: 16), sasl: configuration.sasl, tls: configuration.tls)
        driver = SessionDriver(configuration: session, logger: configuration.logger)
        instruments = RequestInstruments(metrics: configuration.metrics, tracing: configuration.tracing)
        if let metrics = instruments?.metrics {
            driver.onStateChange({ metrics.sessionChanged($0) }, current: { metrics.sessionIs($0) })
        }
        // In place before the start: both go to the loop in this order.
        if let onStateChange { driver.onStateChange(onStateChange) }
        driver.start()
    }

    /// Connects and waits until the session is established (or throws and closes the client).
    public static func connect(_ connectString: String, sessionTimeout: Duration = .seconds(30), timeout: Duration? = nil) async throws -> ZooKeeperClient {
        try await connect(configuration: Configuration(connectString: connectString, sessionTimeout: sessionTimeout), timeout: timeout)
    }

    /// Connects with a full configuration and waits until the session is established.
    /// `onStateChange` hears every state change from the first (as with `init`).
    public static func connect(configuration: Configuration, timeout: Duration? = nil,
                               onStateChange: (@Sendable (SessionEvent) -> Void)? = nil) async throws -> ZooKeeperClient {
        let client = try ZooKeeperClient(configuration: configuration, onStateChange: onStateChange)
        do {
            try await client.waitUntilConnected(timeout: timeout ?? configuration.sessionTimeout)
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    deinit {
        // An abandoned client still ends its session, so its ephemeral nodes go at once.
        driver.close(timeout: 2_000) {}
    }

    // MARK: Session

    /// The session's current state.
    public var state: SessionState { driver.facts.state }
    /// The session id (0 until a server accepted the session).
    public var sessionId: Int64 { driver.facts.sessionId }
    /// The session password, needed with `sessionId` to resume the session elsewhere.
    public var sessionPassword: [UInt8] { driver.facts.password }
    /// The negotiated session timeout (the requested one until connected).
    public var sessionTimeout: Duration { .milliseconds(driver.facts.sessionTimeout) }
    /// The newest zxid this client has seen.
    public var lastZxid: Int64 { driver.facts.lastZxid }
    /// The server in use or being tried.
    public var currentHost: HostAddress? { driver.facts.currentHost }

    /// Calls `handler` on every session state change until the returned token is cancelled.
    @discardableResult
    public func onStateChange(_ handler: @escaping @Sendable (SessionEvent) -> Void) -> StateObservation {
        StateObservation(driver: driver, id: driver.onStateChange(handler))
    }

    /// Session state changes as an async sequence; it finishes after a terminal state.
    public func stateChanges() -> AsyncStream<SessionEvent> {
        AsyncStream { continuation in
            let observation = onStateChange { event in
                continuation.yield(event)
                if event == .expired || event == .authFailed || event == .closed { continuation.finish() }
            }
            continuation.onTermination = { _ in observation.cancel() }
        }
    }

    /// Waits until the session is connected; throws when it ends first or the time runs out.
    public func waitUntilConnected(timeout: Duration) async throws {
        if state.isConnected { return }
        let waiter = OneShot<Result<Void, ZooKeeperError>>()
        let settle: @Sendable (SessionState) -> Void = { state in
            switch state {
            case .connected, .connectedReadOnly: waiter.fulfil(.success(()))
            case .expired: waiter.fulfil(.failure(ZooKeeperError(.sessionExpired)))
            case .authFailed: waiter.fulfil(.failure(self.driver.facts.endReason ?? ZooKeeperError(.authFailed)))
            case .closed: waiter.fulfil(.failure(ZooKeeperError.closed()))
            case .connecting: break
            }
        }
        // The state is read on the loop where the handler is registered: a connect answered
        // between a read here and the registration there would otherwise go unheard.
        let id = driver.onStateChange({ settle($0.state) }, current: settle)
        defer { driver.removeStateHandler(id) }
        let timer = driver.eventLoop.scheduleTask(in: .milliseconds(timeout.milliseconds)) {
            waiter.fulfil(.failure(ZooKeeperError(.connectionLoss, message: "could not connect within \(timeout)")))
        }
        defer { timer.cancel() }
        try await waiter.value.get()
    }

    /// Starts closing without waiting; `completion` runs (on the I/O thread) once closed.
    public func beginClose(completion: @escaping @Sendable () -> Void = {}) {
        driver.close(timeout: 2_000, done: completion)
    }

    /// Ends the session: the server drops its ephemeral nodes at once. Idempotent.
    public func close() async {
        let done = OneShot<Void>()
        driver.close(timeout: 2_000) { done.fulfil(()) }
        await done.value
    }

    // MARK: Requests

    /// The server's answer to the latest handshake, for diagnostics. It holds the session
    /// password: mask it before showing it (its description does).
    public var lastConnectResponse: ConnectResponse? { driver.facts.lastConnectResponse }

    /// Submits any operation without awaiting it: `completion` runs on the client's I/O thread.
    /// `watch` (needed when the operation sets one) hears the watch's events; with `persistent`
    /// it stays registered after firing (addWatch).
    public func submit(
        _ operation: Operation, watch: WatchCallback? = nil, persistent: Bool = false, timeout: Duration? = nil,
        completion: @escaping @Sendable (Result<OperationResult, ZooKeeperError>) -> Void
    ) {
        let millis = timeout?.milliseconds ?? requestTimeoutMillis
        guard let instruments else {
            driver.submit(operation, watch: watch, persistent: persistent, timeout: millis, completion: completion)
            return
        }
        let request = instruments.begin(operation) { driver.facts.currentHost }
        driver.submit(operation, watch: watch, persistent: persistent, timeout: millis) { result in
            if case let .failure(error) = result { request.end(error: error) } else { request.end(error: nil) }
            completion(result)
        }
    }

    /// Runs any operation; the typed methods below are built on it. Throws `ZooKeeperError`,
    /// or `CancellationError` at once when the calling task is cancelled (the request's late
    /// reply is then dropped, and a watch it asked for is not registered).
    public func perform(_ operation: Operation, timeout: Duration? = nil) async throws -> OperationResult {
        try await perform(operation, watch: nil, persistent: false, timeout: timeout)
    }

    func perform(_ operation: Operation, watch: (@Sendable (WatchEvent) -> Void)?, persistent: Bool, timeout: Duration? = nil,
                 ticket: RequestTicket = RequestTicket()) async throws -> OperationResult {
        guard let instruments else { return try await send(operation, watch: watch, persistent: persistent, timeout: timeout, ticket: ticket) }
        let request = instruments.begin(operation) { driver.facts.currentHost }
        do {
            let result = try await send(operation, watch: watch, persistent: persistent, timeout: timeout, ticket: ticket)
            request.end(error: nil)
            return result
        } catch {
            request.end(error: error)
            throw error
        }
    }

    /// Submits a request and awaits its answer or the task's cancellation.
    private func send(_ operation: Operation, watch: (@Sendable (WatchEvent) -> Void)?, persistent: Bool, timeout: Duration?,
                      ticket: RequestTicket) async throws -> OperationResult {
        let millis = timeout?.milliseconds ?? requestTimeoutMillis
        let call = PendingCall()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard call.begin(continuation) else { return }
                driver.submit(operation, watch: watch, persistent: persistent, timeout: millis, ticket: ticket) { call.finish($0) }
            }
        } onCancel: {
            if call.cancel() { driver.cancel(ticket) }
        }
    }
}

/// One awaited request: answered once, by its reply or by the cancellation of its task,
/// whichever comes first.
private final class PendingCall: Sendable {
    private enum Phase {
        case idle
        case waiting(CheckedContinuation<OperationResult, any Error>)
        case over
    }
    private let phase = NIOLockedValueBox(Phase.idle)

    /// Starts waiting; false (and the continuation answered) when the task was already cancelled.
    func begin(_ continuation: CheckedContinuation<OperationResult, any Error>) -> Bool {
        let started = phase.withLockedValue { phase in
            guard case .idle = phase else { return false }
            phase = .waiting(continuation)
            return true
        }
        if !started { continuation.resume(throwing: CancellationError()) }
        return started
    }

    func finish(_ result: Result<OperationResult, ZooKeeperError>) {
        take()?.resume(with: result.mapError { $0 as any Error })
    }

    /// Answers CancellationError now; true when the request was still waiting for its reply.
    func cancel() -> Bool {
        let (continuation, wasIdle) = phase.withLockedValue { phase -> (CheckedContinuation<OperationResult, any Error>?, Bool) in
            switch phase {
            case .idle: phase = .over; return (nil, true)
            case let .waiting(continuation): phase = .over; return (continuation, false)
            case .over: return (nil, false)
            }
        }
        continuation?.resume(throwing: CancellationError())
        return continuation != nil || wasIdle
    }

    private func take() -> CheckedContinuation<OperationResult, any Error>? {
        phase.withLockedValue { phase in
            guard case let .waiting(continuation) = phase else { return nil }
            phase = .over
            return continuation
        }
    }
}

/// A state-change subscription; cancel it to stop hearing changes.
public struct StateObservation: Sendable {
    fileprivate let driver: SessionDriver
    fileprivate let id: UInt64

    /// Stops delivering state changes to the handler.
    public func cancel() { driver.removeStateHandler(id) }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
