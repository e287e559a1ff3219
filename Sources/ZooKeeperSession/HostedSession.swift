import DequeModule
import ZooKeeperProtocol

/// The transport whose host moves the bytes: the host opens, writes and closes connections as
/// `nextCommand()` asks, and reports what happened (`connectionEstablished`, `bytesReceived`,
/// time passing with `tick`). Used where the host's own I/O must be used, such as nginx, whose
/// workers may only wait on cosockets. Not thread-safe: one thread drives it and hears its
/// completions, watch events and state changes, synchronously, inside these calls.
public final class HostedSession: DrivenSession, SessionTransport {
    /// What the host must do, in order.
    public enum Command: Equatable, Sendable {
        /// Open a connection; report `connectionEstablished` or `connectionFailed`.
        case connect(host: String, port: Int, ConnectionID)
        /// Write these bytes (consecutive writes to one connection come as one).
        case send([UInt8], ConnectionID)
        /// Close the connection; report nothing more about it.
        case close(ConnectionID)
    }

    /// The session; the host's thread is the only one that calls it.
    public let runtime: SessionRuntime
    private var commands = Deque<Command>()

    /// A session that starts with `start()`; `clock` gives monotonic milliseconds.
    public init(configuration: SessionConfiguration, clock: @escaping () -> Millis) {
        runtime = SessionRuntime(configuration: configuration, clock: clock)
        runtime.attach(self)
    }

    public var state: SessionState { runtime.state }
    public var facts: SessionFacts { runtime.facts }
    /// When `tick` is due next (monotonic ms), if ever.
    public var nextDeadline: Millis? { runtime.nextDeadline }
    /// The connection the session uses or is opening (not a read-write probe's).
    public var currentConnection: ConnectionID? { runtime.currentConnection }

    public func start() { runtime.start() }

    public func submit(_ operation: Operation, watch: SessionListeners.WatchHandler?, persistent: Bool, timeout: Int64,
                       thenDrive: Bool = false, completion: @escaping SessionListeners.Completion) {
        runtime.submit(operation, watch: watch, persistent: persistent, timeout: timeout, completion: completion)
    }

    public func submit(_ operation: Operation, persistentWatcher watcher: WatcherID, watch: @escaping SessionListeners.WatchHandler,
                       timeout: Int64, completion: @escaping SessionListeners.Completion) {
        runtime.submit(operation, watch: watch, persistent: true, watcherID: watcher, timeout: timeout, completion: completion)
    }

    public func removeWatcher(_ watcher: WatcherID, path: String) { runtime.removeWatcher(watcher, path: path) }

    public func close(timeout: Int64, done: @escaping @Sendable () -> Void) { runtime.close(timeout: timeout, done: done) }

    @discardableResult
    public func onStateChange(_ handler: @escaping SessionListeners.StateHandler) -> UInt64 { runtime.onStateChange(handler) }

    public func removeStateHandler(_ id: UInt64) { runtime.removeStateHandler(id) }

    // MARK: The host's side

    /// The next thing to do with the connections, if any.
    public func nextCommand() -> Command? { commands.popFirst() }

    public func connectionEstablished(_ connection: ConnectionID) { runtime.connectionEstablished(connection) }

    public func connectionFailed(_ connection: ConnectionID) {
        dropCommands(for: connection)
        runtime.connectionFailed(connection)
    }

    /// The connection's TLS refused a certificate either way: retrying cannot help, the
    /// session ends as `authFailed` with `message`.
    public func connectionRefused(_ connection: ConnectionID, message: String) {
        dropCommands(for: connection)
        runtime.connectionRefused(connection, message: message)
    }

    public func connectionClosed(_ connection: ConnectionID) {
        dropCommands(for: connection)
        runtime.connectionClosed(connection)
    }

    public func bytesReceived(_ bytes: UnsafeRawBufferPointer, connection: ConnectionID) {
        runtime.bytesReceived(bytes, connection: connection)
    }

    /// Time passed: pings, timeouts, reconnect pauses.
    public func tick() { runtime.tick() }

    // MARK: Transport (the runtime's I/O, queued for the host)

    public func open(_ host: HostAddress, connection: ConnectionID) {
        commands.append(.connect(host: host.host, port: host.port, connection))
    }

    /// Consecutive writes to one connection are coalesced into one command.
    public func send(_ bytes: [UInt8], connection: ConnectionID) {
        if case let .send(queued, last)? = commands.last, last == connection {
            commands[commands.count - 1] = .send(queued + bytes, connection)
        } else {
            commands.append(.send(bytes, connection))
        }
    }

    public func close(connection: ConnectionID) {
        dropCommands(for: connection)
        commands.append(.close(connection))
    }

    /// The host asks `nextDeadline` when it waits.
    public func scheduleTick(at deadline: Millis?) {}

    /// Writes queued for a connection that is gone will never be made.
    private func dropCommands(for connection: ConnectionID) {
        commands.removeAll { if case let .send(_, c) = $0 { c == connection } else { false } }
    }
}
