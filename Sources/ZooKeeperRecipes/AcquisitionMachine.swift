/// Something acquired, held and released: a lock (or a side of a read-write lock) or a
/// semaphore's lease. One type for their owners (the Swift `DistributedLock` and the Lua lock
/// and lease objects), which treat them alike.
public enum AcquisitionMachine: RecipeMachine {
    public typealias Notice = LockMachine.Notice

    case lock(LockMachine)
    case lease(SemaphoreMachine)

    public var isHeld: Bool {
        switch self {
        case let .lock(machine): machine.isHeld
        case let .lease(machine): machine.isHeld
        }
    }

    /// The node this acquisition made (`<path>/_c_<uuid>-lock-NNNNNNNNNN`), once made.
    public var ourPath: String? {
        switch self {
        case let .lock(machine): machine.ourPath
        case let .lease(machine): machine.ourPath
        }
    }

    public mutating func acquire() -> [RecipeStep<Notice>] { apply({ $0.acquire() }, { $0.acquire() }) }
    public mutating func release() -> [RecipeStep<Notice>] { apply({ $0.release() }, { $0.release() }) }
    public mutating func abandon() -> [RecipeStep<Notice>] { apply({ $0.abandon() }, { $0.abandon() }) }
    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] { apply({ $0.receive(input) }, { $0.receive(input) }) }

    private mutating func apply(_ onLock: (inout LockMachine) -> [RecipeStep<Notice>],
                                _ onLease: (inout SemaphoreMachine) -> [RecipeStep<Notice>]) -> [RecipeStep<Notice>] {
        switch self {
        case var .lock(machine):
            defer { self = .lock(machine) }
            return onLock(&machine)
        case var .lease(machine):
            defer { self = .lease(machine) }
            return onLease(&machine)
        }
    }
}
