import ZooKeeperProtocol

/// Identifies who is to hear a watch event; the front door maps it to a callback or a stream.
public typealias WatcherID = UInt64

/// The kinds of registration a session keeps, as ZooKeeper's client watch manager has them.
public enum WatchKind: Hashable, Sendable, CaseIterable {
    /// getData, or exists on a node that exists: data changes and deletion.
    case data
    /// exists on a node that does not exist: its creation.
    case exist
    /// getChildren: child list changes and deletion.
    case child
    /// addWatch(persistent): every event on the node, until removed.
    case persistent
    /// addWatch(persistentRecursive): every event on the node and its descendants, except
    /// child-list changes.
    case persistentRecursive
}

/// A watch event as the application sees it: the wire's WatcherEvent, with the path made a
/// client path (chroot removed) by the session.
public typealias WatchEvent = WatcherEvent

/// Which watchers are registered on which paths. One-shot kinds are removed when they fire;
/// a watcher registered several times on one path hears each event once.
public struct WatchRegistry: Sendable {
    private var table: [WatchKind: [String: Set<WatcherID>]] = [:]

    /// No registrations.
    public init() {}

    /// Whether nothing is registered.
    public var isEmpty: Bool { table.values.allSatisfy(\.isEmpty) }

    /// Registers `watcher` for `kind` events on `path`.
    public mutating func add(_ watcher: WatcherID, path: String, kind: WatchKind) {
        table[kind, default: [:]][path, default: []].insert(watcher)
    }

    /// The paths with registrations of `kind`, sorted for a stable SetWatches.
    public func paths(_ kind: WatchKind) -> [String] {
        (table[kind] ?? [:]).keys.sorted()
    }

    /// Who is registered for `kind` events on `path`.
    public func watchers(path: String, kind: WatchKind) -> Set<WatcherID> {
        table[kind]?[path] ?? []
    }

    /// Every watcher registered anywhere.
    public var allWatchers: Set<WatcherID> {
        table.values.reduce(into: Set<WatcherID>()) { result, byPath in
            for ids in byPath.values { result.formUnion(ids) }
        }
    }

    /// Who hears a node event; one-shot registrations it triggers are removed.
    public mutating func trigger(_ event: WatchEvent) -> Set<WatcherID> {
        var fired = Set<WatcherID>()
        let path = event.path
        func take(_ kind: WatchKind) {
            if let ids = table[kind]?.removeValue(forKey: path) { fired.formUnion(ids) }
        }
        switch event.type {
        case .nodeCreated, .nodeDataChanged:
            take(.data)
            take(.exist)
        case .nodeChildrenChanged:
            take(.child)
        case .nodeDeleted:
            take(.data)
            take(.exist)
            take(.child)
        default:
            return []
        }
        fired.formUnion(watchers(path: path, kind: .persistent))
        if event.type != .nodeChildrenChanged {
            for ancestor in Self.selfAndAncestors(path) {
                fired.formUnion(watchers(path: ancestor, kind: .persistentRecursive))
            }
        }
        return fired
    }

    /// Removes registrations of the kinds `type` covers on `path`; returns who was removed, by
    /// the event type each should hear (data / child / persistent watch removed).
    public mutating func remove(path: String, type: WatcherType) -> [(WatcherID, EventType)] {
        var removed: [(WatcherID, EventType)] = []
        func drop(_ kind: WatchKind, _ eventType: EventType) {
            for id in table[kind]?.removeValue(forKey: path) ?? [] { removed.append((id, eventType)) }
        }
        if type == .data || type == .any {
            drop(.data, .dataWatchRemoved)
            drop(.exist, .dataWatchRemoved)
        }
        if type == .children || type == .any {
            drop(.child, .childWatchRemoved)
        }
        if type == .any {
            drop(.persistent, .persistentWatchRemoved)
            drop(.persistentRecursive, .persistentWatchRemoved)
        }
        return removed
    }

    /// Removes one watcher's registrations everywhere (its owner stopped listening).
    public mutating func remove(watcher: WatcherID) {
        for (kind, byPath) in table {
            for (path, ids) in byPath where ids.contains(watcher) {
                let left = ids.subtracting([watcher])
                table[kind]?[path] = left.isEmpty ? nil : left
            }
        }
    }

    /// Whether any registration of the kinds `type` covers exists on `path`.
    public func has(path: String, type: WatcherType) -> Bool {
        let kinds: [WatchKind] = switch type {
        case .data: [.data, .exist]
        case .children: [.child]
        case .any: WatchKind.allCases
        }
        return kinds.contains { !(table[$0]?[path]?.isEmpty ?? true) }
    }

    /// Forgets every registration (when the session ends).
    public mutating func removeAll() { table = [:] }

    static func selfAndAncestors(_ path: String) -> [String] {
        var result = [path]
        var current = Substring(path)
        while current != "/" {
            guard let slash = current.lastIndex(of: "/") else { break }
            current = slash == current.startIndex ? "/" : current[..<slash]
            result.append(String(current))
        }
        return result
    }
}
