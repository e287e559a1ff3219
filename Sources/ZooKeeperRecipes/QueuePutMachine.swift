import ZooKeeperProtocol
import ZooKeeperSession

/// Curator's `SimpleDistributedQueue` items: persistent-sequential `<path>/qn-NNNNNNNNNN`
/// nodes holding the item's bytes, taken lowest sequence first.
public enum QueueLayout {
    public static let itemPrefix = "qn-"

    /// The items among `children`, in the order they are taken (Curator sorts the names; all
    /// share the prefix, so that is the sequence order).
    public static func items(_ children: [String]) -> [String] {
        children.filter { $0.hasPrefix(itemPrefix) }.sorted()
    }

    /// Creates of `path`'s missing ancestors and of `path` itself, as containers (Curator's
    /// `createContainers`): sent, not awaited ("exists" is fine for them).
    static func containers(for path: String, _ tokens: inout TokenSource) -> [RecipeRequest] {
        (RecipePath.ancestors(of: path) + [path]).map {
            tokens.request(.create(path: $0, data: [], acl: Ids.openACLUnsafe, mode: .container))
        }
    }
}

/// One `put` on a distributed queue: creates `<path>/qn-` persistent-sequential with the data
/// (the queue's node and its parents as containers first when missing).
///
/// Not retried after a connection loss: an item is not protected (Curator's takers skip names
/// that do not start with `qn-`), so a second create could add it twice; the put fails with
/// connectionLoss and the item may or may not be in the queue.
public struct QueuePutMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        /// The item's node.
        case put(path: String)
        case failed(ZooKeeperError)
    }

    public let path: String
    public let data: [UInt8]
    private var tokens = TokenSource()
    private var awaited: RecipeToken?
    private var madeParents = false
    private var done = false

    public init(path: String, data: [UInt8]) {
        self.path = path
        self.data = data
    }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard awaited == nil, !done else { return [] }
        return create()
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        guard !done else { return [] }
        switch input {
        case .watch: return []
        case let .session(event):
            guard let error = ZooKeeperError.ending(event, path: path) else { return [] }
            return finish(.failed(error))
        case let .result(token, result):
            guard token == awaited else { return [] }
            switch result {
            case let .success(.created(created, _)): return finish(.put(path: created))
            case let .failure(error) where error.code == .noNode && !madeParents:
                madeParents = true
                return QueueLayout.containers(for: path, &tokens).map { .submit($0) } + create()
            case let .failure(error) where error.isRecoverableLoss:
                return finish(.failed(ZooKeeperError(error.code, path: path, message: "connection lost during a put: the item may or may not be in the queue")))
            case let .failure(error): return finish(.failed(error))
            case .success: return finish(.failed(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer")))
            }
        }
    }

    private mutating func create() -> [RecipeStep<Notice>] {
        let request = tokens.request(.create(path: RecipePath.join(path, QueueLayout.itemPrefix), data: data, acl: Ids.openACLUnsafe, mode: .persistentSequential))
        awaited = request.token
        return [.submit(request)]
    }

    private mutating func finish(_ notice: Notice) -> [RecipeStep<Notice>] {
        done = true
        return [.notify(notice), .finished]
    }
}
