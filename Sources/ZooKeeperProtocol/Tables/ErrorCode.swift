/// A ZooKeeper result code (KeeperException.Code). A struct, not an enum, so that a code this
/// table does not know still decodes and prints.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = ErrorCode(rawValue: 0)
    // System errors: the client or the ensemble, not the request.
    public static let systemError = ErrorCode(rawValue: -1)
    public static let runtimeInconsistency = ErrorCode(rawValue: -2)
    public static let dataInconsistency = ErrorCode(rawValue: -3)
    public static let connectionLoss = ErrorCode(rawValue: -4)
    public static let marshallingError = ErrorCode(rawValue: -5)
    public static let unimplemented = ErrorCode(rawValue: -6)
    public static let operationTimeout = ErrorCode(rawValue: -7)
    public static let badArguments = ErrorCode(rawValue: -8)
    public static let unknownSession = ErrorCode(rawValue: -12)
    public static let newConfigNoQuorum = ErrorCode(rawValue: -13)
    public static let reconfigInProgress = ErrorCode(rawValue: -14)
    // API errors: the request itself.
    public static let apiError = ErrorCode(rawValue: -100)
    public static let noNode = ErrorCode(rawValue: -101)
    public static let noAuth = ErrorCode(rawValue: -102)
    public static let badVersion = ErrorCode(rawValue: -103)
    public static let noChildrenForEphemerals = ErrorCode(rawValue: -108)
    public static let nodeExists = ErrorCode(rawValue: -110)
    public static let notEmpty = ErrorCode(rawValue: -111)
    public static let sessionExpired = ErrorCode(rawValue: -112)
    public static let invalidCallback = ErrorCode(rawValue: -113)
    public static let invalidACL = ErrorCode(rawValue: -114)
    public static let authFailed = ErrorCode(rawValue: -115)
    public static let sessionMoved = ErrorCode(rawValue: -118)
    public static let notReadOnly = ErrorCode(rawValue: -119)
    public static let ephemeralOnLocalSession = ErrorCode(rawValue: -120)
    public static let noWatcher = ErrorCode(rawValue: -121)
    public static let requestTimeout = ErrorCode(rawValue: -122)
    public static let reconfigDisabled = ErrorCode(rawValue: -123)
    public static let sessionClosedRequireSaslAuth = ErrorCode(rawValue: -124)
    public static let quotaExceeded = ErrorCode(rawValue: -125)
    public static let throttledOp = ErrorCode(rawValue: -127)
    // This client's own codes, below ZooKeeper's range: no server sends them.
    /// A request on a client that is closed (or, in Lua, never connected).
    public static let closed = ErrorCode(rawValue: -1001)
    /// A reply longer than the client's frame limit (jute.maxbuffer): asking again cannot help.
    public static let frameTooLarge = ErrorCode(rawValue: -1002)

    /// Every code ZooKeeper 3.5–3.9 defines, with its Java name and a human message.
    public static let table: [(code: ErrorCode, name: String, message: String)] = [
        (.ok, "OK", "ok"),
        (.systemError, "SYSTEMERROR", "system error"),
        (.runtimeInconsistency, "RUNTIMEINCONSISTENCY", "runtime inconsistency"),
        (.dataInconsistency, "DATAINCONSISTENCY", "data inconsistency"),
        (.connectionLoss, "CONNECTIONLOSS", "connection loss"),
        (.marshallingError, "MARSHALLINGERROR", "marshalling error"),
        (.unimplemented, "UNIMPLEMENTED", "unimplemented"),
        (.operationTimeout, "OPERATIONTIMEOUT", "operation timeout"),
        (.badArguments, "BADARGUMENTS", "bad arguments"),
        (.unknownSession, "UNKNOWNSESSION", "unknown session"),
        (.newConfigNoQuorum, "NEWCONFIGNOQUORUM", "no quorum of new config is connected and up-to-date with the leader of last committed config"),
        (.reconfigInProgress, "RECONFIGINPROGRESS", "another reconfiguration is in progress"),
        (.apiError, "APIERROR", "api error"),
        (.noNode, "NONODE", "node does not exist"),
        (.noAuth, "NOAUTH", "not authenticated"),
        (.badVersion, "BADVERSION", "bad version"),
        (.noChildrenForEphemerals, "NOCHILDRENFOREPHEMERALS", "ephemeral nodes cannot have children"),
        (.nodeExists, "NODEEXISTS", "node already exists"),
        (.notEmpty, "NOTEMPTY", "directory not empty"),
        (.sessionExpired, "SESSIONEXPIRED", "session expired"),
        (.invalidCallback, "INVALIDCALLBACK", "invalid callback"),
        (.invalidACL, "INVALIDACL", "invalid ACL"),
        (.authFailed, "AUTHFAILED", "authentication failed"),
        (.sessionMoved, "SESSIONMOVED", "session moved"),
        (.notReadOnly, "NOTREADONLY", "not a read-only call"),
        (.ephemeralOnLocalSession, "EPHEMERALONLOCALSESSION", "ephemeral node on local session"),
        (.noWatcher, "NOWATCHER", "no such watcher"),
        (.requestTimeout, "REQUESTTIMEOUT", "request timeout"),
        (.reconfigDisabled, "RECONFIGDISABLED", "reconfig is disabled"),
        (.sessionClosedRequireSaslAuth, "SESSIONCLOSEDREQUIRESASLAUTH", "session closed because client failed to authenticate"),
        (.quotaExceeded, "QUOTAEXCEEDED", "quota has exceeded"),
        (.throttledOp, "THROTTLEDOP", "op throttled due to high load"),
    ]

    /// The client's own codes (never on the wire), with names and messages.
    public static let clientTable: [(code: ErrorCode, name: String, message: String)] = [
        (.closed, "CLOSED", "client is closed"),
        (.frameTooLarge, "FRAMETOOLARGE", "reply larger than the client's frame limit"),
    ]

    private static let byCode: [Int32: (name: String, message: String)] = Dictionary(
        uniqueKeysWithValues: (table + clientTable).map { ($0.code.rawValue, ($0.name, $0.message)) })

    /// The Java name (`NONODE`), or `UNKNOWN(<code>)`.
    public var name: String { Self.byCode[rawValue]?.name ?? "UNKNOWN(\(rawValue))" }
    /// A human message (`node does not exist`).
    public var message: String { Self.byCode[rawValue]?.message ?? "unknown error code \(rawValue)" }
    public var description: String { "\(name) (\(rawValue)): \(message)" }

    /// Whether the code is one ZooKeeper or this client defines.
    public var isKnown: Bool { Self.byCode[rawValue] != nil }
    /// Whether the code is this client's own (see `clientTable`).
    public var isClientSide: Bool { rawValue <= -1000 }
    /// System errors (-1 ... -99) concern the connection or the ensemble, API errors the request.
    public var isSystemError: Bool { rawValue < 0 && rawValue > -100 }

    /// Looks a code up by its Java name, case-insensitively.
    public init?(name: String) {
        let upper = name.uppercased()
        guard let entry = (Self.table + Self.clientTable).first(where: { $0.name == upper }) else { return nil }
        self = entry.code
    }
}
