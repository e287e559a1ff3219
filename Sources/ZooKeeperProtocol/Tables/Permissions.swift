/// ACL permission bits (ZooDefs.Perms).
public struct Permissions: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let read = Permissions(rawValue: 1 << 0)
    public static let write = Permissions(rawValue: 1 << 1)
    public static let create = Permissions(rawValue: 1 << 2)
    public static let delete = Permissions(rawValue: 1 << 3)
    public static let admin = Permissions(rawValue: 1 << 4)
    public static let all: Permissions = [.read, .write, .create, .delete, .admin]

    /// ZooKeeper's shell notation: "cdrwa" letters for the bits set.
    public var description: String {
        var s = ""
        if contains(.create) { s += "c" }
        if contains(.delete) { s += "d" }
        if contains(.read) { s += "r" }
        if contains(.write) { s += "w" }
        if contains(.admin) { s += "a" }
        return s
    }
}

/// Well-known identities and ACL lists (ZooDefs.Ids).
public enum Ids {
    /// Everyone: world:anyone.
    public static let anyone = Id(scheme: "world", id: "anyone")
    /// Whatever identities the creating session has authenticated as.
    public static let authIds = Id(scheme: "auth", id: "")

    /// All permissions to everyone.
    public static let openACLUnsafe = [ACL(permissions: .all, id: anyone)]
    /// All permissions to the creator's authenticated identities.
    public static let creatorAllACL = [ACL(permissions: .all, id: authIds)]
    /// Read permission to everyone.
    public static let readACLUnsafe = [ACL(permissions: .read, id: anyone)]

    /// An `ip` identity: an address or a CIDR range ("10.0.0.0/8").
    public static func ip(_ address: String) -> Id { Id(scheme: "ip", id: address) }

    /// A `digest` identity for a user and password: `user:base64(sha1("user:password"))`.
    public static func digest(user: String, password: String) -> Id {
        Id(scheme: "digest", id: DigestAuth.digestId(user: user, password: password))
    }
}
