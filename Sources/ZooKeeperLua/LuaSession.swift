import ZooKeeperDirect
import ZooKeeperProtocol
import ZooKeeperSession

/// The session behind a Lua client: the direct driver, so that the Lua thread waiting for an
/// answer does the socket I/O itself (no thread handoff per call), while the shared poller
/// thread keeps an idle session pinging and its events coming. No libdispatch and no event
/// loop are involved, so a process that forks after a connect (nginx's master) leaves its
/// children free to connect.
final class LuaSession {
    let direct: DirectSession

    init(connectString text: String, sessionTimeout: Int64, connectTimeout: Int64) throws(ZooKeeperError) {
        let connectString: ConnectString
        do { connectString = try ConnectString(text) } catch {
            throw ZooKeeperError(.badArguments, message: error.description)
        }
        direct = DirectSession(configuration: SessionConfiguration(
            connectString: connectString, sessionTimeout: sessionTimeout, connectTimeout: connectTimeout))
        direct.start()
    }

    var state: SessionState { direct.state }
    var sessionId: Int64 { direct.sessionId }
    var sessionPassword: [UInt8] { direct.password }
    var sessionTimeout: Duration { .milliseconds(direct.sessionTimeout) }
    var lastZxid: Int64 { direct.lastZxid }
    var currentHost: HostAddress? { direct.currentHost }
    var lastConnectResponse: ConnectResponse? { direct.lastConnectResponse }

    func submit(_ operation: Operation, watch: DirectSession.WatchHandler? = nil, persistent: Bool = false, timeout: Duration,
                completion: @escaping @Sendable (Result<OperationResult, ZooKeeperError>) -> Void) {
        // The Lua client always waits (drives) right after it submits.
        direct.submit(operation, watch: watch, persistent: persistent, timeout: timeout.millis, thenDrive: true, completion: completion)
    }

    func onStateChange(_ handler: @escaping @Sendable (SessionEvent) -> Void) -> SessionObservation {
        SessionObservation(direct: direct, id: direct.onStateChange(handler))
    }

    func beginClose(completion: @escaping @Sendable () -> Void = {}) {
        direct.close(done: completion)
    }

    /// Closes and waits (on this thread, driving the session) until the server confirmed or
    /// `timeout` ms passed: for a client collected as its process ends, whose session would
    /// otherwise linger (with its ephemerals) until it expires.
    func closeAndWait(timeout: Int64) {
        let closed = Flag()
        direct.close { closed.isSet = true }
        direct.drive(until: monotonicMillis() + timeout) { closed.isSet }
    }

    /// Drives the session on this thread until `ready()` or the deadline. `ready` runs with
    /// the session locked: it must not touch the session.
    func drive(until deadline: Int64, ready: () -> Bool) {
        direct.drive(until: deadline, ready: ready)
    }
}

/// A state-change subscription; cancel it to stop hearing changes.
struct SessionObservation {
    let direct: DirectSession
    let id: UInt64
    func cancel() { direct.removeStateHandler(id) }
}

/// Set by a session callback and read by the driving thread, both under the session's lock.
private final class Flag: @unchecked Sendable {
    var isSet = false
}
