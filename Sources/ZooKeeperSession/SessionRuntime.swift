import Synchronization
import ZooKeeperProtocol

/// One session, whatever moves its bytes: the state machine plus the bookkeeping every transport
/// needs around it: completions and handlers (ids, watch registration on submit), the listener
/// half of running the machine's actions, the session's facts, and when to tick. Its transport
/// does the I/O half (`SessionTransport`) and reports back through the entry points below.
///
/// Not thread-safe: the transport serializes every call (its event loop, its lock, its host's
/// one thread). Completions and handlers run inside those calls, after the bookkeeping of the
/// action that calls them, so a handler may call back into the runtime (submit, close).
public final class SessionRuntime {
    public typealias Completion = SessionListeners.Completion
    public typealias WatchHandler = SessionListeners.WatchHandler
    public typealias StateHandler = SessionListeners.StateHandler

    private var machine: SessionStateMachine
    private var listeners = SessionListeners()
    private let clock: () -> Millis
    /// The transport owns the runtime and is the only way in: it outlives every call.
    private unowned(unsafe) var transport: (any SessionTransport)?
    /// Hears the facts at the start of every step, before any listener (for a copy other
    /// threads read: whoever a completion wakes must see the state it announces).
    public var onFacts: ((SessionFacts) -> Void)?

    /// Handler ids are unique in the process, so that a transport can hand one out before it
    /// reaches the runtime's thread.
    private static let handlerIDs = Atomic<UInt64>(1)

    /// A runtime for `transport` (attach it before `start`); `clock` gives monotonic ms.
    public init(configuration: SessionConfiguration, clock: @escaping () -> Millis) {
        machine = SessionStateMachine(configuration: configuration)
        self.clock = clock
    }

    /// Connects the transport that carries out this runtime's I/O (and owns it).
    public func attach(_ transport: any SessionTransport) { self.transport = transport }

    // MARK: Facts

    public var facts: SessionFacts { SessionFacts(machine) }
    public var state: SessionState { machine.state }
    public var configuration: SessionConfiguration { machine.configuration }
    /// When `tick` is due next (monotonic ms), if ever.
    public var nextDeadline: Millis? { machine.state.isTerminal ? nil : machine.nextDeadline() }
    /// Whether another owner could take the session over as if new (`SessionStateMachine.isReusable`).
    public var isReusable: Bool { machine.isReusable }
    /// The connection the session uses or is opening.
    public var currentConnection: ConnectionID? { machine.currentConnection }
    /// Whether the session still wants `connection` (its current one, or a read-write probe).
    public func wants(_ connection: ConnectionID) -> Bool { machine.wants(connection) }

    // MARK: The owner's side

    /// Starts connecting.
    public func start() { run(machine.start(now: clock())) }

    /// What `submit` started: the request, and the watcher its watch is registered under.
    public struct Submission: Hashable, Sendable {
        public let request: RequestID
        public let watcher: WatcherID?
    }

    /// Submits an operation; `completion` hears its result, `watch` the events of the watch it
    /// leaves (for good with `persistent`, an addWatch), under `watcherID` when given (from
    /// `takeHandlerID`, so that the caller can `removeWatcher` it later).
    @discardableResult
    public func submit(_ operation: Operation, watch: WatchHandler? = nil, persistent: Bool = false, watcherID: WatcherID? = nil,
                       timeout: Int64, completion: @escaping Completion) -> Submission {
        var watcher: WatcherID?
        if let watch {
            let id = watcherID ?? Self.takeHandlerID()
            listeners.addWatch(watch, persistent: persistent, id: id)
            watcher = id
        }
        let (id, actions) = machine.submit(operation, watcher: watcher, timeout: timeout, now: clock())
        listeners.expect(id, watcher: watcher, completion: completion)
        run(actions)
        return Submission(request: id, watcher: watcher)
    }

    /// Gives up a request its caller stopped waiting for: no completion comes, a late reply is
    /// dropped, and the watch it asked for goes (also when its reply came first and set it).
    public func cancel(_ submission: Submission) {
        listeners.forget(submission.request)
        if let watcher = submission.watcher {
            listeners.removeWatch(watcher)
            machine.forgetWatcher(watcher)
        }
        run(machine.cancel(submission.request))
    }

