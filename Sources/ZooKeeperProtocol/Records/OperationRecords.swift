// Request and response bodies of the node operations, field for field as zookeeper.jute has them.

/// create (1), createContainer (19) and, inside multi, create/create2.
public struct CreateRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]
    public var acl: [ACL]
    /// A `CreateMode` raw value.
    public var flags: Int32

    public init(path: String, data: [UInt8], acl: [ACL], flags: Int32) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
    }

    public init(path: String, data: [UInt8], acl: [ACL], mode: CreateMode) {
        self.init(path: path, data: data, acl: acl, flags: mode.rawValue)
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeBuffer(data)
        writer.writeACLs(acl)
        writer.writeInt32(flags)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> CreateRequest {
        CreateRequest(
            path: try reader.readString("CreateRequest.path"), data: try reader.readBuffer("CreateRequest.data"),
            acl: try reader.readACLs("CreateRequest.acl"), flags: try reader.readInt32("CreateRequest.flags"))
    }
}

/// createTTL (21): a persistent node the server removes once it has had no children for `ttl` ms.
public struct CreateTTLRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]
    public var acl: [ACL]
    public var flags: Int32
    public var ttl: Int64

    public init(path: String, data: [UInt8], acl: [ACL], flags: Int32, ttl: Int64) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
        self.ttl = ttl
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeBuffer(data)
        writer.writeACLs(acl)
        writer.writeInt32(flags)
        writer.writeInt64(ttl)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> CreateTTLRequest {
        CreateTTLRequest(
            path: try reader.readString("CreateTTLRequest.path"), data: try reader.readBuffer("CreateTTLRequest.data"),
            acl: try reader.readACLs("CreateTTLRequest.acl"), flags: try reader.readInt32("CreateTTLRequest.flags"),
            ttl: try reader.readInt64("CreateTTLRequest.ttl"))
    }
}

