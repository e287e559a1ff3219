import ZooKeeperProtocol
import ZooKeeperSession

/// One operation on a shared counter, Curator's `SharedCount` layout (also kazoo's
/// `Counter(support_curator=True)`): a persistent node (parents as containers) whose data is a
/// 4-byte big-endian signed int, created with the seed when missing, changed by
/// compare-and-set (setData at the version read, again on a lost race).
///
/// A versioned set whose answer was lost is retried only when a re-read shows the version it
/// was made against, so an increment is never applied twice; if the version moved, nobody can
/// tell whether it was ours, and the add fails with connectionLoss (outcome unknown).
public struct CounterMachine: RecipeMachine {
    public enum Change: Sendable, Equatable {
        case get
        case add(Int32)
        case set(Int32)
    }

    public enum Notice: Sendable, Equatable {
        /// The counter's value after the operation (for `get`, its value).
        case value(Int32)
        case failed(ZooKeeperError)
    }

    private enum Phase: Equatable {
        case idle
        case reading(RecipeToken)
        /// A compare-and-set from `version`; `value` is what it writes.
        case writing(RecipeToken, version: Int32, value: Int32)
        /// Re-reading after the answer of the set from `version` was lost.
        case confirming(RecipeToken, version: Int32)
        case creating(RecipeToken, value: Int32)
        case done
    }

    public let path: String
    public let change: Change
    public let seed: Int32
    private var tokens = TokenSource()
    private var phase = Phase.idle

    public init(path: String, change: Change, seed: Int32 = 0) {
        self.path = path
        self.change = change
        self.seed = seed
    }

    /// The counter's encoding: 4 bytes, big-endian, two's complement.
    public static func encode(_ value: Int32) -> [UInt8] {
        let bits = UInt32(bitPattern: value)
        return [UInt8(truncatingIfNeeded: bits >> 24), UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits)]
    }

    public static func decode(_ bytes: [UInt8]) -> Int32? {
        guard bytes.count == 4 else { return nil }
        return Int32(bitPattern: bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
    }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard phase == .idle else { return [] }
        if case let .set(value) = change { return write(value, version: -1) }
        return read()
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        switch input {
        case .watch: return []
        case let .session(event):
            guard event == .expired || event == .closed || event == .authFailed, phase != .done else { return [] }
            return finish(.failed(ZooKeeperError(event == .expired ? .sessionExpired : event == .authFailed ? .authFailed : .connectionLoss, path: path)))
        case let .result(token, result):
            return received(token, result)
        }
    }

    private mutating func received(_ token: RecipeToken, _ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        switch phase {
        case .reading(token):
            switch result {
            case let .success(.data(bytes, stat)):
                guard let value = Self.decode(bytes) else { return notACounter(bytes) }
                switch change {
                case .get: return finish(.value(value))
                case let .add(delta): return write(value &+ delta, version: stat.version)
                case let .set(value): return write(value, version: -1)
                }
            case let .failure(error) where error.code == .noNode:
                if case let .set(value) = change { return createNode(value) }
                return createNode(seed)
            default: return retryOrFail(result)
            }
        case let .writing(token2, version, value) where token2 == token:
            switch result {
            case .success: return finish(.value(value))
            case let .failure(error) where error.code == .badVersion: return read()
            case let .failure(error) where error.code == .noNode: return read()
            case let .failure(error) where error.isRecoverableLoss:
                if version == -1 { return write(value, version: -1) }  // setting a value twice is harmless
                return confirm(version)
            default: return retryOrFail(result)
            }
        case let .confirming(token2, version) where token2 == token:
            switch result {
            case let .success(.data(bytes, stat)):
                guard let value = Self.decode(bytes) else { return notACounter(bytes) }
                guard stat.version == version, case let .add(delta) = change else {
                    return finish(.failed(ZooKeeperError(.connectionLoss, path: path, message: "connection lost during a compare-and-set; the counter moved since, so whether this change was applied is unknown")))
                }
                return write(value &+ delta, version: version)
            case let .failure(error) where error.isRecoverableLoss: return confirm(version)
            default: return retryOrFail(result)
            }
        case let .creating(token2, value) where token2 == token:
            switch result {
            case .success:
                // Made with `value`: a get or a set is done; an add goes on from the seed.
                if case .add = change { return read() }
                return finish(.value(value))
            case let .failure(error) where error.code == .nodeExists:
                if case let .set(value) = change { return write(value, version: -1) }
                return read()
            case let .failure(error) where error.isRecoverableLoss: return read()  // made or not, reading tells
            default: return retryOrFail(result)
            }
        default:
            return []
        }
    }

    private mutating func read() -> [RecipeStep<Notice>] {
        let request = tokens.request(.getData(path: path, watch: false))
        phase = .reading(request.token)
        return [.submit(request)]
    }

    private mutating func confirm(_ version: Int32) -> [RecipeStep<Notice>] {
        let request = tokens.request(.getData(path: path, watch: false))
        phase = .confirming(request.token, version: version)
        return [.submit(request)]
    }

    private mutating func write(_ value: Int32, version: Int32) -> [RecipeStep<Notice>] {
        let request = tokens.request(.setData(path: path, data: Self.encode(value), version: version))
        phase = .writing(request.token, version: version, value: value)
        return [.submit(request)]
    }

    /// The node with `value`, its missing parents as containers first (those creates are sent
    /// but not awaited: the session answers in order, and "exists" is fine for them).
    private mutating func createNode(_ value: Int32) -> [RecipeStep<Notice>] {
        var steps: [RecipeStep<Notice>] = RecipePath.ancestors(of: path).map {
            .submit(tokens.request(.create(path: $0, data: [], acl: Ids.openACLUnsafe, mode: .container)))
        }
        let request = tokens.request(.create(path: path, data: Self.encode(value), acl: Ids.openACLUnsafe, mode: .persistent))
        phase = .creating(request.token, value: value)
        steps.append(.submit(request))
        return steps
    }

    /// Reads again after a loss (reading is always safe); fails on anything else.
    private mutating func retryOrFail(_ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        switch result {
        case let .failure(error) where error.isRecoverableLoss: return read()
        case let .failure(error): return finish(.failed(error))
        case .success: return finish(.failed(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer")))
        }
    }

    private mutating func notACounter(_ bytes: [UInt8]) -> [RecipeStep<Notice>] {
        finish(.failed(ZooKeeperError(.badArguments, path: path, message: "not a shared counter: \(bytes.count) bytes of data, a counter has 4")))
    }

    private mutating func finish(_ notice: Notice) -> [RecipeStep<Notice>] {
        phase = .done
        return [.notify(notice), .finished]
    }
}
