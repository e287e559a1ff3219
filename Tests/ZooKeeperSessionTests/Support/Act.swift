import ZooKeeperProtocol
import ZooKeeperSession

/// `SessionAction`, comparable, so a test can state the exact list of actions it expects.
enum Act: Equatable, CustomStringConvertible {
    case connect(HostAddress, ConnectionID)
    case send([UInt8], ConnectionID)
    case closeConnection(ConnectionID)
    case complete(RequestID, Result<OperationResult, ZooKeeperError>)
    case watchEvent(WatchEvent, watchers: Set<WatcherID>)
    case sessionEvent(SessionEvent, watchers: Set<WatcherID>)

    /// Shorthand for the common case of a success.
    static func done(_ id: RequestID, _ result: OperationResult) -> Act { .complete(id, .success(result)) }
    static func failed(_ id: RequestID, _ error: ZooKeeperError) -> Act { .complete(id, .failure(error)) }

    init(_ action: SessionAction) {
        switch action {
        case let .connect(host, id): self = .connect(host, id)
        case let .send(bytes, id): self = .send(bytes, id)
        case let .closeConnection(id): self = .closeConnection(id)
        case let .complete(id, result): self = .complete(id, result)
        case let .watchEvent(event, watchers): self = .watchEvent(event, watchers: watchers)
        case let .sessionEvent(event, watchers): self = .sessionEvent(event, watchers: watchers)
        }
    }

    /// The same action with a send's bytes dropped, for lists where the bytes are checked apart.
    var withoutBytes: Act {
        if case let .send(_, id) = self { return .send([], id) }
        return self
    }

    var description: String {
        switch self {
        case let .connect(host, id): "connect(\(host), #\(id))"
        case let .send(bytes, id): "send(\(bytes.count) bytes, #\(id))"
        case let .closeConnection(id): "closeConnection(#\(id))"
        case let .complete(id, result): "complete(\(id), \(result))"
        case let .watchEvent(event, watchers): "watchEvent(\(event.type) \(event.path), \(watchers.sorted()))"
        case let .sessionEvent(event, watchers): "sessionEvent(\(event), \(watchers.sorted()))"
        }
    }
}

func acts(_ actions: [SessionAction]) -> [Act] { actions.map(Act.init) }

/// The actions with every send's bytes dropped: `.send([], connection)` stands for any send.
func shapes(_ actions: [SessionAction]) -> [Act] { actions.map { Act($0).withoutBytes } }

/// Whether any action writes bytes.
func sendsAnything(_ actions: [SessionAction]) -> Bool {
    actions.contains { if case .send = $0 { true } else { false } }
}

/// The error a request gets when the client is (being) closed. Spelled out here rather than
/// taken from the library, so the tests pin it.
func closedError(path: String? = nil) -> ZooKeeperError {
    ZooKeeperError(.closed, path: path, message: "client is closed")
}

let openACL = Ids.openACLUnsafe
