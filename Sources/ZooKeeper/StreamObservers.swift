/// The async streams observing an object (a lock's status, an election's leadership, a
/// cache's changes), kept under the object's lock; their continuations are told outside it
/// (finishing a stream runs its termination handler, which takes the lock again).
struct StreamObservers<Element: Sendable>: Sendable {
    private var continuations: [UInt64: AsyncStream<Element>.Continuation] = [:]
    private var lastID: UInt64 = 0

    /// Every observer now.
    var all: [AsyncStream<Element>.Continuation] { Array(continuations.values) }

    /// Registers `continuation`; returns its id, for `remove`.
    mutating func add(_ continuation: AsyncStream<Element>.Continuation) -> UInt64 {
        lastID += 1
        continuations[lastID] = continuation
        return lastID
    }

    mutating func remove(_ id: UInt64) { continuations[id] = nil }

    /// Every observer, forgotten (to finish them).
    mutating func takeAll() -> [AsyncStream<Element>.Continuation] {
        defer { continuations = [:] }
        return all
    }
}
