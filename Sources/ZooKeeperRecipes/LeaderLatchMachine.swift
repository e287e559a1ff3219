import ZooKeeperProtocol
import ZooKeeperSession

/// Leader election, Curator's `LeaderLatch` layout: every participant contends as for a lock
/// with a protected ephemeral-sequential `<path>/_c_<uuid>-latch-NNNNNNNNNN` whose data is its
/// participant id (UTF-8); the lowest sequence leads. It is the lock machine under another
/// name, kept contending until closed:
/// - connection lost: step down at once (Curator's SUSPENDED policy), before the session
///   could have expired;
/// - reconnected: check our node again: still there, lead again (nobody else could lead
///   meanwhile: our node stayed the lowest); gone, contend again with a new node;
/// - session ended: not leader, and done.
public struct LeaderLatchMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        /// Leadership changed.
        case leader(Bool)
        /// The latch stopped: closed by its owner (nil; our node is gone) or its session ended.
        case closed(ZooKeeperError?)
    }

    public static let latchName = "latch-"

    public let path: String
    public let id: String
    private var contention: LockMachine
    /// Earlier attempts still deleting what is left of their node.
    private var retired: [LockMachine] = []
    private var generation: UInt32 = 0
    private var isLeader = false
    private var started = false
    private var closing = false
    /// Closed or ended: nothing more is told; `.finished` follows once the contention is done.
    private var over = false
    private var finishedSent = false

    public init(path: String, id: String, protectedId: String = ProtectedName.randomId()) {
        self.path = path
        self.id = id
        contention = LockMachine(path: path, data: Array(id.utf8), name: Self.latchName, protectedId: protectedId)
    }

    public var hasLeadership: Bool { isLeader }
    /// Our node, once made.
    public var ourPath: String? { contention.ourPath }

    public mutating func start() -> [RecipeStep<Notice>] {
        guard !started, !closing else { return [] }
        started = true
        return translate(contention.acquire())
    }

    /// Steps down and deletes our node; `.closed(nil)` once it is gone.
    public mutating func close() -> [RecipeStep<Notice>] {
        guard !closing, !over else { return [] }
        closing = true
        let steps = leadership(false)
        guard started else {
            over = true
            finishedSent = true
            return steps + [.notify(.closed(nil)), .finished]
        }
        return steps + translate(contention.release())
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        var steps: [RecipeStep<Notice>] = []
        for index in retired.indices {
            steps += retired[index].receive(input).compactMap { step in
                if case let .submit(request) = step { return .submit(request) }
                return nil
            }
        }
        retired.removeAll { $0.isDone }
        return steps + translate(contention.receive(input))
    }

    private mutating func translate(_ steps: [RecipeStep<LockMachine.Notice>]) -> [RecipeStep<Notice>] {
        var result: [RecipeStep<Notice>] = []
        for step in steps {
            switch step {
            case let .submit(request): result.append(.submit(request))
            case let .notify(notice): result += react(notice)
            case .finished:
                // The contention is done: after a close or an end, so is the latch.
                if over && !finishedSent {
                    finishedSent = true
                    result.append(.finished)
                }
            }
        }
        return result
    }

    private mutating func react(_ notice: LockMachine.Notice) -> [RecipeStep<Notice>] {
        switch notice {
        case .acquired:
            return closing ? [] : leadership(true)
        case .suspended:
            return leadership(false)
        case .released:
            return end(nil)
        case let .lost(error) where error.code == .noNode && !closing:
            // Our node was deleted while the session lives: contend again with a new node,
            // as Curator's reset does; the old attempt deletes whatever is left of its own.
            generation += 1
            retired.append(contention)
            contention = LockMachine(path: path, data: Array(id.utf8), name: Self.latchName, tokens: TokenSource(generation: generation))
            return leadership(false) + contention.acquire().compactMap { step in
                if case let .submit(request) = step { return .submit(request) }
                return nil
            }
        case let .lost(error), let .failed(error):
            return leadership(false) + end(closing ? nil : error)
        }
    }

    private mutating func end(_ error: ZooKeeperError?) -> [RecipeStep<Notice>] {
        guard !over else { return [] }
        over = true
        return [.notify(.closed(error))]
    }

    private mutating func leadership(_ value: Bool) -> [RecipeStep<Notice>] {
        guard value != isLeader else { return [] }
        isLeader = value
        return [.notify(.leader(value))]
    }
}