    /// Stops a watcher whose consumer went away. When nothing else of this session watches
    /// `path`, the server's watches there go too, so that no reconnect sets them again.
    public func removeWatcher(_ watcher: WatcherID, path: String) {
        listeners.removeWatch(watcher)
        machine.forgetWatcher(watcher)
        guard !machine.watches.has(path: path, type: .any), machine.state.isConnected else { return }
        submit(.removeWatches(path: path, type: .any, local: false), timeout: Int64(machine.sessionTimeout)) { _ in }
    }

    /// Closes the session (closeSession first when connected); `done` runs once it ended, at
    /// once if it already has.
    public func close(timeout: Int64, done: @escaping @Sendable () -> Void) {
        if machine.state.isTerminal {
            done()
            return
        }
        listeners.whenEnded(id: Self.takeHandlerID(), done)
        run(machine.close(now: clock(), timeout: timeout))
    }

    /// Calls `handler` on every state change; returns its id.
    @discardableResult
    public func onStateChange(_ handler: @escaping StateHandler) -> UInt64 {
        let id = Self.takeHandlerID()
        onStateChange(handler, id: id)
        return id
    }

    /// Calls `handler` on every state change under `id` (from `takeHandlerID`).
    public func onStateChange(_ handler: @escaping StateHandler, id: UInt64) {
        listeners.addState(handler, id: id)
    }

    public func removeStateHandler(_ id: UInt64) { listeners.removeState(id) }

    /// A handler id no other handler of the process has.
    public static func takeHandlerID() -> UInt64 {
        handlerIDs.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    // MARK: The transport's side (`now`: the transport's clock reading, if it has one)

    public func connectionEstablished(_ connection: ConnectionID, now: Millis? = nil) {
        run(machine.connectionEstablished(connection, now: now ?? clock()))
    }

    public func connectionFailed(_ connection: ConnectionID, now: Millis? = nil) {
        run(machine.connectionFailed(connection, now: now ?? clock()))
    }

    /// The connection failed in a way retrying cannot fix (a certificate refused either way).
    public func connectionRefused(_ connection: ConnectionID, message: String, now: Millis? = nil) {
        run(machine.connectionRefused(connection, message: message, now: now ?? clock()))
    }

    public func connectionClosed(_ connection: ConnectionID, now: Millis? = nil) {
        run(machine.connectionClosed(connection, now: now ?? clock()))
    }

    public func bytesReceived(_ bytes: UnsafeRawBufferPointer, connection: ConnectionID, now: Millis? = nil) {
        run(machine.bytesReceived(bytes, connection: connection, now: now ?? clock()))
    }

    /// Time passed: pings, timeouts, reconnect pauses.
    public func tick(now: Millis? = nil) { run(machine.tick(now: now ?? clock())) }

    // MARK: Running actions

    /// The I/O actions go to the transport, the others to the listeners, in order; then the
    /// transport hears when to tick.
    private func run(_ actions: consuming [SessionAction]) {
        onFacts?(SessionFacts(machine))
        for action in copy actions {
            switch action {
            case let .connect(host, connection):
                transport?.open(host, connection: connection)
            case let .send(bytes, connection):
                transport?.send(bytes, connection: connection)
            case let .closeConnection(connection):
                transport?.close(connection: connection)
            case let .complete(id, result):
                let completion = listeners.completion(of: id, result: result)
                completion?(result)
            case let .sessionEvent(event, watchers):
                transport?.sessionChanged(event)
                let handlers = listeners.sessionEventHandlers(watchers: watchers, sessionEnded: machine.state.isTerminal)
                if !handlers.watch.isEmpty {
                    let stateEvent = WatchEvent(type: .none, state: event.keeperState, path: "")
                    for handler in handlers.watch { handler(stateEvent) }
                }
                for handler in handlers.state { handler(event) }
            case .watchEvent:
                for call in listeners.calls(for: action, sessionEnded: machine.state.isTerminal) { call() }
            }
        }
        transport?.scheduleTick(at: nextDeadline)
        machine.recycle(&actions)  // the next input's actions go in the same array
    }
}
