import ZooKeeperProtocol
import ZooKeeperSession

/// What a tree cache tells: a node of the tree appeared, changed or went, or the first walk
/// is complete (Curator's `CuratorCacheListener` types).
public struct CacheEvent: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case initialized, created, changed, deleted
    }

    public let kind: Kind
    /// The node's path ("" for `initialized`).
    public let path: String

    public init(_ kind: Kind, _ path: String) {
        self.kind = kind
        self.path = path
    }
}

/// A node as the cache holds it.
public struct CachedNode: Sendable, Hashable {
    public let data: [UInt8]
    public let stat: Stat
}

/// A tree cache, Curator's `CuratorCache`: one persistent recursive watch on the path plus a
/// walk (getData and getChildren of every node), kept up to date by reading again each node an
/// event names. The answers of one session come in the order their requests went out, so the
/// last answer about a node is its newest state: each answer is applied as it comes, and the
/// difference with what the cache held is reported.
///
/// It converges to the server's truth:
/// - after a reconnect it walks again (the watch survives, but the events of the time away are
///   not replayed), reporting what changed meanwhile;
/// - after an expiry its owner starts a machine on the new session with `resuming:` the old
///   one, which walks again and reports the differences;
/// - a node deleted and made again between two reads is seen by its creation zxid.
public struct CacheMachine: RecipeMachine {
    public enum Notice: Sendable, Equatable {
        case event(CacheEvent)
        /// The cache stopped: closed (nil) or its session ended.
        case ended(ZooKeeperError?)
    }

    private enum Read: Equatable {
        case watch
        case data(String)
        case children(String)
    }

    public let path: String
    /// The cached nodes by path.
    public private(set) var nodes: [String: CachedNode] = [:]
    /// The names of the cached children of each path.
    private var kids: [String: Set<String>] = [:]
    private var reads: [RecipeToken: Read] = [:]
    private var tokens = TokenSource()
    private var watchToken: RecipeToken?
    public private(set) var isInitialized = false
    /// Disconnected since the last walk: walk again once connected.
    private var away = false
    private var started = false
    private var over = false

    public init(path: String) { self.path = path }

    /// A cache on a new session that carries on from `earlier` (whose session expired): it
    /// reports only what differs from what `earlier` held.
    public init(resuming earlier: CacheMachine) {
        path = earlier.path
        nodes = earlier.nodes
        kids = earlier.kids
        isInitialized = earlier.isInitialized
    }

    public var isDone: Bool { over }

    /// The node at `path`, if cached.
    public func node(_ path: String) -> CachedNode? { nodes[path] }

    /// The names of the cached children of `path`, sorted; nil when `path` is not cached.
    public func children(_ path: String) -> [String]? {
        guard nodes[path] != nil else { return nil }
        return (kids[path] ?? []).sorted()
    }

    // MARK: Owner commands

    public mutating func start() -> [RecipeStep<Notice>] {
        guard !started, !over else { return [] }
        started = true
        let request = tokens.request(.addWatch(path: path, mode: .persistentRecursive))
        watchToken = request.token
        reads[request.token] = .watch
        return [.submit(request)] + walk()
    }

    /// Stops: the watch goes (the runner removes it as the machine finishes).
    public mutating func close() -> [RecipeStep<Notice>] {
        guard !over else { return [] }
        over = true
        return [.notify(.ended(nil)), .finished]
    }

    // MARK: Inputs

    public mutating func receive(_ input: RecipeInput) -> [RecipeStep<Notice>] {
        guard !over else { return [] }
        switch input {
        case let .watch(token, event):
            guard token == watchToken, isInTree(event.path) else { return [] }
            switch event.type {
            case .nodeCreated: return refresh(event.path)
            case .nodeDataChanged, .nodeDeleted: return readData(event.path)
            default: return []
            }
        case let .session(event):
            if let error = ZooKeeperError.ending(event, path: path) {
                over = true
                return [.notify(.ended(error)), .finished]
            }
            switch event {
            case .disconnected:
                away = true
                return []
            case .connected, .reconnected, .connectedReadOnly:
                guard away else { return [] }
                away = false
                return walk()
            default:
                return []
            }
        case let .result(token, result):
            guard let read = reads.removeValue(forKey: token) else { return [] }
            return applied(read, result) + initializedIfDone()
        }
    }

