import ZooKeeperProtocol

/// The one error of a ZooKeeper operation: the ZooKeeper code (by name, see `ErrorCode`), the
/// path it concerns when there is one, and a message.
public struct ZooKeeperError: Error, Hashable, Sendable, CustomStringConvertible {
    /// ZooKeeper's code (`.noNode`, `.connectionLoss`, ...).
    public let code: ErrorCode
    /// The path of the request, when it had one.
    public let path: String?
    /// A human message.
    public let message: String
    /// For a failed multi, every operation's result.
    public let results: [MultiResult]?

    /// An error with the code's own message unless another is given.
    public init(_ code: ErrorCode, path: String? = nil, message: String? = nil, results: [MultiResult]? = nil) {
        self.code = code
        self.path = path
        self.message = message ?? code.message
        self.results = results
    }

    /// `NAME: message (path)`.
    public var description: String {
        var text = "\(code.name): \(message)"
        if let path { text += " (\(path))" }
        return text
    }

    /// Worth retrying on the same session: the request may not have reached the server, or the
    /// server was busy. A create that failed with connectionLoss may still have happened.
    public var isRetryable: Bool {
        [.connectionLoss, .operationTimeout, .sessionMoved, .throttledOp, .requestTimeout, .reconfigInProgress].contains(code)
    }

    /// The session is over: nothing will succeed on it again.
    public var isTerminal: Bool { [.sessionExpired, .authFailed].contains(code) || isClosed }

    /// The client was closed by its owner.
    public var isClosed: Bool { code == .connectionLoss && message == Self.closedMessage }

    static let closedMessage = "client is closed"
    /// The error of a request made on (or cut short by) a closed client.
    public static func closed(path: String? = nil) -> ZooKeeperError { ZooKeeperError(.connectionLoss, path: path, message: closedMessage) }
    static func badArguments(_ message: String, path: String? = nil) -> ZooKeeperError { ZooKeeperError(.badArguments, path: path, message: message) }
}
