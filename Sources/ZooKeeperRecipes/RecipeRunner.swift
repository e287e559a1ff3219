import Synchronization
import ZooKeeperProtocol
import ZooKeeperSession

/// Runs a recipe machine on any `DrivenSession` (the NIO driver, the direct session, the
/// hosted session): submits what it asks for, feeds it results, watch events and session
/// changes, and hands its notices to the owner. Thread-safe: owner commands may come from any
/// thread; steps are carried out in order, one at a time, outside the lock, so a session that
/// completes a request inside `submit` (or a notice handler that commands the machine again)
/// only queues more steps for the loop already running.
///
/// `hop`: for a session whose callbacks must not call back into it (the direct session runs
/// them with its lock held), a way to run the runner's reaction elsewhere; nil reacts inline.
public final class RecipeRunner<Machine: RecipeMachine>: @unchecked Sendable {
    public typealias Hop = @Sendable (@escaping @Sendable () -> Void) -> Void

    private struct State {
        var machine: Machine
        var pending: [RecipeStep<Machine.Notice>] = []
        var draining = false
        var finished = false
        var stateHandler: UInt64?
        /// The persistent watchers of the machine's addWatch requests, with their paths:
        /// stopped when it finishes.
        var watchers: [(id: WatcherID, path: String)] = []
    }

    private let session: any DrivenSession
    private let requestTimeout: Int64
    private let hop: Hop?
    private let onNotice: @Sendable (Machine.Notice) -> Void
    private let state: Mutex<State>

    /// A runner of `machine` on `session`; requests wait up to `requestTimeout` ms each (a
    /// timed-out one counts as a loss: the machine finds out what happened and goes on).
    public init(_ machine: Machine, session: any DrivenSession, requestTimeout: Int64, hop: Hop? = nil,
                onNotice: @escaping @Sendable (Machine.Notice) -> Void) {
        self.session = session
        self.requestTimeout = requestTimeout
        self.hop = hop
        self.onNotice = onNotice
        state = Mutex(State(machine: machine))
    }

    /// Starts hearing session changes, then runs `command` (the machine's start: acquire...).
    public func start(_ command: (inout Machine) -> [RecipeStep<Machine.Notice>]) {
        let id = session.onStateChange { [self] event in deliver(.session(event)) }
        state.withLock { $0.stateHandler = id }
        perform(command)
    }

    /// Runs an owner command on the machine and carries out the steps it asks for.
    public func perform(_ command: (inout Machine) -> [RecipeStep<Machine.Notice>]) {
        let shouldDrain = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.pending += command(&state.machine)
            return takeDrain(&state)
        }
        if shouldDrain { drain() }
    }

    /// Reads the machine.
    public func read<T>(_ body: (Machine) -> T) -> T {
        state.withLock { body($0.machine) }
    }

    /// Whether the machine said it is done.
    public var isFinished: Bool { state.withLock { $0.finished } }

    private func deliver(_ input: RecipeInput) {
        if let hop {
            hop { [self] in perform { $0.receive(input) } }
        } else {
            perform { $0.receive(input) }
        }
    }

    private func takeDrain(_ state: inout State) -> Bool {
        guard !state.draining, !state.pending.isEmpty else { return false }
        state.draining = true
        return true
    }

    /// Carries out the pending steps in order until none is left.
    private func drain() {
        while true {
            let next = state.withLock { state -> (RecipeStep<Machine.Notice>, UInt64?, [(id: WatcherID, path: String)])? in
                guard !state.pending.isEmpty else {
                    state.draining = false
                    return nil
                }
                let step = state.pending.removeFirst()
                if case .finished = step {
                    state.finished = true
                    defer {
                        state.stateHandler = nil
                        state.watchers = []
                    }
                    return (step, state.stateHandler, state.watchers)
                }
                return (step, nil, [])
            }
            guard let (step, handler, watchers) = next else { return }
            switch step {
            case let .submit(request): submit(request)
            case let .notify(notice): onNotice(notice)
            case .finished:
                if let handler { session.removeStateHandler(handler) }
                for watcher in watchers { session.removeWatcher(watcher.id, path: watcher.path) }
            }
        }
    }

    private func submit(_ request: RecipeRequest) {
        let token = request.token
        if case let .addWatch(path, _) = request.operation {
            // A persistent watch: it stays until the machine finishes.
            let watcher = SessionRuntime.takeHandlerID()
            state.withLock { $0.watchers.append((watcher, path)) }
            session.submit(request.operation, persistentWatcher: watcher, watch: { @Sendable [self] event in deliver(.watch(token, event)) },
                           timeout: requestTimeout) { [self] result in deliver(.result(token, result)) }
            return
        }
        var watch: SessionListeners.WatchHandler?
        if request.operation.setsWatch {
            watch = { @Sendable [self] event in deliver(.watch(token, event)) }
        }
        session.submit(request.operation, watch: watch, persistent: false, timeout: requestTimeout, thenDrive: false) { [self] result in
            deliver(.result(token, result))
        }
    }
}
