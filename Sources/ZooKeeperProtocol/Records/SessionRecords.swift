// Records that carry the session itself: handshake, headers, auth, watch re-registration, events.

/// The first message of a connection: create a session or resume one.
public struct ConnectRequest: JuteRecord, Hashable {
    public var protocolVersion: Int32
    /// Highest zxid this client has seen; a server that is behind it refuses the connection.
    public var lastZxidSeen: Int64
    /// Requested session timeout in ms; the server clamps it to its min/max.
    public var timeOut: Int32
    /// 0 for a new session, else the session to resume.
    public var sessionId: Int64
    public var passwd: [UInt8]
    /// The trailing readOnly byte; nil omits it (a pre-3.4 client), which also tells the server
    /// not to append one to its response.
    public var readOnly: Bool?

    public init(
        protocolVersion: Int32 = 0, lastZxidSeen: Int64 = 0, timeOut: Int32, sessionId: Int64 = 0,
        passwd: [UInt8] = [UInt8](repeating: 0, count: 16), readOnly: Bool? = false
    ) {
        self.protocolVersion = protocolVersion
        self.lastZxidSeen = lastZxidSeen
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(protocolVersion)
        writer.writeInt64(lastZxidSeen)
        writer.writeInt32(timeOut)
        writer.writeInt64(sessionId)
        writer.writeBuffer(passwd)
        if let readOnly { writer.writeBool(readOnly) }
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ConnectRequest {
        let version = try reader.readInt32("ConnectRequest.protocolVersion")
        let zxid = try reader.readInt64("ConnectRequest.lastZxidSeen")
        let timeOut = try reader.readInt32("ConnectRequest.timeOut")
        let session = try reader.readInt64("ConnectRequest.sessionId")
        let passwd = try reader.readBuffer("ConnectRequest.passwd")
        let readOnly = reader.isAtEnd ? nil : try reader.readBool("ConnectRequest.readOnly")
        return ConnectRequest(
            protocolVersion: version, lastZxidSeen: zxid, timeOut: timeOut, sessionId: session,
            passwd: passwd, readOnly: readOnly)
    }
}

/// The server's answer to a ConnectRequest. A timeOut of 0 (with session id 0) means the session
/// asked for has expired.
public struct ConnectResponse: JuteRecord, Hashable {
    public var protocolVersion: Int32
    /// Negotiated session timeout in ms.
    public var timeOut: Int32
    public var sessionId: Int64
    public var passwd: [UInt8]
    /// Present when the request carried a readOnly byte: whether this server is read-only.
    public var readOnly: Bool?

    public init(protocolVersion: Int32 = 0, timeOut: Int32, sessionId: Int64, passwd: [UInt8], readOnly: Bool? = false) {
        self.protocolVersion = protocolVersion
        self.timeOut = timeOut
        self.sessionId = sessionId
        self.passwd = passwd
        self.readOnly = readOnly
    }

    /// Whether the server refused to resume the session because it expired.
    public var isSessionExpired: Bool { timeOut <= 0 }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(protocolVersion)
        writer.writeInt32(timeOut)
        writer.writeInt64(sessionId)
        writer.writeBuffer(passwd)
        if let readOnly { writer.writeBool(readOnly) }
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ConnectResponse {
        let version = try reader.readInt32("ConnectResponse.protocolVersion")
        let timeOut = try reader.readInt32("ConnectResponse.timeOut")
        let session = try reader.readInt64("ConnectResponse.sessionId")
        let passwd = try reader.readBuffer("ConnectResponse.passwd")
        let readOnly = reader.isAtEnd ? nil : try reader.readBool("ConnectResponse.readOnly")
        return ConnectResponse(protocolVersion: version, timeOut: timeOut, sessionId: session, passwd: passwd, readOnly: readOnly)
    }
}

/// Precedes every request after the handshake.
public struct RequestHeader: JuteRecord, Hashable {
    public var xid: Int32
    /// The opcode's raw value.
    public var type: Int32

    public init(xid: Int32, type: Int32) {
        self.xid = xid
        self.type = type
    }

    public init(xid: Int32, opCode: OpCode) {
        self.init(xid: xid, type: opCode.rawValue)
    }

    public static let encodedSize = 8

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(xid)
        writer.writeInt32(type)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> RequestHeader {
        RequestHeader(xid: try reader.readInt32("RequestHeader.xid"), type: try reader.readInt32("RequestHeader.type"))
    }
}

/// Precedes every reply and event after the handshake.
public struct ReplyHeader: JuteRecord, Hashable {
    /// The request's xid, or a reserved one (see `Xid`).
    public var xid: Int32
    /// The zxid of the server's state when it replied (-1 on events).
    public var zxid: Int64
    /// 0, or a `ErrorCode` raw value.
    public var err: Int32

