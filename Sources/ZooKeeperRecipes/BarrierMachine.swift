import ZooKeeperProtocol
import ZooKeeperSession

/// One operation on a barrier, Curator's `DistributedBarrier` layout: the barrier is up while
/// its node exists. `set` makes it (persistent, parents as containers; already there is fine),
/// `remove` deletes it (already gone is fine), `wait` watches it with exists until it is gone.
/// Each is safe to repeat, so a connection loss just asks again once connected.
public struct BarrierMachine: RecipeMachine {
    public enum Command: Sendable, Equatable { case set, remove, wait }

    public enum Notice: Sendable, Equatable {
        /// Set, removed, or (waiting) the barrier is down.
        case done
        case failed(ZooKeeperError)
    }

    private enum Phase: Equatable {
        case idle
        case asking(RecipeToken)
        /// The node exists; its watch (left by the request with this token) tells when it goes.
        case watching(RecipeToken)
        case done
    }

    public let path: String
    public let command: Command
    private var tokens = TokenSource()
    private var phase = Phase.idle
    private var parentRounds = 0

    public init(path: String, command: Command) {
        self.path = path
        self.command = command
    }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard phase == .idle else { return [] }
        return ask()
    }

    /// Gives up waiting (a time-out): nothing more is asked or told.
    public mutating func abandon() -> [RecipeStep<Notice>] {
        guard phase != .done else { return [] }
        phase = .done
        return [.finished]
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        switch (input, phase) {
        case let (.result(token, result), .asking(token2)) where token == token2:
            return answered(result, token: token)
        case let (.watch(token, event), .watching(token2)) where token == token2 && event.type != .none:
            return ask()
        case let (.session(event), .asking), let (.session(event), .watching):
            if let error = ZooKeeperError.ending(event, path: path) { return finish(.failed(error)) }
            // A deletion missed while away is seen by asking again.
            if case .watching = phase, event == .reconnected || event == .connected { return ask() }
            return []
        default:
            return []
        }
    }

    private mutating func answered(_ result: Result<OperationResult, ZooKeeperError>, token: RecipeToken) -> [RecipeStep<Notice>] {
        switch (command, result) {
        case (.wait, .success(.stat(.some))):
            phase = .watching(token)
            return []
        case (.wait, .success(.stat(nil))), (.set, .success), (.remove, .success):
            return finish(.done)
        case let (.set, .failure(error)) where error.code == .nodeExists: return finish(.done)
        case let (.remove, .failure(error)) where error.code == .noNode: return finish(.done)
        case let (.set, .failure(error)) where error.code == .noNode && parentRounds < ProtectedCreate.parentRounds:
            // No parent: make the ancestors as containers (answers not awaited), then again (a
            // container parent may be reaped in between: a few rounds).
            parentRounds += 1
            let parents: [RecipeStep<Notice>] = RecipePath.ancestors(of: path).map {
                .submit(tokens.request(.create(path: $0, data: [], acl: Ids.openACLUnsafe, mode: .container)))
            }
            return parents + ask()
        case let (_, .failure(error)) where error.isRecoverableLoss: return ask()
        case let (_, .failure(error)): return finish(.failed(error))
        case (.wait, .success): return finish(.failed(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer")))
        }
    }

    private mutating func ask() -> [RecipeStep<Notice>] {
        let operation: Operation = switch command {
        case .set: .create(path: path, data: [], acl: Ids.openACLUnsafe, mode: .persistent)
        case .remove: .delete(path: path, version: -1)
        case .wait: .exists(path: path, watch: true)
        }
        let request = tokens.request(operation)
        phase = .asking(request.token)
        return [.submit(request)]
    }

    private mutating func finish(_ notice: Notice) -> [RecipeStep<Notice>] {
        phase = .done
        return [.notify(notice), .finished]
    }
}
