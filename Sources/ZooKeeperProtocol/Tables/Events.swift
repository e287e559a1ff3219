/// What a watch event reports (Watcher.Event.EventType).
public struct EventType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// A session state change, not a node event.
    public static let none = EventType(rawValue: -1)
    public static let nodeCreated = EventType(rawValue: 1)
    public static let nodeDeleted = EventType(rawValue: 2)
    public static let nodeDataChanged = EventType(rawValue: 3)
    public static let nodeChildrenChanged = EventType(rawValue: 4)
    public static let dataWatchRemoved = EventType(rawValue: 5)
    public static let childWatchRemoved = EventType(rawValue: 6)
    public static let persistentWatchRemoved = EventType(rawValue: 7)

    public var description: String {
        switch self {
        case .none: "None"
        case .nodeCreated: "NodeCreated"
        case .nodeDeleted: "NodeDeleted"
        case .nodeDataChanged: "NodeDataChanged"
        case .nodeChildrenChanged: "NodeChildrenChanged"
        case .dataWatchRemoved: "DataWatchRemoved"
        case .childWatchRemoved: "ChildWatchRemoved"
        case .persistentWatchRemoved: "PersistentWatchRemoved"
        default: "EventType(\(rawValue))"
        }
    }
}

/// The session state carried by events (Watcher.Event.KeeperState).
public struct KeeperState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unknown = KeeperState(rawValue: -1)
    public static let disconnected = KeeperState(rawValue: 0)
    public static let noSyncConnected = KeeperState(rawValue: 1)
    public static let syncConnected = KeeperState(rawValue: 3)
    public static let authFailed = KeeperState(rawValue: 4)
    public static let connectedReadOnly = KeeperState(rawValue: 5)
    public static let saslAuthenticated = KeeperState(rawValue: 6)
    public static let expired = KeeperState(rawValue: -112)
    public static let closed = KeeperState(rawValue: 7)

    public var description: String {
        switch self {
        case .unknown: "Unknown"
        case .disconnected: "Disconnected"
        case .noSyncConnected: "NoSyncConnected"
        case .syncConnected: "SyncConnected"
        case .authFailed: "AuthFailed"
        case .connectedReadOnly: "ConnectedReadOnly"
        case .saslAuthenticated: "SaslAuthenticated"
        case .expired: "Expired"
        case .closed: "Closed"
        default: "KeeperState(\(rawValue))"
        }
    }
}

/// Which watches checkWatches / removeWatches address (Watcher.WatcherType).
public enum WatcherType: Int32, Sendable, CaseIterable {
    case children = 1
    case data = 2
    case any = 3
}

/// addWatch's modes (AddWatchMode).
public enum AddWatchMode: Int32, Sendable, CaseIterable {
    /// Fires for data changes and deletion of the node, and for its children, without re-arming.
    case persistent = 0
    /// Fires for the node and every descendant (no child-list events).
    case persistentRecursive = 1
}
