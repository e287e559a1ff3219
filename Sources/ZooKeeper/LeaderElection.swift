import NIOConcurrencyHelpers
import ZooKeeperRecipes

/// One participant of a leader election, Curator's `LeaderLatch` layout
/// (`<path>/_c_<uuid>-latch-NNNNNNNNNN`, the participant id as data): ours and Curator's
/// latches on one path elect a single leader among them. It contends from creation until
/// `close()`.
///
/// ```swift
/// let election = zk.election("/app/scheduler", id: hostName)
/// for await leading in election.leadershipChanges() {
///     if leading { scheduler.start() } else { scheduler.stop() }
/// }
/// ```
///
/// Leadership is dropped the moment the connection is lost (before the session could expire,
/// when another participant could take over) and taken back on reconnect if our node is
/// still the lowest; nobody else can lead meanwhile.
public final class LeaderElection: Sendable {
    public let path: String
    public let id: String
    private let client: ZooKeeperClient

    private struct Inner {
        var isLeader = false
        var closed = false
        var error: ZooKeeperError?
        var runner: RecipeRunner<LeaderLatchMachine>?
        var observers = StreamObservers<Bool>()
        var closeWaiters: [OneShot<Void>] = []
    }

    private let inner = NIOLockedValueBox(Inner())

    init(client: ZooKeeperClient, path: String, id: String) {
        self.path = path
        self.id = id
        self.client = client
        let runner = client.recipeRunner(LeaderLatchMachine(path: path, id: id)) { [weak self] notice in self?.heard(notice) }
        inner.withLockedValue { $0.runner = runner }
        runner.start { $0.start() }
    }

    deinit {
        inner.withLockedValue { $0.runner }?.perform { $0.close() }
    }

    /// Whether this participant leads now.
    public var isLeader: Bool { inner.withLockedValue { $0.isLeader } }
    /// Why the election stopped on its own (the session ended), if it did.
    public var error: ZooKeeperError? { inner.withLockedValue { $0.error } }

    /// Leadership as an async sequence: the current value first, then every change; it ends
    /// once the election is closed or its session ended.
    public func leadershipChanges() -> AsyncStream<Bool> {
        AsyncStream { continuation in
            let id: UInt64? = inner.withLockedValue { inner in
                continuation.yield(inner.isLeader)
                if inner.closed {
                    continuation.finish()
                    return nil
                }
                return inner.observers.add(continuation)
            }
            guard let id else { return }
            continuation.onTermination = { [weak self] _ in self?.inner.withLockedValue { $0.observers.remove(id) } }
        }
    }

    /// The participant id of whoever leads now (ours or another participant's, Curator's
    /// included), read from the lowest latch node; nil when nobody contends.
    public func leaderID() async throws(ZooKeeperError) -> String? {
        switch await client.runOnce(LeaderQueryMachine(path: path), start: { $0.start() }) {
        case let .leader(id): return id
        case let .failed(error): throw error
        }
    }

    /// Waits until this participant leads; false if the election ended first.
    public func waitForLeadership() async -> Bool {
        for await leading in leadershipChanges() where leading { return true }
        return false
    }

    /// Steps down and leaves the election; returns once our node is deleted, so another
    /// participant can take over at once.
    public func close() async {
        let waiter = OneShot<Void>()
        let runner: RecipeRunner<LeaderLatchMachine>? = inner.withLockedValue { inner in
            if inner.closed { return nil }
            inner.closeWaiters.append(waiter)
            return inner.runner
        }
        guard let runner else { return }
        runner.perform { $0.close() }
        await waiter.value
    }

    /// Observers and waiters are called outside the lock: finishing a stream runs its
    /// termination handler, which takes the lock again.
    private func heard(_ notice: LeaderLatchMachine.Notice) {
        let (observers, ended, waiters) = inner.withLockedValue { inner -> ([AsyncStream<Bool>.Continuation], Bool, [OneShot<Void>]) in
            switch notice {
            case let .leader(leading):
                inner.isLeader = leading
                return (inner.observers.all, false, [])
            case let .closed(error):
                inner.isLeader = false
                inner.closed = true
                inner.error = error
                defer { inner.closeWaiters.removeAll() }
                return (inner.observers.takeAll(), true, inner.closeWaiters)
            }
        }
        for observer in observers {
            if ended {
                observer.finish()
            } else if case let .leader(leading) = notice {
                observer.yield(leading)
            }
        }
        for waiter in waiters { waiter.fulfil(()) }
    }
}
