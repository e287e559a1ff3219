import ZooKeeperProtocol
import ZooKeeperSession

/// One member of a double barrier, Curator's `DistributedDoubleBarrier` layout: each member is
/// an ephemeral `<path>/<uuid>`. `enter` watches `<path>/ready`, makes our node, and returns once
/// `count` members are in (the member that counts them makes `ready`; the others hear its
/// creation). `leave` returns once every member has left: the lowest member (by name) waits for
/// the highest to go; every other deletes its node and waits for the lowest to go; the last
/// deletes `ready`.
///
/// A member create whose answer was lost is made again (NodeExists: it was ours, the name is a
/// fresh uuid); reads and deletes are repeated after a loss; a session that ends fails the wait.
public struct DoubleBarrierMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        case entered
        case left
        case failed(ZooKeeperError)
    }

    public static let readyName = "ready"

    private enum Asking: Equatable {
        case checkingReady, creating, counting, makingReady, listing, watching, clearing
    }

    private enum Phase: Equatable {
        case idle
        case asking(Asking, RecipeToken, Operation)
        /// Fewer than `count` members were in: the ready watch tells when enough are.
        case awaitingReady
        case entered
        /// leaving: the exists watch of this token tells when the member we wait on goes.
        case waitingOn(RecipeToken)
        case done
    }

    public let path: String
    public let count: Int
    /// Our member node.
    public let ourPath: String
    private let readyPath: String
    private var tokens = TokenSource()
    private var phase = Phase.idle
    /// The requests that left a watch on `ready`.
    private var readyWatches: Set<RecipeToken> = []
    private var readySeen = false
    /// leaving: whether our node should still be there (deleted once we wait on the lowest).
    private var ourNodeShouldExist = true
    private var parentRounds = 0
    /// The delete of our node in flight.
    private var deleting: RecipeToken?

    public init(path: String, count: Int, memberId: String = ProtectedName.randomId()) {
        self.path = path
        self.count = count
        ourPath = RecipePath.join(path, memberId)
        readyPath = RecipePath.join(path, Self.readyName)
    }

    public var hasEntered: Bool { phase == .entered }
    public var isDone: Bool { phase == .done }

    // MARK: Owner commands

    public mutating func enter() -> [RecipeStep<Notice>] {
        guard phase == .idle else { return [] }
        return ask(.checkingReady, .exists(path: readyPath, watch: true))
    }

    /// Leaves (after `enter`); `.left` once every member is gone.
    public mutating func leave() -> [RecipeStep<Notice>] {
        guard phase == .entered else { return [] }
        return list()
    }

    /// Gives up (a time-out, a collected object): our node is deleted; nothing more is told.
    public mutating func abandon() -> [RecipeStep<Notice>] {
        switch phase {
        case .done: return []
        case .idle:
            phase = .done
            return [.finished]
        default:
            phase = .done
            return [.submit(tokens.request(.delete(path: ourPath, version: -1))), .finished]
        }
    }

    // MARK: Inputs

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        guard phase != .done else { return [] }
        switch input {
        case let .result(token, result):
            if token == deleting { return deleted(result) }
            guard case let .asking(step, awaited, operation) = phase, awaited == token else { return [] }
            return answered(step, operation, result)
        case let .watch(token, event):
            guard event.type != .none else { return [] }
            if readyWatches.contains(token) {
                readyWatches.remove(token)
                if event.type == .nodeCreated { readySeen = true }
                if phase == .awaitingReady { return readySeen ? entered() : recheckReady() }
                return []
            }
            if case .waitingOn(token) = phase { return list() }
            return []
        case let .session(event):
            guard phase != .idle else { return [] }
            if let error = ZooKeeperError.ending(event, path: path) { return fail(error) }
            guard event == .reconnected || event == .connected else { return [] }
            // Whatever happened while away is seen by asking again.
            switch phase {
            case .awaitingReady: return recheckReady()
            case .waitingOn: return list()
            default: return []
            }
        }
    }

    private mutating func answered(_ step: Asking, _ operation: Operation, _ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        if case let .failure(error) = result {
            switch (step, error.code) {
            case (.creating, .nodeExists), (.makingReady, .nodeExists), (.clearing, .noNode): break  // made (or gone) already
            case (.creating, .noNode) where parentRounds < ProtectedCreate.parentRounds:
                parentRounds += 1
                let parents: [RecipeStep<Notice>] = RecipePath.ancestors(of: ourPath).map {
                    .submit(tokens.request(.create(path: $0, data: [], acl: Ids.openACLUnsafe, mode: .container)))
                }
                return parents + ask(.creating, operation)
            case _ where error.isRecoverableLoss: return ask(step, operation)
            default: return fail(error)
            }
        }
        switch (step, result) {
        case let (.checkingReady, .success(.stat(stat))):
            readySeen = readySeen || stat != nil
            if hasMember { return readySeen ? entered() : ask(.counting, .getChildren(path: path, watch: false, includeStat: false)) }
            return ask(.creating, .create(path: ourPath, data: [], acl: Ids.openACLUnsafe, mode: .ephemeral))
        case (.creating, _):
            hasMember = true
            return readySeen ? entered() : ask(.counting, .getChildren(path: path, watch: false, includeStat: false))
        case let (.counting, .success(.children(children, _))):
            if readySeen { return entered() }
            if children.count >= count {
                return ask(.makingReady, .create(path: readyPath, data: [], acl: Ids.openACLUnsafe, mode: .persistent))
            }
            phase = .awaitingReady
            return []
        case (.makingReady, _):
            return entered()
        case let (.listing, .success(.children(children, _))):
            return decideLeave(children)
        case let (.watching, .success(.stat(stat))):
            guard stat != nil, case let .asking(_, token, _) = phase else { return list() }
            phase = .waitingOn(token)
            return []
        case (.clearing, _):
            phase = .done
            return [.notify(.left), .finished]
        default:
            return fail(ZooKeeperError(.marshallingError, path: path, message: "unexpected answer"))
        }
    }

    /// Our member node was made (ready is then checked by counting, not by creating again).
    private var hasMember = false

    private mutating func recheckReady() -> [RecipeStep<Notice>] {
        ask(.checkingReady, .exists(path: readyPath, watch: true))
    }

    private mutating func decideLeave(_ children: [String]) -> [RecipeStep<Notice>] {
        let members = children.filter { $0 != Self.readyName }.sorted()
        let ourName = RecipePath.name(of: ourPath)
        guard let last = members.last, let first = members.first else { return clear() }
        let ourIndex = members.firstIndex(of: ourName)
        if ourIndex == nil && ourNodeShouldExist {
            return fail(ZooKeeperError(.noNode, path: ourPath, message: "our double barrier member node is missing"))
        }
        if members.count == 1 {
            if ourNodeShouldExist && first != ourName {
                return fail(ZooKeeperError(.badArguments, path: path, message: "the last double barrier member is not ours"))
            }
            return deleteOurs() + clear()
        }
        if ourIndex == 0 {
            return ask(.watching, .exists(path: RecipePath.join(path, last), watch: true))
        }
        let watch = ask(.watching, .exists(path: RecipePath.join(path, first), watch: true))
        return watch + deleteOurs()
    }

    private mutating func deleteOurs() -> [RecipeStep<Notice>] {
        guard ourNodeShouldExist else { return [] }
        ourNodeShouldExist = false
        let request = tokens.request(.delete(path: ourPath, version: -1))
        deleting = request.token
        return [.submit(request)]
    }

    private mutating func deleted(_ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        deleting = nil
        guard case let .failure(error) = result, error.isRecoverableLoss else { return [] }
        ourNodeShouldExist = true
        return deleteOurs()
    }

    private mutating func list() -> [RecipeStep<Notice>] {
        ask(.listing, .getChildren(path: path, watch: false, includeStat: false))
    }

    private mutating func clear() -> [RecipeStep<Notice>] {
        ask(.clearing, .delete(path: readyPath, version: -1))
    }

    private mutating func entered() -> [RecipeStep<Notice>] {
        phase = .entered
        return [.notify(.entered)]
    }

    private mutating func ask(_ step: Asking, _ operation: Operation) -> [RecipeStep<Notice>] {
        let request = tokens.request(operation)
        if step == .checkingReady { readyWatches.insert(request.token) }
        phase = .asking(step, request.token, operation)
        return [.submit(request)]
    }

    private mutating func fail(_ error: ZooKeeperError) -> [RecipeStep<Notice>] {
        let hadMember = hasMember && ourNodeShouldExist && !error.isTerminal
        phase = .done
        let cleanup: [RecipeStep<Notice>] = hadMember ? [.submit(tokens.request(.delete(path: ourPath, version: -1)))] : []
        return [.notify(.failed(error))] + cleanup + [.finished]
    }
}
