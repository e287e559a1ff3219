/// Who holds a lock among its sorted contenders, and what a waiter watches. The exclusive rule
/// is `InterProcessMutex`'s; the shared one is the read side of Curator's
/// `InterProcessReadWriteLock` (`readLockPredicate`); the counted one is the lease rule of
/// `InterProcessSemaphoreV2`.
public enum LockRule: Sendable, Equatable {
    /// The lowest sequence holds; a waiter watches its immediate predecessor (of any kind).
    case exclusive
    /// Held while no node whose name contains `writers` is before ours, whatever else is; a
    /// waiter watches the first such node (as Curator's readers do), and looks again when it goes.
    case shared(writers: String)
    /// Held while there are at most `max` contenders, whatever their order; a waiter watches the
    /// children (any lease given back wakes it).
    case counted(max: Int)

    public enum Wait: Sendable, Equatable {
        /// Watch this node (a name among the contenders) with getData.
        case node(String)
        /// Watch the lock path's children.
        case children
    }

    /// nil when the contender at `index` of `sorted` holds the lock; otherwise what it waits on.
    public func wait(in sorted: [String], at index: Int) -> Wait? {
        switch self {
        case .exclusive:
            return index == 0 ? nil : .node(sorted[index - 1])
        case let .shared(writers):
            return sorted[..<index].first { $0.contains(writers) }.map { .node($0) }
        case let .counted(max):
            return sorted.count <= max ? nil : .children
        }
    }
}

/// Curator's `InterProcessReadWriteLock` layout: readers and writers make protected
/// ephemeral-sequential `_c_<uuid>-__READ__NNNNNNNNNN` / `_c_<uuid>-__WRIT__NNNNNNNNNN` under
/// one path, ordered together by their sequence. A writer holds when it is the lowest; a reader
/// holds while no writer is before it. Each side is the lock machine under its name and rule,
/// with all of its connection-loss, suspension and expiry handling.
extension LockMachine {
    public static let readName = "__READ__"
    public static let writeName = "__WRIT__"

    /// One acquisition of the read side of the read-write lock at `path`.
    public static func read(path: String, protectedId: String = ProtectedName.randomId()) -> LockMachine {
        LockMachine(path: path, name: readName, rule: .shared(writers: writeName), protectedId: protectedId)
    }

    /// One acquisition of the write side of the read-write lock at `path`.
    public static func write(path: String, protectedId: String = ProtectedName.randomId()) -> LockMachine {
        LockMachine(path: path, name: writeName, rule: .exclusive, protectedId: protectedId)
    }
}
