import NIOConcurrencyHelpers
import ZooKeeperProtocol
import ZooKeeperRecipes

/// A change a `TreeCache` tells (`.initialized`, `.created`, `.changed`, `.deleted`, with the path).
public typealias CacheEvent = ZooKeeperRecipes.CacheEvent
/// A node as a `TreeCache` holds it: its data and stat.
public typealias CachedNode = ZooKeeperRecipes.CachedNode

/// A tree kept in memory, Curator's `CuratorCache`: `path` and every node below it, from one
/// persistent recursive watch and a walk of the tree, kept up to date by reading again each
/// node an event names. After a lost connection it walks the tree again and reports what
/// changed meanwhile, so it converges to the server's truth.
///
/// An expired session does not end the cache (a `ZooKeeperClient` is one session, so the
/// cache cannot carry on by itself): it keeps what it held, `error` says `sessionExpired`, its
/// `changes()` sequences stay open, and `resume(on:)` a new client carries it on: it walks the
/// tree again and reports only what changed meanwhile (no second `.initialized`), as Curator's
/// cache does when Curator makes a new session.
///
/// ```swift
/// let cache = zk.cache("/app/config")
/// for await event in cache.changes() {
///     switch event.kind {
///     case .initialized: print("loaded", cache.children("/app/config") ?? [])
///     case .created, .changed: reload(event.path, cache.get(event.path)?.data)
///     case .deleted: forget(event.path)
///     }
/// }
/// // elsewhere, when zk.stateChanges() says .expired:
/// cache.resume(on: try await ZooKeeperClient.connect("127.0.0.1:2181"))
/// ```
public final class TreeCache: Sendable {
    public let path: String

    private struct Inner {
        var runner: RecipeRunner<CacheMachine>?
        /// Bumped for each runner: the end of a replaced one is not the cache's.
        var generation: UInt64 = 0
        var observers = StreamObservers<CacheEvent>()
        /// Closed, or its client closed: the sequences are finished for good.
        var ended = false
        var error: ZooKeeperError?
    }

    private let inner = NIOLockedValueBox(Inner())

    init(client: ZooKeeperClient, path: String) {
        self.path = path
        run(CacheMachine(path: path), on: client, generation: 0)
    }

    deinit {
        inner.withLockedValue { $0.runner }?.perform { $0.close() }
    }

    /// The cached data and stat of `path`, nil when the cache holds no such node.
    public func get(_ path: String) -> CachedNode? { read { $0.node(path) } ?? nil }

    /// The names of the cached children of `path`, sorted; nil when the cache holds no such node.
    public func children(_ path: String) -> [String]? { read { $0.children(path) } ?? nil }

    /// Whether the first walk is complete.
    public var isInitialized: Bool { read(\.isInitialized) ?? false }

    /// Why the cache stopped reading on its own (its session expired or its client closed),
    /// if it did; nil again once resumed.
    public var error: ZooKeeperError? { inner.withLockedValue { $0.error } }

    /// The cache's changes as an async sequence: first a `.created` for every node held now
    /// (and `.initialized` if the first walk is complete), then every change as it is applied.
    /// It ends when the cache is closed or its client closed (not when its session expires:
    /// see `resume(on:)`). (A change applied while the sequence starts may be told twice.)
    public func changes() -> AsyncStream<CacheEvent> {
        AsyncStream { continuation in
            let id: UInt64? = inner.withLockedValue { inner in
                let (paths, initialized) = inner.runner?.read { ($0.nodes.keys.sorted(), $0.isInitialized) } ?? ([], false)
                for path in paths { continuation.yield(CacheEvent(.created, path)) }
                if initialized { continuation.yield(CacheEvent(.initialized, "")) }
                if inner.ended {
                    continuation.finish()
                    return nil
                }
                return inner.observers.add(continuation)
            }
            guard let id else { return }
            continuation.onTermination = { [inner] _ in inner.withLockedValue { $0.observers.remove(id) } }
        }
    }

    /// Carries the cache on with `client`'s session, typically a new client made after the old
    /// one's session expired: it walks the tree again and reports only what differs from what
    /// it held. A cache still running on another session moves (its watch there is removed).
    /// Does nothing once the cache ended (`close()`, or its client closed).
    public func resume(on client: ZooKeeperClient) {
        let earlier: (RecipeRunner<CacheMachine>, UInt64)? = inner.withLockedValue { inner in
            guard !inner.ended, let runner = inner.runner else { return nil }
            inner.generation += 1
            return (runner, inner.generation)
        }
        guard let (runner, generation) = earlier else { return }
        // Stopped before its state is copied: whatever it applied was told, or is about to be.
        runner.perform { $0.close() }
        run(CacheMachine(resuming: runner.read { $0 }), on: client, generation: generation)
    }

    /// Stops the cache: its watch is removed and every `changes()` sequence ends.
    public func close() {
        let runner = inner.withLockedValue { inner in
            inner.ended = true
            return inner.runner
        }
        runner?.perform { $0.close() }
        for observer in inner.withLockedValue({ $0.observers.takeAll() }) { observer.finish() }
    }

    // MARK: Running

    private func read<T>(_ body: (CacheMachine) -> T) -> T? {
        inner.withLockedValue { $0.runner }?.read(body)
    }

    private func run(_ machine: CacheMachine, on client: ZooKeeperClient, generation: UInt64) {
        let runner = client.recipeRunner(machine) { [inner] notice in Self.heard(notice, generation: generation, inner) }
        let current = inner.withLockedValue { inner -> Bool in
            guard inner.generation == generation, !inner.ended else { return false }
            inner.runner = runner
            inner.error = nil
            return true
        }
        if current { runner.start { $0.start() } }
    }

    /// Observers are told outside the lock: finishing a stream runs its termination handler,
    /// which takes the lock again. Changes are told whichever runner applied them (a replaced
    /// one's last changes are not in what its successor started from); only the current
    /// runner's end is the cache's.
    private static func heard(_ notice: CacheMachine.Notice, generation: UInt64, _ inner: NIOLockedValueBox<Inner>) {
        switch notice {
        case let .event(event):
            for observer in inner.withLockedValue({ $0.observers.all }) { observer.yield(event) }
        case let .ended(error):
            let ends = inner.withLockedValue { inner -> Bool in
                guard inner.generation == generation, !inner.ended else { return false }
                if error?.code == .sessionExpired {
                    inner.error = error  // paused: resume(on:) carries on
                    return false
                }
                inner.ended = true
                inner.error = error
                return true
            }
            guard ends else { return }
            for observer in inner.withLockedValue({ $0.observers.takeAll() }) { observer.finish() }
        }
    }
}
