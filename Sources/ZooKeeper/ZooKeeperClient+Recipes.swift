import NIOConcurrencyHelpers
import ZooKeeperRecipes

extension ZooKeeperClient {
    /// An exclusive lock on `path`, interoperable with Curator's `InterProcessMutex` (and kazoo's
    /// `Lock` told about Curator's names). Nothing happens until `acquire`.
    ///
    /// ```swift
    /// let lock = zk.lock("/app/locks/report")
    /// try await lock.withLock(timeout: .seconds(5)) {
    ///     try await writeReport()
    /// }
    /// ```
    public func lock(_ path: String) -> DistributedLock {
        DistributedLock(client: self, path: path)
    }

    /// Joins the leader election at `path` as `id` (Curator's `LeaderLatch` layout: Curator
    /// latches and ours elect one leader among them). Contending starts at once.
    ///
    /// ```swift
    /// let election = zk.election("/app/leader", id: "worker-1")
    /// for await isLeader in election.leadershipChanges() {
    ///     isLeader ? startLeading() : stopLeading()
    /// }
    /// ```
    public func election(_ path: String, id: String) -> LeaderElection {
        LeaderElection(client: self, path: path, id: id)
    }

    /// A shared 32-bit counter at `path` (Curator's `SharedCount` encoding).
    ///
    /// ```swift
    /// let visits = zk.counter("/app/visits")
    /// let now = try await visits.add(1)
    /// ```
    public func counter(_ path: String) -> SharedCounter {
        SharedCounter(client: self, path: path)
    }

    /// A distributed queue at `path` (Curator's `SimpleDistributedQueue` layout).
    ///
    /// ```swift
    /// let jobs = zk.queue("/app/jobs")
    /// try await jobs.put(Array("job".utf8))
    /// let item = try await jobs.take(timeout: .seconds(5))
    /// ```
    public func queue(_ path: String) -> DistributedQueue {
        DistributedQueue(client: self, path: path)
    }

    /// A tree cache of `path` and every node below it (Curator's `CuratorCache`): it starts at
    /// once; `changes()` reports what it holds and every change.
    ///
    /// ```swift
    /// let cache = zk.cache("/app/config")
    /// for await event in cache.changes() where event.kind != .initialized {
    ///     print(event.kind, event.path, cache.get(event.path)?.data ?? [])
    /// }
    /// ```
    public func cache(_ path: String) -> TreeCache {
        TreeCache(client: self, path: path)
    }

    /// A runner of `machine` on this client's session.
    func recipeRunner<Machine: RecipeMachine>(_ machine: Machine, onNotice: @escaping @Sendable (Machine.Notice) -> Void) -> RecipeRunner<Machine> {
        RecipeRunner(machine, session: driver, requestTimeout: configuration.requestTimeout.milliseconds, onNotice: onNotice)
    }

    /// Runs a machine that tells one thing and finishes (a counter operation); returns that.
    func runOnce<Machine: RecipeMachine>(_ machine: Machine, start: (inout Machine) -> [RecipeStep<Machine.Notice>]) async -> Machine.Notice {
        let answer = OneShot<Machine.Notice>()
        let runner = recipeRunner(machine) { answer.fulfil($0) }
        runner.start(start)
        return await answer.value
    }
}

extension ZooKeeperClient {
    /// Creates a node with Curator's protection (missing parents made as containers): it is
    /// named `<parent>/_c_<uuid>-<name>` (then the sequence number, for a sequential mode), and
    /// when the connection is lost during the create the client looks for its node by that
    /// prefix (for an ephemeral, one owned by this session) instead of making a second one.
    /// Returns the path made. Safe under `RetryPolicy`.
    ///
    /// ```swift
    /// let job = try await zk.createProtected("/jobs/job-", data: payload, mode: .ephemeralSequential)
    /// ```
    public func createProtected(_ path: String, data: [UInt8] = [], acl: [ACL] = Ids.openACLUnsafe,
                                mode: CreateMode = .persistent) async throws(ZooKeeperError) -> String {
        switch await runOnce(ProtectedCreateMachine(path: path, data: data, mode: mode, acl: acl), start: { $0.start() }) {
        case let .created(made): return made
        case let .failed(error): throw error
        }
    }
}
