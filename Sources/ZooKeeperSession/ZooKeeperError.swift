import ZooKeeperProtocol

/// The one error of a ZooKeeper operation: its code (by name, see `ErrorCode`), the path it
/// concerns when there is one, and a message for people. Decide on the code, never the message:
///
/// ```swift
/// do { try await zk.create("/lock") } catch let error as ZooKeeperError {
///     switch error.code {
///     case .nodeExists: break                      // someone else holds it
///     case .sessionExpired, .authFailed, .closed: throw error   // this session is over
///     case _ where error.isRetryable: ...          // connectionLoss, operationTimeout, ...
///     default: throw error
///     }
/// }
/// ```
///
/// The kinds a caller meets: `.closed` (the client was closed), `.operationTimeout` (no answer
/// within the request timeout), `.badArguments` (a request the client refused before sending),
/// `.connectionLoss` (the connection broke while the request was out: it may have happened),
/// `.sessionExpired`, `.authFailed`, `.frameTooLarge` (a reply over the client's frame limit),
/// and every code a server answers (`.noNode`, `.nodeExists`, `.badVersion`, ...).
public struct ZooKeeperError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure: ZooKeeper's code (`.noNode`, `.connectionLoss`, ...) or one of this
    /// client's own (`.closed`, `.frameTooLarge`).
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
    public var isTerminal: Bool { [.sessionExpired, .authFailed, .closed].contains(code) }

    /// The client was closed by its owner.
    public var isClosed: Bool { code == .closed }

    /// The error of a request made on (or cut short by) a closed client.
    public static func closed(path: String? = nil) -> ZooKeeperError { ZooKeeperError(.closed, path: path) }
    static func badArguments(_ message: String, path: String? = nil) -> ZooKeeperError { ZooKeeperError(.badArguments, path: path, message: message) }
}
