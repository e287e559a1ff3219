import ZooKeeperRecipes

/// A read-write lock shared with every client of the ensemble, Curator's
/// `InterProcessReadWriteLock` layout (`<path>/_c_<uuid>-__READ__NNNNNNNNNN` and `__WRIT__`):
/// many readers at once, or one writer; ours and Curator's exclude each other. Each side is a
/// `DistributedLock` (acquire with a time-out, `withLock`, `status`); not reentrant, and a
/// writer does not downgrade to a reader.
///
/// ```swift
/// let rw = zk.readWriteLock("/app/locks/catalog")
/// let rows = try await rw.readLock.withLock(timeout: .seconds(5)) { try await readCatalog() }
/// try await rw.writeLock.withLock { try await rewriteCatalog() }
/// ```
public final class DistributedReadWriteLock: Sendable {
    public let path: String
    /// Held together with other readers, while no writer is before us in line.
    public let readLock: DistributedLock
    /// Held alone.
    public let writeLock: DistributedLock

    init(client: ZooKeeperClient, path: String) {
        self.path = path
        readLock = DistributedLock(client: client, path: path) { .lock(.read(path: $0)) }
        writeLock = DistributedLock(client: client, path: path) { .lock(.write(path: $0)) }
    }
}
