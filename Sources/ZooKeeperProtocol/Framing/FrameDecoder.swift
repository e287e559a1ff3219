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
        guard let range = try nextFrameRange() else { return nil }
        return Array(buffer[range])
    }

    /// `nextFrame` as a reader over the decoder's own buffer: no copy of the frame (drop the
    /// reader before appending again, or the append copies the buffer).
    public mutating func nextFrameReader() throws(ProtocolError) -> JuteReader? {
        guard let range = try nextFrameRange() else { return nil }
        return JuteReader(buffer, range: range)
    }

    private mutating func nextFrameRange() throws(ProtocolError) -> Range<Int>? {
        guard bufferedByteCount >= 4 else { return nil }
        var length: UInt32 = 0
        for i in 0..<4 { length = length << 8 | UInt32(buffer[readIndex + i]) }
        let signed = Int32(bitPattern: length)
        guard signed >= 0, Int(signed) <= maxFrameLength else {
            throw .invalidFrameLength(length: signed, limit: maxFrameLength)
        }
        let total = 4 + Int(signed)
        guard bufferedByteCount >= total else { return nil }
        defer { readIndex += total }
        // The buffer is emptied at the next append, when no reader of this frame holds it.
        return readIndex + 4..<readIndex + total
    }

    /// Drops consumed bytes once they outweigh the rest, keeping appends amortised O(n).
    private mutating func compactIfWorthIt() {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > 0 && readIndex >= buffer.count - readIndex {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }
}
