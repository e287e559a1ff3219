import ZooKeeperProtocol

/// What a front door (the Swift API, the Lua client, recipes) needs of a session, whichever
/// transport moves its bytes. Each transport answers it by handing the call to its
/// `SessionRuntime` on its own terms (event loop, lock, host thread).
public protocol DrivenSession: AnyObject {
    /// Where the session stands (cheap: read on every call).
    var state: SessionState { get }
    /// Everything else the owner may ask.
    var facts: SessionFacts { get }

    /// Starts connecting.
    func start()
    /// Submits an operation; `thenDrive` tells a transport that the caller drives next.
    func submit(_ operation: Operation, watch: SessionListeners.WatchHandler?, persistent: Bool, timeout: Int64,
                thenDrive: Bool, completion: @escaping SessionListeners.Completion)
    /// Submits an addWatch whose watch stays until `removeWatcher(watcher, path:)`: `watcher`
    /// (from `SessionRuntime.takeHandlerID()`) names it, `watch` hears its events.
    func submit(_ operation: Operation, persistentWatcher watcher: WatcherID, watch: @escaping SessionListeners.WatchHandler,
                timeout: Int64, completion: @escaping SessionListeners.Completion)
    /// Stops a watcher: see `SessionRuntime.removeWatcher`.
    func removeWatcher(_ watcher: WatcherID, path: String)
    /// Closes the session; `done` runs once it ended.
    func close(timeout: Int64, done: @escaping @Sendable () -> Void)
    /// Calls `handler` on every state change; returns its id.
    @discardableResult func onStateChange(_ handler: @escaping SessionListeners.StateHandler) -> UInt64
    func removeStateHandler(_ id: UInt64)
}
