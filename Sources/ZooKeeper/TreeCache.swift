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
/// changed meanwhile, so it converges to the server's truth. It ends with the session (an
/// expired client is done; make a new client and a new cache).
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
/// ```
public final class TreeCache: Sendable {
    public let path: String
    private let runner: RecipeRunner<CacheMachine>

    private struct Inner {
        var observers = StreamObservers<CacheEvent>()
        var ended = false
        var error: ZooKeeperError?
    }

    private let inner: NIOLockedValueBox<Inner>

    init(client: ZooKeeperClient, path: String) {
        self.path = path
        let inner = NIOLockedValueBox(Inner())
        self.inner = inner
        runner = client.recipeRunner(CacheMachine(path: path)) { notice in Self.heard(notice, inner) }
        runner.start { $0.start() }
    }

    deinit {
        runner.perform { $0.close() }
    }

    /// The cached data and stat of `path`, nil when the cache holds no such node.
    public func get(_ path: String) -> CachedNode? { runner.read { $0.node(path) } }

    /// The names of the cached children of `path`, sorted; nil when the cache holds no such node.
    public func children(_ path: String) -> [String]? { runner.read { $0.children(path) } }

    /// Whether the first walk is complete.
    public var isInitialized: Bool { runner.read(\.isInitialized) }

    /// Why the cache stopped on its own (its session ended), if it did.
    public var error: ZooKeeperError? { inner.withLockedValue { $0.error } }

    /// The cache's changes as an async sequence: first a `.created` for every node held now
    /// (and `.initialized` if the first walk is complete), then every change as it is applied.
    /// It ends when the cache is closed or its session ends. (A change applied while the
    /// sequence starts may be told twice.)
    public func changes() -> AsyncStream<CacheEvent> {
        AsyncStream { continuation in
            let id: UInt64? = inner.withLockedValue { inner in
                let (paths, initialized) = runner.read { ($0.nodes.keys.sorted(), $0.isInitialized) }
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

    /// Stops the cache: its watch is removed and every `changes()` sequence ends.
    public func close() {
        runner.perform { $0.close() }
    }

    /// Observers are told outside the lock: finishing a stream runs its termination handler,
    /// which takes the lock again.
    private static func heard(_ notice: CacheMachine.Notice, _ inner: NIOLockedValueBox<Inner>) {
        switch notice {
        case let .event(event):
            for observer in inner.withLockedValue({ $0.observers.all }) { observer.yield(event) }
        case let .ended(error):
            let observers = inner.withLockedValue { inner in
                inner.ended = true
                inner.error = error
                return inner.observers.takeAll()
            }
            for observer in observers { observer.finish() }
        }
    }
}