/// create's reply: the created path (with the sequence suffix for sequential modes).
public struct CreateResponse: JuteRecord, Hashable {
    public var path: String
    public init(path: String) { self.path = path }
    public func encode(to writer: inout JuteWriter) { writer.writeString(path) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> CreateResponse {
        CreateResponse(path: try reader.readString("CreateResponse.path"))
    }
}

/// create2's, createContainer's and createTTL's reply: the path and the new node's Stat.
public struct Create2Response: JuteRecord, Hashable {
    public var path: String
    public var stat: Stat
    public init(path: String, stat: Stat) {
        self.path = path
        self.stat = stat
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        stat.encode(to: &writer)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> Create2Response {
        Create2Response(path: try reader.readString("Create2Response.path"), stat: try Stat.decode(from: &reader))
    }
}

/// delete (2); version -1 matches any.
public struct DeleteRequest: JuteRecord, Hashable {
    public var path: String
    public var version: Int32
    public init(path: String, version: Int32 = -1) {
        self.path = path
        self.version = version
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeInt32(version)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> DeleteRequest {
        DeleteRequest(path: try reader.readString("DeleteRequest.path"), version: try reader.readInt32("DeleteRequest.version"))
    }
}

/// deleteContainer (20). The server's own container manager sends the path as raw UTF-8 with
/// no length prefix, so this body is encoded the same way.
public struct DeleteContainerRequest: JuteRecord, Hashable {
    public var path: String
    public init(path: String) { self.path = path }
    public func encode(to writer: inout JuteWriter) { writer.writeRaw(path.utf8) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> DeleteContainerRequest {
        DeleteContainerRequest(path: String(decoding: reader.readRemaining(), as: UTF8.self))
    }
}

/// The shape shared by exists (3), getData (4), getChildren (8) and getChildren2 (12): a path and
/// whether to leave a watch.
public struct PathWatchRequest: JuteRecord, Hashable {
    public var path: String
    public var watch: Bool
    public init(path: String, watch: Bool = false) {
        self.path = path
        self.watch = watch
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeBool(watch)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> PathWatchRequest {
        PathWatchRequest(path: try reader.readString("path"), watch: try reader.readBool("watch"))
    }
}

public typealias ExistsRequest = PathWatchRequest
public typealias GetDataRequest = PathWatchRequest
public typealias GetChildrenRequest = PathWatchRequest
public typealias GetChildren2Request = PathWatchRequest

/// The shape shared by requests that carry only a path: getACL (6), sync (9),
/// getAllChildrenNumber (104), getEphemerals (103, a path prefix) and sync's reply.
public struct PathRequest: JuteRecord, Hashable {
    public var path: String
    public init(path: String) { self.path = path }
    public func encode(to writer: inout JuteWriter) { writer.writeString(path) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> PathRequest {
        PathRequest(path: try reader.readString("path"))
    }
}

public typealias GetACLRequest = PathRequest
public typealias SyncRequest = PathRequest
public typealias SyncResponse = PathRequest
public typealias GetAllChildrenNumberRequest = PathRequest
public typealias GetEphemeralsRequest = PathRequest

/// The reply that is only a Stat: exists, setData, setACL.
public struct StatResponse: JuteRecord, Hashable {
    public var stat: Stat
    public init(stat: Stat) { self.stat = stat }
    public func encode(to writer: inout JuteWriter) { stat.encode(to: &writer) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> StatResponse {
        StatResponse(stat: try Stat.decode(from: &reader))
    }
}

public typealias ExistsResponse = StatResponse
public typealias SetDataResponse = StatResponse
public typealias SetACLResponse = StatResponse

/// getData's (and reconfig's and getConfig's) reply.
public struct GetDataResponse: JuteRecord, Hashable {
    public var data: [UInt8]
    public var stat: Stat
    public init(data: [UInt8], stat: Stat) {
        self.data = data
        self.stat = stat
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeBuffer(data)
        stat.encode(to: &writer)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetDataResponse {
        GetDataResponse(data: try reader.readBuffer("GetDataResponse.data"), stat: try Stat.decode(from: &reader))
    }
}

/// setData (5).
public struct SetDataRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]
    public var version: Int32
    public init(path: String, data: [UInt8], version: Int32 = -1) {
        self.path = path
        self.data = data
        self.version = version
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeBuffer(data)
        writer.writeInt32(version)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> SetDataRequest {
        SetDataRequest(
            path: try reader.readString("SetDataRequest.path"), data: try reader.readBuffer("SetDataRequest.data"),
            version: try reader.readInt32("SetDataRequest.version"))
    }
}

/// getACL's reply.
public struct GetACLResponse: JuteRecord, Hashable {
    public var acl: [ACL]
    public var stat: Stat
    public init(acl: [ACL], stat: Stat) {
        self.acl = acl
        self.stat = stat
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeACLs(acl)
        stat.encode(to: &writer)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetACLResponse {
        GetACLResponse(acl: try reader.readACLs("GetACLResponse.acl"), stat: try Stat.decode(from: &reader))
    }
}

/// setACL (7); version is the expected ACL version (aversion), -1 for any.
public struct SetACLRequest: JuteRecord, Hashable {
    public var path: String
    public var acl: [ACL]
    public var version: Int32
    public init(path: String, acl: [ACL], version: Int32 = -1) {
        self.path = path
        self.acl = acl
        self.version = version
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeACLs(acl)
        writer.writeInt32(version)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> SetACLRequest {
        SetACLRequest(
            path: try reader.readString("SetACLRequest.path"), acl: try reader.readACLs("SetACLRequest.acl"),
            version: try reader.readInt32("SetACLRequest.version"))
    }
}

/// getChildren's reply.
public struct GetChildrenResponse: JuteRecord, Hashable {
    public var children: [String]
    public init(children: [String]) { self.children = children }
    public func encode(to writer: inout JuteWriter) { writer.writeStrings(children) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetChildrenResponse {
        GetChildrenResponse(children: try reader.readStrings("GetChildrenResponse.children"))
    }
}

/// getChildren2's reply: the children and the parent's Stat.
public struct GetChildren2Response: JuteRecord, Hashable {
    public var children: [String]
    public var stat: Stat
    public init(children: [String], stat: Stat) {
        self.children = children
        self.stat = stat
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeStrings(children)
        stat.encode(to: &writer)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetChildren2Response {
        GetChildren2Response(children: try reader.readStrings("GetChildren2Response.children"), stat: try Stat.decode(from: &reader))
    }
}

/// check (13), used inside multi: succeeds only if the node's version matches.
public struct CheckVersionRequest: JuteRecord, Hashable {
    public var path: String
    public var version: Int32
    public init(path: String, version: Int32) {
        self.path = path
        self.version = version
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeInt32(version)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> CheckVersionRequest {
        CheckVersionRequest(path: try reader.readString("CheckVersionRequest.path"), version: try reader.readInt32("CheckVersionRequest.version"))
    }
}

/// reconfig (16): incremental (joining/leaving) or bulk (newMembers); curConfigId -1 for any.
/// The reply is a GetDataResponse holding the new configuration.
public struct ReconfigRequest: JuteRecord, Hashable {
    public var joiningServers: String
    public var leavingServers: String
    public var newMembers: String
    public var curConfigId: Int64
    public init(joiningServers: String = "", leavingServers: String = "", newMembers: String = "", curConfigId: Int64 = -1) {
        self.joiningServers = joiningServers
        self.leavingServers = leavingServers
        self.newMembers = newMembers
        self.curConfigId = curConfigId
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(joiningServers)
        writer.writeString(leavingServers)
        writer.writeString(newMembers)
        writer.writeInt64(curConfigId)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ReconfigRequest {
        ReconfigRequest(
            joiningServers: try reader.readString("ReconfigRequest.joiningServers"),
            leavingServers: try reader.readString("ReconfigRequest.leavingServers"),
            newMembers: try reader.readString("ReconfigRequest.newMembers"),
            curConfigId: try reader.readInt64("ReconfigRequest.curConfigId"))
    }
}

/// checkWatches (17) and removeWatches (18): a path and a `WatcherType` raw value.
public struct WatchesRequest: JuteRecord, Hashable {
    public var path: String
    public var type: Int32
    public init(path: String, type: WatcherType) {
        self.path = path
        self.type = type.rawValue
    }
    public init(path: String, rawType: Int32) {
        self.path = path
        self.type = rawType
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeInt32(type)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> WatchesRequest {
        WatchesRequest(path: try reader.readString("WatchesRequest.path"), rawType: try reader.readInt32("WatchesRequest.type"))
    }
}

public typealias CheckWatchesRequest = WatchesRequest
public typealias RemoveWatchesRequest = WatchesRequest

/// getEphemerals' reply: the session's ephemeral node paths under the prefix.
public struct GetEphemeralsResponse: JuteRecord, Hashable {
    public var ephemerals: [String]
    public init(ephemerals: [String]) { self.ephemerals = ephemerals }
    public func encode(to writer: inout JuteWriter) { writer.writeStrings(ephemerals) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetEphemeralsResponse {
        GetEphemeralsResponse(ephemerals: try reader.readStrings("GetEphemeralsResponse.ephemerals"))
    }
}

/// getAllChildrenNumber's reply: the number of all descendants.
public struct GetAllChildrenNumberResponse: JuteRecord, Hashable {
    public var totalNumber: Int32
    public init(totalNumber: Int32) { self.totalNumber = totalNumber }
    public func encode(to writer: inout JuteWriter) { writer.writeInt32(totalNumber) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetAllChildrenNumberResponse {
        GetAllChildrenNumberResponse(totalNumber: try reader.readInt32("GetAllChildrenNumberResponse.totalNumber"))
    }
}

/// addWatch (106): a persistent or persistent-recursive watch on a path.
public struct AddWatchRequest: JuteRecord, Hashable {
    public var path: String
    /// An `AddWatchMode` raw value.
    public var mode: Int32
    public init(path: String, mode: AddWatchMode) {
        self.path = path
        self.mode = mode.rawValue
    }
    public init(path: String, rawMode: Int32) {
        self.path = path
        self.mode = rawMode
    }
    public func encode(to writer: inout JuteWriter) {
        writer.writeString(path)
        writer.writeInt32(mode)
    }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> AddWatchRequest {
        AddWatchRequest(path: try reader.readString("AddWatchRequest.path"), rawMode: try reader.readInt32("AddWatchRequest.mode"))
    }
}

/// whoAmI's reply: every identity the session has authenticated as.
public struct WhoAmIResponse: JuteRecord, Hashable {
    public var clientInfo: [ClientInfo]
    public init(clientInfo: [ClientInfo]) { self.clientInfo = clientInfo }
    public func encode(to writer: inout JuteWriter) { writer.writeVector(clientInfo) { $1.encode(to: &$0) } }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> WhoAmIResponse {
        WhoAmIResponse(clientInfo: try reader.readVector("WhoAmIResponse.clientInfo", minimumElementSize: 8) { (r: inout JuteReader) throws(ProtocolError) in
            try ClientInfo.decode(from: &r)
        })
    }
}
