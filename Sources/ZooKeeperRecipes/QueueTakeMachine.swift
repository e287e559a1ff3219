import ZooKeeperProtocol
import ZooKeeperSession

/// One `take` from a distributed queue, Curator's `SimpleDistributedQueue.take`: list the
/// children, then for the lowest `qn-` item getData and delete it; whoever's delete succeeds
/// has the item (NoNode on either: another taker was first, try the next). No item: list
/// again with a children watch and wait for it.
///
/// A delete whose answer was lost is sent again: success, the item is ours; NoNode, nobody
/// can tell whether our first delete took it, and the take fails with connectionLoss rather
/// than risk handing an item out twice.
///
/// `abandon` (a time-out) stops the take; an item whose delete was already in flight is put
/// back (at the end of the queue) rather than lost.
public struct QueueTakeMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        case item([UInt8])
        case failed(ZooKeeperError)
    }

    private enum Phase: Equatable {
        case idle
        /// Listing the items; `watching`: with a children watch (nothing was there last time).
        case listing(RecipeToken, watching: Bool)
        case waiting(RecipeToken)
        case reading(RecipeToken, item: String)
        case deleting(RecipeToken, item: String, data: [UInt8], retried: Bool)
        /// Abandoned while deleting: if the delete took the item, it goes back.
        case abandoning(RecipeToken, data: [UInt8])
        case puttingBack(RecipeToken)
        case done
    }

    public let path: String
    private var tokens = TokenSource()
    private var phase = Phase.idle
    /// The items of the last listing not tried yet, lowest first.
    private var candidates: [String] = []
    private var madeParents = false

    public init(path: String) { self.path = path }

    public var isDone: Bool { phase == .done }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard phase == .idle else { return [] }
        return list(watching: false)
    }

    /// Gives the take up; nothing more is told.
    public mutating func abandon() -> [RecipeStep<Notice>] {
        switch phase {
        case let .deleting(token, _, data, _):
            phase = .abandoning(token, data: data)
            return []
        case .abandoning, .puttingBack, .done:
            return []
        default:
            phase = .done
            return [.finished]
        }
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        switch input {
        case let .watch(token, event):
            guard case .waiting(token) = phase, event.type != .none else { return [] }
            return list(watching: false)
        case let .session(event):
            if let error = ZooKeeperError.ending(event, path: path) {
                switch phase {
                case .done: return []
                case .abandoning, .puttingBack:
                    phase = .done
                    return [.finished]
                default: return finish(.failed(error))
                }
            }
            // A change missed while away is seen by listing again.
            if event == .reconnected, case .waiting = phase { return list(watching: false) }
            return []
        case let .result(token, result):
            return received(token, result)
        }
    }

    private mutating func received(_ token: RecipeToken, _ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        switch phase {
        case let .listing(awaited, watching) where awaited == token:
            switch result {
            case let .success(.children(children, _)):
                candidates = QueueLayout.items(children)
                if candidates.isEmpty {
                    if watching {
                        phase = .waiting(token)
                        return []
                    }
                    return list(watching: true)
                }
                return next()
            case let .failure(error) where error.code == .noNode && !madeParents:
                // The queue's container is gone (or never was): make it so the watch can be set.
                madeParents = true
                return QueueLayout.containers(for: path, &tokens).map { .submit($0) } + list(watching: watching)
            case let .failure(error) where error.isRecoverableLoss: return list(watching: watching)
            default: return fail(result)
            }
        case let .reading(awaited, item) where awaited == token:
            switch result {
            case let .success(.data(data, _)):
                return delete(item, data: data, retried: false)
            case let .failure(error) where error.code == .noNode: return next()
            case let .failure(error) where error.isRecoverableLoss: return read(item)
            default: return fail(result)
            }
        case let .deleting(awaited, item, data, retried) where awaited == token:
            switch result {
            case .success: return finish(.item(data))
            case let .failure(error) where error.code == .noNode && retried:
                return finish(.failed(ZooKeeperError(.connectionLoss, path: RecipePath.join(path, item),
                                                     message: "connection lost while taking an item: it may have been taken by this take or another")))
            case let .failure(error) where error.code == .noNode: return next()
            case let .failure(error) where error.isRecoverableLoss: return delete(item, data: data, retried: true)
            default: return fail(result)
            }
        case let .abandoning(awaited, data) where awaited == token:
            guard case .success = result else {
                phase = .done
                return [.finished]
            }
            let request = tokens.request(.create(path: RecipePath.join(path, QueueLayout.itemPrefix), data: data, acl: Ids.openACLUnsafe, mode: .persistentSequential))
            phase = .puttingBack(request.token)
            return [.submit(request)]
        case let .puttingBack(awaited) where awaited == token:
            phase = .done
            return [.finished]
        default:
            return []
        }
    }

    private mutating func list(watching: Bool) -> [RecipeStep<Notice>] {
        let request = tokens.request(.getChildren(path: path, watch: watching, includeStat: false))
        phase = .listing(request.token, watching: watching)
        return [.submit(request)]
    }

    /// The next item of the listing, or a new listing when none is left.
    private mutating func next() -> [RecipeStep<Notice>] {
        guard !candidates.isEmpty else { return list(watching: false) }
        return read(candidates.removeFirst())
    }

    private mutating func read(_ item: String) -> [RecipeStep<Notice>] {
        let request = tokens.request(.getData(path: RecipePath.join(path, item), watch: false))
        phase = .reading(request.token, item: item)
        return [.submit(request)]
    }

    private mutating func delete(_ item: String, data: [UInt8], retried: Bool) -> [RecipeStep<Notice>] {
        let request = tokens.request(.delete(path: RecipePath.join(path, item), version: -1))
        phase = .deleting(request.token, item: item, data: data, retried: retried)
        return [.submit(request)]
    }

    private mutating func fail(_ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        switch result {
        case let .failure(error): finish(.failed(error))
        case .success: finish(.failed(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer")))
        }
    }

    private mutating func finish(_ notice: Notice) -> [RecipeStep<Notice>] {
        phase = .done
        return [.notify(notice), .finished]
    }
}
