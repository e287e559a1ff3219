import ZooKeeperRecipes

extension ZooKeeperClient {
    /// A read-write lock on `path`, interoperable with Curator's `InterProcessReadWriteLock`.
    /// Nothing happens until one of its sides is acquired.
    ///
    /// ```swift
    /// let rw = zk.readWriteLock("/app/locks/catalog")
    /// try await rw.writeLock.withLock(timeout: .seconds(5)) { try await rewriteCatalog() }
    /// ```
    public func readWriteLock(_ path: String) -> DistributedReadWriteLock {
        DistributedReadWriteLock(client: self, path: path)
    }

    /// A counting semaphore of `leases` leases on `path`, interoperable with Curator's
    /// `InterProcessSemaphoreV2`.
    ///
    /// ```swift
    /// let pool = zk.semaphore("/app/semaphores/db", leases: 4)
    /// try await pool.withLease { try await runQuery() }
    /// ```
    public func semaphore(_ path: String, leases: Int) -> DistributedSemaphore {
        DistributedSemaphore(client: self, path: path, leases: leases)
    }

    /// A barrier on `path` (Curator's `DistributedBarrier`): up while its node exists.
    ///
    /// ```swift
    /// try await zk.barrier("/app/barriers/deploy").wait(timeout: .seconds(30))
    /// ```
    public func barrier(_ path: String) -> DistributedBarrier {
        DistributedBarrier(client: self, path: path)
    }

    /// A member of the double barrier of `count` members on `path` (Curator's
    /// `DistributedDoubleBarrier`).
    ///
    /// ```swift
    /// let round = zk.doubleBarrier("/app/rounds/7", count: 3)
    /// try await round.enter()
    /// try await round.leave()
    /// ```
    public func doubleBarrier(_ path: String, count: Int) -> DistributedDoubleBarrier {
        DistributedDoubleBarrier(client: self, path: path, count: count)
    }
}
