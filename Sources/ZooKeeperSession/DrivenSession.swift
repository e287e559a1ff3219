import ZooKeeperProtocol

/// What a front door needs of a session, whichever driver moves its bytes (the direct driver's
/// own sockets, or a host's, such as nginx cosockets through `HostedSession`).
public protocol DrivenSession: AnyObject {
    var state: SessionState { get }
    var sessionId: Int64 { get }
    var password: [UInt8] { get }
    /// The negotiated session timeout in ms (the requested one until connected).
    var sessionTimeout: Int64 { get }
    var lastZxid: Int64 { get }
    var currentHost: HostAddress? { get }
    var lastConnectResponse: ConnectResponse? { get }

    /// Starts connecting.
    func start()
    /// Submits an operation; `thenDrive` tells a driver that the caller drives next.
    func submit(_ operation: Operation, watch: SessionListeners.WatchHandler?, persistent: Bool, timeout: Int64,
                thenDrive: Bool, completion: @escaping SessionListeners.Completion)
    /// Closes the session; `done` runs once it ended.
    func close(timeout: Int64, done: @escaping @Sendable () -> Void)
    /// Calls `handler` on every state change; returns its id.
    @discardableResult func onStateChange(_ handler: @escaping SessionListeners.StateHandler) -> UInt64
    func removeStateHandler(_ id: UInt64)
}
