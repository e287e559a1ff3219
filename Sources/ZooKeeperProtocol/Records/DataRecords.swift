// Records of `org.apache.zookeeper.data`: identities, ACLs and node metadata.

/// An identity in an ACL: a scheme ("world", "auth", "ip", "digest", ...) and an id in it.
public struct Id: JuteRecord, Hashable {
    public var scheme: String
    public var id: String

    public init(scheme: String, id: String) {
        self.scheme = scheme
        self.id = id
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeString(scheme)
        writer.writeString(id)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> Id {
        Id(scheme: try reader.readString("Id.scheme"), id: try reader.readString("Id.id"))
    }
}

/// One access-control entry: the permission bits granted to an identity.
public struct ACL: JuteRecord, Hashable {
    public var permissions: Permissions
    public var id: Id

    public init(permissions: Permissions, id: Id) {
        self.permissions = permissions
        self.id = id
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(permissions.rawValue)
        id.encode(to: &writer)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ACL {
        let perms = try reader.readInt32("ACL.perms")
        return ACL(permissions: Permissions(rawValue: perms), id: try Id.decode(from: &reader))
    }

    /// Smallest encoding (perms + two empty strings), used to bound vector counts.
    static let minimumEncodedSize = 12
}

extension JuteWriter {
    mutating func writeACLs(_ acls: [ACL]) {
        writeVector(acls) { $1.encode(to: &$0) }
    }
}

extension JuteReader {
    mutating func readACLs(_ field: String) throws(ProtocolError) -> [ACL] {
        try readVector(field, minimumElementSize: ACL.minimumEncodedSize) { (r: inout JuteReader) throws(ProtocolError) in
            try ACL.decode(from: &r)
        }
    }
}

/// A node's metadata as the server reports it.
public struct Stat: JuteRecord, Hashable {
    /// zxid of the change that created the node.
    public var czxid: Int64
    /// zxid of the change that last modified the node's data.
    public var mzxid: Int64
    /// Creation time, ms since the epoch.
    public var ctime: Int64
    /// Last modification time, ms since the epoch.
    public var mtime: Int64
    /// Number of changes to the data.
    public var version: Int32
    /// Number of changes to the children.
    public var cversion: Int32
    /// Number of changes to the ACL.
    public var aversion: Int32
    /// Session id of the owner if the node is ephemeral, else 0.
    public var ephemeralOwner: Int64
    public var dataLength: Int32
    public var numChildren: Int32
    /// zxid of the change that last modified the children.
    public var pzxid: Int64

    public init(
        czxid: Int64 = 0, mzxid: Int64 = 0, ctime: Int64 = 0, mtime: Int64 = 0,
        version: Int32 = 0, cversion: Int32 = 0, aversion: Int32 = 0, ephemeralOwner: Int64 = 0,
        dataLength: Int32 = 0, numChildren: Int32 = 0, pzxid: Int64 = 0
    ) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
        self.pzxid = pzxid
    }

    /// Encoded size: six longs and five ints.
    public static let encodedSize = 68

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt64(czxid)
        writer.writeInt64(mzxid)
        writer.writeInt64(ctime)
        writer.writeInt64(mtime)
        writer.writeInt32(version)
        writer.writeInt32(cversion)
        writer.writeInt32(aversion)
        writer.writeInt64(ephemeralOwner)
        writer.writeInt32(dataLength)
        writer.writeInt32(numChildren)
        writer.writeInt64(pzxid)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> Stat {
        try reader.require(encodedSize, "Stat")
        return Stat(
            czxid: try reader.readInt64(), mzxid: try reader.readInt64(),
            ctime: try reader.readInt64(), mtime: try reader.readInt64(),
            version: try reader.readInt32(), cversion: try reader.readInt32(),
            aversion: try reader.readInt32(), ephemeralOwner: try reader.readInt64(),
            dataLength: try reader.readInt32(), numChildren: try reader.readInt32(),
            pzxid: try reader.readInt64()
        )
    }
}

/// One authenticated identity of a session, as whoAmI reports it.
public struct ClientInfo: JuteRecord, Hashable {
    public var authScheme: String
    public var user: String

    public init(authScheme: String, user: String) {
        self.authScheme = authScheme
        self.user = user
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeString(authScheme)
        writer.writeString(user)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ClientInfo {
        ClientInfo(authScheme: try reader.readString("ClientInfo.authScheme"), user: try reader.readString("ClientInfo.user"))
    }
}
