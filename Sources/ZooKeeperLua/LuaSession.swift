import ZooKeeperDirect
import ZooKeeperProtocol
import ZooKeeperSession

/// The session behind a Lua client. Outside nginx it is the direct driver: the Lua thread
/// waiting for an answer does the socket I/O itself (no thread handoff per call), while the
/// shared poller thread keeps an idle session pinging and its events coming; no libdispatch and
/// no event loop are involved, so a process that forks after a connect (nginx's master) leaves
/// its children free to connect. Inside nginx it is hosted: Lua moves the bytes on cosockets
/// (`hosted` is then set) and nothing here ever blocks.
final class LuaSession {
    let session: any DrivenSession
    /// The direct driver, when this thread may drive the session itself.
    let direct: DirectSession?
    /// The hosted session, when Lua moves the bytes.
    let hosted: HostedSession?

    init(connectString: ConnectString, sessionTimeout: Int64, connectTimeout: Int64, maxFrameLength: Int, hostedIO: Bool,
         sasl: SASLCredentials? = nil, tls: TLSOptions? = nil, readOnly: Bool = false, asksReadWrite: Bool = true) {
        var configuration = SessionConfiguration(
            connectString: connectString, sessionTimeout: sessionTimeout, connectTimeout: connectTimeout, canBeReadOnly: readOnly,
            maxFrameLength: maxFrameLength, sasl: sasl, tls: tls)
        configuration.asksReadWrite = asksReadWrite
        if hostedIO {
            let hosted = HostedSession(configuration: configuration, clock: monotonicMillis)
            (session, direct, self.hosted) = (hosted, nil, hosted)
        } else {
            let direct = DirectSession(configuration: configuration)
            (session, self.direct, hosted) = (direct, direct, nil)
        }
        session.start()
    }

    var state: SessionState { session.state }
    var sessionId: Int64 { session.facts.sessionId }
    var sessionPassword: [UInt8] { session.facts.password }
    var sessionTimeout: Duration { .milliseconds(session.facts.sessionTimeout) }
    var lastZxid: Int64 { session.facts.lastZxid }
    var currentHost: HostAddress? { session.facts.currentHost }
    var lastConnectResponse: ConnectResponse? { session.facts.lastConnectResponse }
    /// Why the session ended (a refused password or certificate), once it has.
    var endReason: ZooKeeperError? { session.facts.endReason }

    /// `thenDrive`: the caller waits (drives) right after it submits, as every call but an
    /// `_async` one does; an async request is written and read by the poller meanwhile.
    func submit(_ operation: Operation, watch: SessionListeners.WatchHandler? = nil, persistent: Bool = false, timeout: Duration,
                thenDrive: Bool = true, completion: @escaping @Sendable (Result<OperationResult, ZooKeeperError>) -> Void) {
        session.submit(operation, watch: watch, persistent: persistent, timeout: timeout.millis, thenDrive: thenDrive, completion: completion)
    }

    func onStateChange(_ handler: @escaping @Sendable (SessionEvent) -> Void) -> SessionObservation {
        SessionObservation(session: session, id: session.onStateChange(handler))
    }

    func beginClose(completion: @escaping @Sendable () -> Void = {}) {
        session.close(timeout: 2_000, done: completion)
    }

    /// Closes and waits (on this thread, driving the session) until the server confirmed or
    /// `timeout` ms passed: for a client collected as its process ends, whose session would
    /// otherwise linger (with its ephemerals) until it expires. A hosted session cannot be
    /// driven from here: its closeSession goes out only if Lua still moves its bytes.
    func closeAndWait(timeout: Int64) {
        let closed = Flag()
        session.close(timeout: 2_000) { closed.isSet = true }
        direct?.drive(until: monotonicMillis() + timeout) { closed.isSet }
    }

    /// Drives the session on this thread until `ready()` or the deadline. `ready` runs with
    /// the session locked: it must not touch the session.
    func drive(until deadline: Int64, ready: () -> Bool) {
        direct?.drive(until: deadline, ready: ready)
    }
}

/// A state-change subscription; cancel it to stop hearing changes.
struct SessionObservation {
    let session: any DrivenSession
    let id: UInt64
    func cancel() { session.removeStateHandler(id) }
}

/// Set by a session callback and read by the driving thread, both under the session's lock.
private final class Flag: @unchecked Sendable {
    var isSet = false
}
