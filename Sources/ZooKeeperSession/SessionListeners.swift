/// Who hears what a session's actions announce: request completions, watch events and state
/// changes. `SessionRuntime` keeps one and hands it every action; the I/O actions go to its
/// transport.
/// It returns the calls to make instead of making them, so that a handler may call back into
/// its session (submit, close) once the bookkeeping is done.
public struct SessionListeners: Sendable {
    /// Hears a request's result.
    public typealias Completion = @Sendable (Result<OperationResult, ZooKeeperError>) -> Void
    /// Hears a watch's events (and, when the session ends, a `.none` event with its state).
    public typealias WatchHandler = @Sendable (WatchEvent) -> Void
    /// Hears session state changes.
    public typealias StateHandler = @Sendable (SessionEvent) -> Void

    /// Wrapped: a closure stored straight in a dictionary is wrapped in a reabstraction thunk,
    /// an allocation per request.
    private struct Waiter {
        let completion: Completion
    }

    private var completions: [RequestID: Waiter] = [:]
    /// The watcher of each request that carries one, to drop it if the request fails.
    private var requestWatchers: [RequestID: WatcherID] = [:]
    private var watchHandlers: [WatcherID: (handler: WatchHandler, persistent: Bool)] = [:]
    /// By id, in increasing order (the order they are called in): kept sorted as they are added,
    /// not sorted at every state change.
    private var stateHandlers: [(id: UInt64, handler: StateHandler)] = []

    public init() {}

    /// Keeps a watch handler under `id`, the watcher to submit its request with. Persistent
    /// ones stay after firing (addWatch) until removed or the session ends.
    public mutating func addWatch(_ handler: @escaping WatchHandler, persistent: Bool, id: WatcherID) {
        watchHandlers[id] = (handler, persistent)
    }

    /// Waits for `request`'s completion; `watcher` is the watch it may leave.
    public mutating func expect(_ request: RequestID, watcher: WatcherID?, completion: @escaping Completion) {
        completions[request] = Waiter(completion: completion)
        if let watcher { requestWatchers[request] = watcher }
    }

    /// Drops a request's completion and the watch handler it carried (a cancelled request).
    public mutating func forget(_ request: RequestID) {
        completions[request] = nil
        if let watcher = requestWatchers.removeValue(forKey: request) { watchHandlers[watcher] = nil }
    }

    /// Drops a watch handler (its owner stopped listening).
    public mutating func removeWatch(_ id: WatcherID) {
        watchHandlers[id] = nil
    }

    public mutating func addState(_ handler: @escaping StateHandler, id: UInt64) {
        removeState(id)
        // Ids grow, so this is nearly always the end.
        let index = stateHandlers.lastIndex { $0.id < id }.map { $0 + 1 } ?? 0
        stateHandlers.insert((id, handler), at: index)
    }

    public mutating func removeState(_ id: UInt64) {
        stateHandlers.removeAll { $0.id == id }
    }

    /// Calls `done` once the session has ended (closed, expired or auth failed).
    public mutating func whenEnded(id: UInt64, _ done: @escaping @Sendable () -> Void) {
        addState({ event in if event == .closed || event == .expired || event == .authFailed { done() } }, id: id)
    }

    /// The completion to call with a request's result (what `calls(for: .complete)` makes,
    /// without building a call list: the sequential path takes this one).
    public mutating func completion(of id: RequestID, result: Result<OperationResult, ZooKeeperError>) -> Completion? {
        // A watch whose request failed was never registered (exists on a missing node
        // succeeds with nil, so its exists watch stays).
        if !requestWatchers.isEmpty, let watcher = requestWatchers.removeValue(forKey: id), case .failure = result {
            watchHandlers[watcher] = nil
        }
        return completions.removeValue(forKey: id)?.completion
    }

    /// Who hears a session event, to call after this returns: the handlers of `watchers` (with
    /// the event as a `.none` watch event), then every state handler in the order they were
    /// added. `sessionEnded`: every watch handler goes. Without a call list to build: a
    /// per-request session sees two session events, and `calls(for:)` allocates per handler.
    public mutating func sessionEventHandlers(watchers: Set<WatcherID>, sessionEnded: Bool)
        -> (watch: [WatchHandler], state: StateHandlers) {
        let watch = watchers.isEmpty ? [] : watchers.sorted().compactMap { watchHandlers[$0]?.handler }
        if sessionEnded { watchHandlers.removeAll() }
        return (watch, StateHandlers(entries: stateHandlers))
    }

    /// The state handlers at one moment, in the order they were added.
    public struct StateHandlers: Sequence {
        fileprivate let entries: [(id: UInt64, handler: StateHandler)]
        public func makeIterator() -> LazyMapSequence<[(id: UInt64, handler: StateHandler)], StateHandler>.Iterator {
            entries.lazy.map(\.handler).makeIterator()
        }
    }

    /// The handler calls `action` asks for, in order, to make after this returns; none for the
    /// I/O actions. `sessionEnded`: the session is terminal, so every watch handler goes.
    public mutating func calls(for action: SessionAction, sessionEnded: Bool) -> [() -> Void] {
        switch action {
        case let .complete(id, result):
            guard let completion = completion(of: id, result: result) else { return [] }
            return [{ completion(result) }]
        case let .watchEvent(event, watchers):
            let removal = [.dataWatchRemoved, .childWatchRemoved, .persistentWatchRemoved].contains(event.type)
            return watchers.sorted().compactMap { id -> (() -> Void)? in
                guard let entry = watchHandlers[id] else { return nil }
                if !entry.persistent || removal { watchHandlers[id] = nil }
                return { entry.handler(event) }
            }
        case let .sessionEvent(event, watchers):
            let handlers = sessionEventHandlers(watchers: watchers, sessionEnded: sessionEnded)
            let stateEvent = WatchEvent(type: .none, state: event.keeperState, path: "")
            return handlers.watch.map { handler in { handler(stateEvent) } } + handlers.state.map { handler in { handler(event) } }
        case .connect, .send, .closeConnection:
            return []
        }
    }
}
