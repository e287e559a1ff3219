import DequeModule
import ZooKeeperProtocol

/// A session whose host moves the bytes: the host opens, writes and closes connections as
/// `nextCommand()` asks, and reports what happened (`connectionEstablished`, `bytesReceived`,
/// time passing with `tick`). Used where the host's own I/O must be used, such as nginx, whose
/// workers may only wait on cosockets. Not thread-safe: one thread drives it and hears its
/// completions, watch events and state changes, synchronously, inside these calls.
public final class HostedSession: DrivenSession {
    /// What the host must do, in order.
    public enum Command: Equatable, Sendable {
        /// Open a connection; report `connectionEstablished` or `connectionFailed`.
        case connect(host: String, port: Int, ConnectionID)
        /// Write these bytes (consecutive writes to one connection come as one).
        case send([UInt8], ConnectionID)
        /// Close the connection; report nothing more about it.
        case close(ConnectionID)
    }

    private var machine: SessionStateMachine
    private var listeners = SessionListeners()
    private var commands = Deque<Command>()
    private var nextHandlerID: UInt64 = 1
    private let clock: () -> Millis

    /// A session that starts with `start()`; `clock` gives monotonic milliseconds.
    public init(configuration: SessionConfiguration, clock: @escaping () -> Millis) {
        machine = SessionStateMachine(configuration: configuration)
        self.clock = clock
    }

    public var state: SessionState { machine.state }
    public var sessionId: Int64 { machine.sessionId }
    public var password: [UInt8] { machine.password }
    public var sessionTimeout: Int64 { machine.sessionTimeout }
    public var lastZxid: Int64 { machine.lastZxid }
    public var currentHost: HostAddress? { machine.currentHost }
    public var lastConnectResponse: ConnectResponse? { machine.lastConnectResponse }
    /// When `tick` is due next (monotonic ms), if ever.
    public var nextDeadline: Millis? { machine.state.isTerminal ? nil : machine.nextDeadline() }
    /// The connection the session uses or is opening.
    public var currentConnection: ConnectionID? { machine.currentConnection }

    public func start() { run(machine.start(now: clock())) }

    public func submit(_ operation: Operation, watch: SessionListeners.WatchHandler?, persistent: Bool, timeout: Int64,
                       thenDrive: Bool = false, completion: @escaping SessionListeners.Completion) {
        var watcher: WatcherID?
        if let watch {
            watcher = takeHandlerID()
            listeners.addWatch(watch, persistent: persistent, id: watcher!)
        }
        let (id, actions) = machine.submit(operation, watcher: watcher, timeout: timeout, now: clock())
        listeners.expect(id, watcher: watcher, completion: completion)
        run(actions)
    }

    public func close(timeout: Int64, done: @escaping @Sendable () -> Void) {
        if machine.state.isTerminal {
            done()
            return
        }
        listeners.whenEnded(id: takeHandlerID(), done)
        run(machine.close(now: clock(), timeout: timeout))
    }

    @discardableResult
    public func onStateChange(_ handler: @escaping SessionListeners.StateHandler) -> UInt64 {
        let id = takeHandlerID()
        listeners.addState(handler, id: id)
        return id
    }

    public func removeStateHandler(_ id: UInt64) { listeners.removeState(id) }

    // MARK: The host's side

    /// The next thing to do with the connections, if any.
    public func nextCommand() -> Command? { commands.popFirst() }

    public func connectionEstablished(_ connection: ConnectionID) {
        run(machine.connectionEstablished(connection, now: clock()))
    }

    public func connectionFailed(_ connection: ConnectionID) {
        dropCommands(for: connection)
        run(machine.connectionFailed(connection, now: clock()))
    }

    public func connectionClosed(_ connection: ConnectionID) {
        dropCommands(for: connection)
        run(machine.connectionClosed(connection, now: clock()))
    }

    public func bytesReceived(_ bytes: UnsafeRawBufferPointer, connection: ConnectionID) {
        run(machine.bytesReceived(bytes, connection: connection, now: clock()))
    }

    /// Time passed: pings, timeouts, reconnect pauses.
    public func tick() { run(machine.tick(now: clock())) }

    // MARK: Internals

    private func takeHandlerID() -> UInt64 {
        defer { nextHandlerID += 1 }
        return nextHandlerID
    }

    /// Writes queued for a connection that is gone will never be made.
    private func dropCommands(for connection: ConnectionID) {
        commands.removeAll { if case let .send(_, c) = $0 { c == connection } else { false } }
    }

    private func run(_ actions: [SessionAction]) {
        for action in actions {
            switch action {
            case let .connect(address, connection):
                commands.append(.connect(host: address.host, port: address.port, connection))
            case let .send(bytes, connection):
                if case let .send(queued, last)? = commands.last, last == connection {
                    commands[commands.count - 1] = .send(queued + bytes, connection)
                } else {
                    commands.append(.send(bytes, connection))
                }
            case let .closeConnection(connection):
                dropCommands(for: connection)
                commands.append(.close(connection))
            case .complete, .watchEvent, .sessionEvent:
                for call in listeners.calls(for: action, sessionEnded: machine.state.isTerminal) { call() }
            }
        }
    }
}
