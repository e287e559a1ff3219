/// Appends Jute's binary encoding: big-endian integers, one-byte booleans, length-prefixed
/// buffers and strings, count-prefixed vectors.
public struct JuteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeInt32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    public mutating func writeInt64(_ value: Int64) {
        writeInt32(Int32(truncatingIfNeeded: value >> 32))
        writeInt32(Int32(truncatingIfNeeded: value))
    }

    public mutating func writeBool(_ value: Bool) {
        bytes.append(value ? 1 : 0)
    }

    /// A `buffer` field; `nil` is written as length -1 (Jute's null).
    public mutating func writeBuffer(_ value: [UInt8]?) {
        guard let value else { return writeInt32(-1) }
        writeInt32(Int32(clamping: value.count))
        bytes.append(contentsOf: value)
    }

    /// A `ustring` field, UTF-8 encoded.
    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeInt32(Int32(clamping: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func writeVector<Element>(_ values: [Element], _ writeElement: (inout JuteWriter, Element) -> Void) {
        writeInt32(Int32(clamping: values.count))
        for value in values { writeElement(&self, value) }
    }

    public mutating func writeStrings(_ values: [String]) {
        writeVector(values) { $0.writeString($1) }
    }

    public mutating func write<Record: JuteEncodable>(_ record: Record) {
        record.encode(to: &self)
    }

    /// Appends raw bytes with no prefix.
    public mutating func writeRaw(_ raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// Overwrites four bytes at `offset` with a big-endian value (used to patch a frame length).
    mutating func patchInt32(_ value: Int32, at offset: Int) {
        let v = UInt32(bitPattern: value)
        bytes[offset] = UInt8(truncatingIfNeeded: v >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: v)
    }
}
