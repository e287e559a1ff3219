import ZooKeeperRecipes

/// A counting semaphore shared with every client of the ensemble, Curator's
/// `InterProcessSemaphoreV2` layout (`<path>/locks` guarding `<path>/leases/_c_<uuid>-lease-N`):
/// at most `leases` leases are out at once, across ours and Curator's.
///
/// ```swift
/// let pool = zk.semaphore("/app/semaphores/db", leases: 4)
/// try await pool.withLease(timeout: .seconds(5)) { try await runQuery() }
/// // or by hand:
/// let lease = try await pool.acquire(timeout: .seconds(5))
/// defer { Task { try? await lease.release() } }
/// ```
///
/// Every holder must agree on `leases` (Curator's rule too). A lease whose connection is lost
/// turns `.suspended` at once, as a lock does (`lease.status`, `lease.statusChanges()`).
public final class DistributedSemaphore: Sendable {
    public let path: String
    public let leases: Int
    private let client: ZooKeeperClient

    init(client: ZooKeeperClient, path: String, leases: Int) {
        self.client = client
        self.path = path
        self.leases = leases
    }

    /// Waits for a lease. Throws operationTimeout after `timeout` (nothing is left behind),
    /// CancellationError if the task is cancelled, or the session's error.
    public func acquire(timeout: Duration? = nil) async throws -> SemaphoreLease {
        let lease = SemaphoreLease(lock: try newLease())
        try await lease.lock.acquire(timeout: timeout)
        return lease
    }

    /// Runs `body` holding a lease, and gives it back however `body` ends.
    public func withLease<T>(timeout: Duration? = nil, _ body: () async throws -> T) async throws -> T {
        try await newLease().withLock(timeout: timeout, body)
    }

    /// One lease is one acquisition of the lease machine, run as a lock is.
    private func newLease() throws(ZooKeeperError) -> DistributedLock {
        guard leases >= 1 else { throw ZooKeeperError(.badArguments, path: path, message: "a semaphore needs at least 1 lease, not \(leases)") }
        let leases = leases
        return DistributedLock(client: client, path: path) { .lease(SemaphoreMachine(path: $0, max: leases)) }
    }
}

/// A lease of a `DistributedSemaphore`, held until `release()` (or the session's end).
public final class SemaphoreLease: Sendable {
    let lock: DistributedLock

    init(lock: DistributedLock) { self.lock = lock }

    /// `.held`; `.suspended` while the connection is away; `.lost` if the session ended.
    public var status: DistributedLock.Status { lock.status }
    /// The lease's node (`<path>/leases/_c_<uuid>-lease-NNNNNNNNNN`) while held.
    public var nodePath: String? { lock.nodePath }
    public func statusChanges() -> AsyncStream<DistributedLock.Status> { lock.statusChanges() }

    /// Gives the lease back: returns once its node is deleted.
    public func release() async throws(ZooKeeperError) { try await lock.release() }
}
