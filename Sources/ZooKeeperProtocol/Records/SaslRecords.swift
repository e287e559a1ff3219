// The SASL tunnel (opcode 102): one token each way per round, as ZooKeeper's Jute defines them.

/// A client's SASL token (empty for DIGEST-MD5's first round, which waits for the challenge).
public struct GetSASLRequest: JuteRecord, Hashable {
    public var token: [UInt8]
    public init(token: [UInt8]) { self.token = token }
    public func encode(to writer: inout JuteWriter) { writer.writeBuffer(token) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> GetSASLRequest {
        GetSASLRequest(token: try reader.readBuffer("GetSASLRequest.token"))
    }
}

/// The server's SASL token (a challenge, or the final rspauth; absent when the server has none).
public struct SetSASLResponse: JuteRecord, Hashable {
    public var token: [UInt8]?
    public init(token: [UInt8]?) { self.token = token }
    public func encode(to writer: inout JuteWriter) { writer.writeBuffer(token) }
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> SetSASLResponse {
        SetSASLResponse(token: try reader.readOptionalBuffer("SetSASLResponse.token"))
    }
}
