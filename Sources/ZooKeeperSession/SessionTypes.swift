import ZooKeeperProtocol

/// Monotonic time in milliseconds, supplied by the driver: the state machine has no clock.
public typealias Millis = Int64

/// Names a request for its completion.
public typealias RequestID = UInt64

/// Names one TCP connection attempt, so that news of an old connection is told apart.
public typealias ConnectionID = UInt64

/// Where the session stands.
public enum SessionState: Hashable, Sendable {
    /// Looking for a server (at start, or after losing one).
    case connecting
    case connected
    /// Connected to a server that lost its quorum and serves reads only.
    case connectedReadOnly
    /// Terminal: the server forgot the session, or no server was reachable for its timeout.
    case expired
    /// Terminal: an auth packet was refused.
    case authFailed
    /// Terminal: closed by its owner.
    case closed

    /// Whether nothing can succeed on the session any more.
    public var isTerminal: Bool { self == .expired || self == .authFailed || self == .closed }
    /// Whether requests are being answered.
    public var isConnected: Bool { self == .connected || self == .connectedReadOnly }
}

/// A change of session state, as watchers and state observers hear it.
public enum SessionEvent: Hashable, Sendable {
    case connecting
    case connected
    case connectedReadOnly
    /// The connection was lost; the session lives on while the client looks for a server.
    case disconnected
    /// Connected again with the same session: watches were re-registered.
    case reconnected
    case expired
    case authFailed
    case closed

    /// The state the session is in after this change.
    public var state: SessionState {
        switch self {
        case .connecting, .disconnected: .connecting
        case .connected, .reconnected: .connected
        case .connectedReadOnly: .connectedReadOnly
        case .expired: .expired
        case .authFailed: .authFailed
        case .closed: .closed
        }
    }

    /// The change that leads to `state` when it is one a waiter for a connection stops at
    /// (connected, or the session's end); nil while connecting.
    public init?(settled state: SessionState) {
        switch state {
        case .connecting: return nil
        case .connected: self = .connected
        case .connectedReadOnly: self = .connectedReadOnly
        case .expired: self = .expired
        case .authFailed: self = .authFailed
        case .closed: self = .closed
        }
    }

    /// The ZooKeeper keeper state this corresponds to.
    public var keeperState: KeeperState {
        switch self {
        case .connecting, .disconnected: .disconnected
        case .connected, .reconnected: .syncConnected
        case .connectedReadOnly: .connectedReadOnly
        case .expired: .expired
        case .authFailed: .authFailed
        case .closed: .closed
        }
    }
}

/// What the driver must do, in order.
public enum SessionAction: Sendable {
    /// Open a TCP connection; report `connectionEstablished` or `connectionFailed`.
    case connect(HostAddress, ConnectionID)
    /// Write these bytes on the connection.
    case send([UInt8], ConnectionID)
    /// Close the connection; report nothing more about it.
    case closeConnection(ConnectionID)
    /// A request finished.
    case complete(RequestID, Result<OperationResult, ZooKeeperError>)
    /// A node event, and which watchers it reaches (possibly none).
    case watchEvent(WatchEvent, watchers: Set<WatcherID>)
    /// The session changed state; `watchers` are the registrations that hear it: all of them on
    /// a terminal change (which also clears them), none otherwise.
    case sessionEvent(SessionEvent, watchers: Set<WatcherID>)
}
