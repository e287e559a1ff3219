/// Reads Jute's binary encoding from a byte array, checking every length against what remains
/// before it allocates anything.
public struct JuteReader: Sendable {
    @usableFromInline let bytes: [UInt8]
    @usableFromInline let end: Int
    public private(set) var offset: Int

    /// Reads `bytes[range]` (the whole array by default).
    public init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        let range = range?.clamped(to: 0..<bytes.count) ?? 0..<bytes.count
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset >= end }

    @inline(__always)
    mutating func require(_ count: Int, _ field: String) throws(ProtocolError) {
        if end - offset < count {
            throw .truncated(field: field, needed: count, remaining: end - offset)
        }
    }

    public mutating func readInt32(_ field: String = "int") throws(ProtocolError) -> Int32 {
        try require(4, field)
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return Int32(bitPattern: v)
    }

    public mutating func readInt64(_ field: String = "long") throws(ProtocolError) -> Int64 {
        try require(8, field)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return Int64(bitPattern: v)
    }

    /// Jute booleans are one byte; like Java's `readBoolean`, any non-zero byte is true.
    public mutating func readBool(_ field: String = "boolean") throws(ProtocolError) -> Bool {
        try require(1, field)
        defer { offset += 1 }
        return bytes[offset] != 0
    }

    /// A `buffer`; Jute's null (length -1) reads as `nil`.
    public mutating func readOptionalBuffer(_ field: String = "buffer") throws(ProtocolError) -> [UInt8]? {
        guard let count = try readLength(field) else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A `buffer` where null and empty mean the same to the caller.
    public mutating func readBuffer(_ field: String = "buffer") throws(ProtocolError) -> [UInt8] {
        try readOptionalBuffer(field) ?? []
    }

    /// A `ustring`; null reads as "". Invalid UTF-8 is repaired rather than rejected, as the
    /// server only ever writes what Java encoded.
    public mutating func readString(_ field: String = "ustring") throws(ProtocolError) -> String {
        guard let count = try readLength(field) else { return "" }
        defer { offset += count }
        return String(decoding: bytes[offset..<offset + count], as: UTF8.self)
    }

    /// A vector; `minimumElementSize` bounds the count by the bytes left, so a lying count field
    /// cannot make the reader reserve memory. Null reads as empty.
    public mutating func readVector<Element>(
        _ field: String,
        minimumElementSize: Int,
        _ readElement: (inout JuteReader) throws(ProtocolError) -> Element
    ) throws(ProtocolError) -> [Element] {
        let count = try readInt32(field)
        if count == -1 { return [] }
        if count < 0 { throw .negativeLength(field: field, value: count) }
        let count64 = Int(count)
        if count64 > remaining / max(minimumElementSize, 1) {
            throw .lengthExceedsInput(field: field, length: count64 * minimumElementSize, remaining: remaining)
        }
        var result: [Element] = []
        result.reserveCapacity(count64)
        for _ in 0..<count64 { result.append(try readElement(&self)) }
        return result
    }

    public mutating func readStrings(_ field: String) throws(ProtocolError) -> [String] {
        try readVector(field, minimumElementSize: 4) { (r: inout JuteReader) throws(ProtocolError) in try r.readString(field) }
    }

    public mutating func read<Record: JuteDecodable>(_: Record.Type = Record.self) throws(ProtocolError) -> Record {
        try Record.decode(from: &self)
    }

    /// Everything left, unprefixed.
    public mutating func readRemaining() -> [UInt8] {
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    /// A length prefix: nil for -1, else a count checked against what remains.
    private mutating func readLength(_ field: String) throws(ProtocolError) -> Int? {
        let length = try readInt32(field)
        if length == -1 { return nil }
        if length < 0 { throw .negativeLength(field: field, value: length) }
        if Int(length) > remaining {
            throw .lengthExceedsInput(field: field, length: Int(length), remaining: remaining)
        }
        return Int(length)
    }
}
