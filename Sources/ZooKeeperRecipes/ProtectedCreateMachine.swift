import ZooKeeperProtocol
import ZooKeeperSession

/// A protected create on its own (`create(..., { protected = true })` in Lua): `ProtectedCreate`
/// run as a recipe machine, telling the path made (found again after a connection loss rather
/// than made twice) or why not.
public struct ProtectedCreateMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        case created(String)
        case failed(ZooKeeperError)
    }

    private var create: ProtectedCreate
    private var tokens = TokenSource()
    private var done = false

    /// `path` as asked for (`/jobs/job-`); the node made is `<parent>/_c_<uuid>-job-...`.
    public init(path: String, data: [UInt8] = [], mode: CreateMode, acl: [ACL] = Ids.openACLUnsafe,
                protectedId: String = ProtectedName.randomId()) {
        create = ProtectedCreate(path: path, data: data, mode: mode, acl: acl, protectedId: protectedId)
    }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard !done else { return [] }
        return outcome(create.start(&tokens))
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        guard !done else { return [] }
        switch input {
        case let .result(token, result): return outcome(create.receive(token, result, tokens: &tokens))
        case .watch: return []
        case let .session(event):
            guard let error = ZooKeeperError.ending(event, path: create.path) else { return [] }
            return finish(.failed(error))
        }
    }

    private mutating func outcome(_ outcome: ProtectedCreate.Outcome) -> [RecipeStep<Notice>] {
        switch outcome {
        case let .pending(requests): return requests.map { .submit($0) }
        case let .created(path): return finish(.created(path))
        case let .failed(error): return finish(.failed(error))
        }
    }

    private mutating func finish(_ notice: Notice) -> [RecipeStep<Notice>] {
        done = true
        return [.notify(notice), .finished]
    }
}

extension ZooKeeperError {
    /// The error a machine's waiting owner hears when the session ends with `event` (nil for
    /// the events a session lives through).
    static func ending(_ event: SessionEvent, path: String) -> ZooKeeperError? {
        switch event {
        case .expired: ZooKeeperError(.sessionExpired, path: path)
        case .authFailed: ZooKeeperError(.authFailed, path: path)
        case .closed: ZooKeeperError(.connectionLoss, path: path, message: "client is closed")
        default: nil
        }
    }
}