    public init(xid: Int32, zxid: Int64, err: Int32) {
        self.xid = xid
        self.zxid = zxid
        self.err = err
    }

    public static let encodedSize = 16
    public var error: ErrorCode { ErrorCode(rawValue: err) }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(xid)
        writer.writeInt64(zxid)
        writer.writeInt32(err)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ReplyHeader {
        ReplyHeader(
            xid: try reader.readInt32("ReplyHeader.xid"), zxid: try reader.readInt64("ReplyHeader.zxid"),
            err: try reader.readInt32("ReplyHeader.err"))
    }
}

/// addAuth's request (xid -4, opcode auth).
public struct AuthPacket: JuteRecord, Hashable {
    /// Always 0 in practice.
    public var type: Int32
    public var scheme: String
    public var auth: [UInt8]

    public init(type: Int32 = 0, scheme: String, auth: [UInt8]) {
        self.type = type
        self.scheme = scheme
        self.auth = auth
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(type)
        writer.writeString(scheme)
        writer.writeBuffer(auth)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> AuthPacket {
        AuthPacket(
            type: try reader.readInt32("AuthPacket.type"), scheme: try reader.readString("AuthPacket.scheme"),
            auth: try reader.readBuffer("AuthPacket.auth"))
    }
}

/// Re-registers one-shot watches after a reconnect (xid -8, opcode setWatches).
public struct SetWatches: JuteRecord, Hashable {
    /// Events for changes after this zxid are delivered at once.
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]

    public init(relativeZxid: Int64, dataWatches: [String] = [], existWatches: [String] = [], childWatches: [String] = []) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt64(relativeZxid)
        writer.writeStrings(dataWatches)
        writer.writeStrings(existWatches)
        writer.writeStrings(childWatches)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> SetWatches {
        SetWatches(
            relativeZxid: try reader.readInt64("SetWatches.relativeZxid"),
            dataWatches: try reader.readStrings("SetWatches.dataWatches"),
            existWatches: try reader.readStrings("SetWatches.existWatches"),
            childWatches: try reader.readStrings("SetWatches.childWatches"))
    }
}

/// SetWatches plus persistent and persistent-recursive watches (opcode setWatches2, 3.6+).
public struct SetWatches2: JuteRecord, Hashable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]

    public init(
        relativeZxid: Int64, dataWatches: [String] = [], existWatches: [String] = [], childWatches: [String] = [],
        persistentWatches: [String] = [], persistentRecursiveWatches: [String] = []
    ) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt64(relativeZxid)
        writer.writeStrings(dataWatches)
        writer.writeStrings(existWatches)
        writer.writeStrings(childWatches)
        writer.writeStrings(persistentWatches)
        writer.writeStrings(persistentRecursiveWatches)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> SetWatches2 {
        SetWatches2(
            relativeZxid: try reader.readInt64("SetWatches2.relativeZxid"),
            dataWatches: try reader.readStrings("SetWatches2.dataWatches"),
            existWatches: try reader.readStrings("SetWatches2.existWatches"),
            childWatches: try reader.readStrings("SetWatches2.childWatches"),
            persistentWatches: try reader.readStrings("SetWatches2.persistentWatches"),
            persistentRecursiveWatches: try reader.readStrings("SetWatches2.persistentRecursiveWatches"))
    }
}

/// A watch notification (reply xid -1).
public struct WatcherEvent: JuteRecord, Hashable {
    public var type: EventType
    public var state: KeeperState
    public var path: String

    public init(type: EventType, state: KeeperState, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }

    public func encode(to writer: inout JuteWriter) {
        writer.writeInt32(type.rawValue)
        writer.writeInt32(state.rawValue)
        writer.writeString(path)
    }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> WatcherEvent {
        WatcherEvent(
            type: EventType(rawValue: try reader.readInt32("WatcherEvent.type")),
            state: KeeperState(rawValue: try reader.readInt32("WatcherEvent.state")),
            path: try reader.readString("WatcherEvent.path"))
    }
}

/// An error result inside a multi response, and the body of addWatch's reply.
public struct ErrorResponse: JuteRecord, Hashable {
    public var err: Int32
    public init(err: Int32) { self.err = err }
    public var error: ErrorCode { ErrorCode(rawValue: err) }

    public func encode(to writer: inout JuteWriter) { writer.writeInt32(err) }

    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> ErrorResponse {
        ErrorResponse(err: try reader.readInt32("ErrorResponse.err"))
    }
}