    private mutating func applied(_ read: Read, _ result: Result<OperationResult, ZooKeeperError>) -> [RecipeStep<Notice>] {
        if case let .failure(error) = result, error.isRecoverableLoss {
            // Asked again, answered once connected again. A node's data and children are read
            // again together: a listing is applied only to a node whose data came first.
            switch read {
            case .watch: return [.submit(request(read))]
            case let .data(node), let .children(node): return refresh(node)
            }
        }
        switch (read, result) {
        case (.watch, .success):
            return []
        case let (.watch, .failure(error)):
            over = true
            return [.notify(.ended(error)), .finished]
        case let (.data(node), .success(.data(data, stat))):
            return put(node, CachedNode(data: data, stat: stat))
        case let (.data(node), .failure(error)) where error.code == .noNode:
            return remove(node)
        case let (.children(node), .success(.children(names, _))):
            return listed(node, names)
        default:
            // NoNode on a listing (the data read tells), or an error on one node (its next
            // event or the next walk reads it again).
            return []
        }
    }

    /// Stores a node's newest state and tells how it differs from what was held.
    private mutating func put(_ node: String, _ new: CachedNode) -> [RecipeStep<Notice>] {
        let old = nodes[node]
        nodes[node] = new
        if node != path { kids[RecipePath.parent(of: node), default: []].insert(RecipePath.name(of: node)) }
        guard let old else { return [.notify(.event(CacheEvent(.created, node)))] }
        if old.stat.czxid != new.stat.czxid {
            // Deleted and made again while we were not looking.
            return [.notify(.event(CacheEvent(.deleted, node))), .notify(.event(CacheEvent(.created, node)))]
        }
        if old.stat.mzxid != new.stat.mzxid || old.data != new.data {
            return [.notify(.event(CacheEvent(.changed, node)))]
        }
        return []
    }

    /// Forgets a node and everything under it, deepest first.
    private mutating func remove(_ node: String) -> [RecipeStep<Notice>] {
        guard nodes[node] != nil || kids[node] != nil else { return [] }
        var steps: [RecipeStep<Notice>] = []
        for name in (kids[node] ?? []).sorted() { steps += remove(RecipePath.join(node, name)) }
        kids[node] = nil
        if node != path { kids[RecipePath.parent(of: node)]?.remove(RecipePath.name(of: node)) }
        if nodes.removeValue(forKey: node) != nil { steps.append(.notify(.event(CacheEvent(.deleted, node)))) }
        return steps
    }

    /// A listing: children not cached are read; cached ones it lacks are gone.
    private mutating func listed(_ node: String, _ names: [String]) -> [RecipeStep<Notice>] {
        guard nodes[node] != nil else { return [] }
        let listed = Set(names)
        var steps: [RecipeStep<Notice>] = []
        for name in (kids[node] ?? []).subtracting(listed).sorted() { steps += remove(RecipePath.join(node, name)) }
        for name in names.sorted() where nodes[RecipePath.join(node, name)] == nil { steps += refresh(RecipePath.join(node, name)) }
        return steps
    }

    private mutating func initializedIfDone() -> [RecipeStep<Notice>] {
        guard !isInitialized, !over, reads.isEmpty else { return [] }
        isInitialized = true
        return [.notify(.event(CacheEvent(.initialized, "")))]
    }

    private func isInTree(_ node: String) -> Bool {
        path == "/" || node == path || node.hasPrefix(path + "/")
    }

    // MARK: Reads

    /// Reads every cached node and the root again (the new ones found are read in turn).
    private mutating func walk() -> [RecipeStep<Notice>] {
        ([path] + nodes.keys.filter { $0 != path }.sorted()).flatMap { refresh($0) }
    }

    private mutating func refresh(_ node: String) -> [RecipeStep<Notice>] {
        readData(node) + [.submit(request(.children(node)))]
    }

    private mutating func readData(_ node: String) -> [RecipeStep<Notice>] {
        [.submit(request(.data(node)))]
    }

    private mutating func request(_ read: Read) -> RecipeRequest {
        let request = switch read {
        case .watch: tokens.request(.addWatch(path: path, mode: .persistentRecursive))
        case let .data(node): tokens.request(.getData(path: node, watch: false))
        case let .children(node): tokens.request(.getChildren(path: node, watch: false, includeStat: false))
        }
        reads[request.token] = read
        if case .watch = read { watchToken = request.token }
        return request
    }
}
