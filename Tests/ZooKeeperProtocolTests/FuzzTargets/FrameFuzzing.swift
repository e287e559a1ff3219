import ZooKeeperProtocol

/// The stream framer fed arbitrary bytes in arbitrary pieces: every byte appended is either in
/// a frame returned (with its 4-byte length), still buffered, or behind an error; no frame is
/// over the limit.
public enum FrameFuzzing {
    /// Small enough that over-limit lengths are within reach of small inputs.
    public static let maxFrameLength = 4096

    /// The first byte sets the read sizes (1 to 64 bytes, as TCP may cut a stream anywhere);
    /// the rest is the stream.
    public static func run(_ input: [UInt8]) {
        guard let shape = input.first else { return }
        let stream = input.dropFirst()
        var decoder = FrameDecoder(maxFrameLength: maxFrameLength)
        var appended = 0
        var consumed = 0
        var offset = stream.startIndex
        var piece = Int(shape % 64) + 1
        while offset < stream.endIndex {
            let end = min(offset + piece, stream.endIndex)
            let chunk = stream[offset..<end]
            // Both entry points: the copying one and the one drivers use on a socket buffer.
            if piece % 2 == 0 {
                decoder.append(chunk)
            } else {
                Array(chunk).withUnsafeBytes { decoder.append($0) }
            }
            appended += chunk.count
            offset = end
            piece = (piece * 7 + Int(shape)) % 64 + 1
            do {
                while let frame = try decoder.nextFrame() {
                    precondition(frame.count <= maxFrameLength, "frame of \(frame.count) bytes over the limit")
                    consumed += 4 + frame.count
                }
            } catch {
                return  // the stream is unusable from here: a driver drops the connection
            }
            precondition(consumed + decoder.bufferedByteCount == appended, "bytes lost: \(appended) in, \(consumed) framed, \(decoder.bufferedByteCount) buffered")
        }
    }

    /// Seeds: the seed records framed back to back, cut in a few ways.
    public static var corpus: [[UInt8]] {
        let frames = FuzzSeeds.records.map { record in FrameEncoder.frame { $0.writeRaw(record) } }
        let stream = frames.flatMap { $0 }
        let cuts: [UInt8] = [0, 1, 7, 63]
        return cuts.map { [$0] + stream } + frames.map { [3] + $0 }
    }
}
