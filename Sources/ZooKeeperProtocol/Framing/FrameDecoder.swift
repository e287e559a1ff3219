/// Splits a TCP byte stream into frames: a 4-byte big-endian length, then that many bytes.
/// Handles frames split across reads and several frames in one read; refuses a negative or
/// over-limit length before buffering it.
public struct FrameDecoder: Sendable {
    /// ZooKeeper's default jute.maxbuffer (0xfffff) plus room for headers and a Stat.
    public static let defaultMaxFrameLength = 0xFFFFF + 64 * 1024

    public let maxFrameLength: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0

    public init(maxFrameLength: Int = FrameDecoder.defaultMaxFrameLength) {
        self.maxFrameLength = maxFrameLength
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compactIfWorthIt()
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame's payload, or nil until more bytes arrive. After an error the
    /// stream is unusable: the connection must be dropped.
    public mutating func nextFrame() throws(ProtocolError) -> [UInt8]? {
        guard bufferedByteCount >= 4 else { return nil }
        var length: UInt32 = 0
        for i in 0..<4 { length = length << 8 | UInt32(buffer[readIndex + i]) }
        let signed = Int32(bitPattern: length)
        guard signed >= 0, Int(signed) <= maxFrameLength else {
            throw .invalidFrameLength(length: signed, limit: maxFrameLength)
        }
        let total = 4 + Int(signed)
        guard bufferedByteCount >= total else { return nil }
        let frame = Array(buffer[readIndex + 4..<readIndex + total])
        readIndex += total
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return frame
    }

    /// Drops consumed bytes once they outweigh the rest, keeping appends amortised O(n).
    private mutating func compactIfWorthIt() {
        if readIndex > 0 && readIndex >= buffer.count - readIndex {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
