import ZooKeeperProtocol

/// What a session's owner may ask about it: one value, copied as a whole (the Swift API keeps a
/// copy readable from any thread; the other front doors read it where they drive the session).
public struct SessionFacts: Sendable {
    public var state: SessionState = .connecting
    /// The session id (0 until a server accepted the session).
    public var sessionId: Int64 = 0
    /// The session password (with the id, it resumes the session elsewhere).
    public var password: [UInt8] = []
    /// The negotiated session timeout in ms (the requested one until connected).
    public var sessionTimeout: Int64 = 0
    /// The newest zxid seen.
    public var lastZxid: Int64 = 0
    /// The server in use or being tried.
    public var currentHost: HostAddress?
    /// The latest handshake answer (it holds the password).
    public var lastConnectResponse: ConnectResponse?
    /// Why the session ended, once it has.
    public var endReason: ZooKeeperError?

    public init() {}

    /// The facts of `machine` now.
    public init(_ machine: SessionStateMachine) {
        state = machine.state
        sessionId = machine.sessionId
        password = machine.password
        sessionTimeout = machine.sessionTimeout
        lastZxid = machine.lastZxid
        currentHost = machine.currentHost
        lastConnectResponse = machine.lastConnectResponse
        endReason = machine.endReason
    }
}
