import ZooKeeperSession

/// An operation without its arguments: what metrics and spans name a request by. The names are
/// the Swift API's method names, a fixed set, so a metric's `operation` dimension stays small.
enum OperationKind: String, CaseIterable, Sendable {
    case create, delete, exists, getData, setData, getACL, setACL, getChildren, getAllChildrenNumber,
         getEphemerals, sync, multi, multiRead, addWatch, removeWatches, checkWatches, whoAmI, getConfig,
         reconfig, addAuth

    init(_ operation: Operation) {
        switch operation {
        case .create: self = .create
        case .delete: self = .delete
        case .exists: self = .exists
        case .getData: self = .getData
        case .setData: self = .setData
        case .getACL: self = .getACL
        case .setACL: self = .setACL
        case .getChildren: self = .getChildren
        case .getAllChildrenNumber: self = .getAllChildrenNumber
        case .getEphemerals: self = .getEphemerals
        case .sync: self = .sync
        case .multi: self = .multi
        case .multiRead: self = .multiRead
        case .addWatch: self = .addWatch
        case .removeWatches: self = .removeWatches
        case .checkWatches: self = .checkWatches
        case .whoAmI: self = .whoAmI
        case .getConfig: self = .getConfig
        case .reconfig: self = .reconfig
        case .addAuth: self = .addAuth
        }
    }
}
