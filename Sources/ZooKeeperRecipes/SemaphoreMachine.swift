import ZooKeeperProtocol
import ZooKeeperSession

/// One lease of a counting semaphore, Curator's `InterProcessSemaphoreV2` layout: a contender
/// takes the mutex at `<path>/locks`, makes a protected ephemeral-sequential
/// `<path>/leases/_c_<uuid>-lease-NNNNNNNNNN`, and holds a lease once there are at most `max`
/// lease nodes (watching the leases' children until then); it then lets the mutex go, so the
/// next contender counts after it. The lease is given back by deleting its node.
///
/// Both parts are lock machines (the mutex, and the lease under the counted rule), so a lost
/// create, a suspension while holding and an expiry are handled as for the lock; the notices are
/// the lease's.
public struct SemaphoreMachine: RecipeMachine {
    public typealias Notice = LockMachine.Notice

    public static let locksName = "locks"
    public static let leasesName = "leases"
    public static let leaseName = "lease-"

    public let path: String
    public let max: Int
    private var mutex: LockMachine
    private var lease: LockMachine
    /// The mutex was asked for and the lease not yet (a failure of the mutex is the lease's).
    private var guarding = false
    private var leaseStarted = false
    private var finishedSent = false

    public init(path: String, max: Int, data: [UInt8] = [], protectedId: String = ProtectedName.randomId()) {
        self.path = path
        self.max = max
        mutex = LockMachine(path: RecipePath.join(path, Self.locksName), tokens: TokenSource(generation: 1))
        lease = LockMachine(path: RecipePath.join(path, Self.leasesName), data: data, name: Self.leaseName,
                            rule: .counted(max: max), protectedId: protectedId)
    }

    /// Whether the lease is held and not suspended.
    public var isHeld: Bool { lease.isHeld }
    public var isDone: Bool { mutex.isDone && lease.isDone }
    /// The lease's node, once made.
    public var ourPath: String? { lease.ourPath }

    public mutating func acquire() -> [RecipeStep<Notice>] {
        guard !guarding, !lease.isDone else { return [] }
        guarding = true
        return fromMutex(mutex.acquire())
    }

    /// Gives the lease back (deletes its node); `.released` once gone. The mutex, if ours or
    /// being waited for, goes too.
    public mutating func release() -> [RecipeStep<Notice>] {
        guarding = false
        return fromMutex(mutex.abandon()) + fromLease(lease.release())
    }

    /// Gives up the acquisition (a time-out): whatever was made is deleted; nothing more is told.
    public mutating func abandon() -> [RecipeStep<Notice>] {
        guarding = false
        return fromMutex(mutex.abandon()) + fromLease(lease.abandon())
    }

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        fromMutex(mutex.receive(input)) + fromLease(lease.receive(input))
    }

    /// The mutex's steps: its requests; its grant starts the lease, its failure ends the
    /// acquisition; nothing else of it reaches the owner.
    private mutating func fromMutex(_ steps: [RecipeStep<Notice>]) -> [RecipeStep<Notice>] {
        var result: [RecipeStep<Notice>] = []
        for step in steps {
            switch step {
            case .submit: result.append(step)
            case .notify(.acquired) where guarding:
                leaseStarted = true
                result += fromLease(lease.acquire())
            case let .notify(.failed(error)) where guarding, let .notify(.lost(error)) where guarding:
                guarding = false
                // The session ended: the lease hears it too, and fails by itself.
                if leaseStarted && error.isTerminal { break }
                result.append(.notify(.failed(error)))
                result += fromLease(lease.abandon())
            case .notify, .finished: break
            }
        }
        return result + finishIfDone()
    }

    /// The lease's steps: all of them, but its own end (`finished` waits for the mutex's); once
    /// the lease is decided (held or failed) the mutex is let go.
    private mutating func fromLease(_ steps: [RecipeStep<Notice>]) -> [RecipeStep<Notice>] {
        var result: [RecipeStep<Notice>] = []
        for step in steps {
            switch step {
            case .finished: break
            case .notify(.acquired), .notify(.failed):
                result.append(step)
                if guarding {
                    guarding = false
                    result += fromMutex(mutex.release())
                }
            default: result.append(step)
            }
        }
        return result + finishIfDone()
    }

    private mutating func finishIfDone() -> [RecipeStep<Notice>] {
        guard isDone, !finishedSent else { return [] }
        finishedSent = true
        return [.finished]
    }
}
