/// A value with a Jute encoding.
public protocol JuteEncodable: Sendable {
    func encode(to writer: inout JuteWriter)
}

/// A value that can be read back from its Jute encoding.
public protocol JuteDecodable: Sendable {
    static func decode(from reader: inout JuteReader) throws(ProtocolError) -> Self
}

public typealias JuteRecord = JuteEncodable & JuteDecodable

extension JuteEncodable {
    /// This record's bytes alone, without a frame or header.
    public func encoded() -> [UInt8] {
        var writer = JuteWriter()
        encode(to: &writer)
        return writer.bytes
    }
}

extension JuteDecodable {
    /// Decodes one record that must fill `bytes` exactly.
    public static func decode(exactly bytes: [UInt8]) throws(ProtocolError) -> Self {
        try decode(exactly: JuteReader(bytes))
    }

    /// Decodes one record that must fill what `reader` has left exactly.
    public static func decode(exactly reader: JuteReader) throws(ProtocolError) -> Self {
        var reader = reader
        let value = try decode(from: &reader)
        if !reader.isAtEnd {
            throw .invalidValue(field: "\(Self.self) trailing bytes", value: Int64(reader.remaining))
        }
        return value
    }
}

/// A request or response with no body (ping, closeSession, delete's reply, ...).
public struct EmptyRecord: JuteRecord, Equatable {
    public init() {}
    public func encode(to writer: inout JuteWriter) {}
    public static func decode(from reader: inout JuteReader) throws(ProtocolError) -> EmptyRecord { EmptyRecord() }
}
