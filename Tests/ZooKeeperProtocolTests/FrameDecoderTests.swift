import Testing
import ZooKeeperProtocol

@Suite struct FrameDecoderTests {
    func frame(_ payload: [UInt8]) -> [UInt8] { Golden.start.int(Int32(payload.count)).raw(payload).bytes }

    @Test func severalFramesInOneRead() throws {
        var decoder = FrameDecoder()
        decoder.append(frame([1]) + frame([]) + frame([2, 3]))
        #expect(try decoder.nextFrame() == [1])
        #expect(try decoder.nextFrame() == [])
        #expect(try decoder.nextFrame() == [2, 3])
        #expect(try decoder.nextFrame() == nil)
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func frameSplitAtEveryByte() throws {
        let payload = [UInt8](0..<200)
        let stream = frame(payload) + frame([9])
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        for byte in stream {
            decoder.append([byte])
            while let f = try decoder.nextFrame() { frames.append(f) }
        }
        #expect(frames == [payload, [9]])
    }

    @Test func splitsAtRandomPoints() throws {
        var rng = SplitMix64(seed: 42)
        let payloads = (0..<300).map { i in [UInt8]((0..<Int(rng.next() % 300)).map { UInt8(truncatingIfNeeded: $0 &+ i) }) }
        let stream = payloads.flatMap(frame)
        var decoder = FrameDecoder()
        var frames: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let chunk = min(Int(rng.next() % 700) + 1, stream.count - offset)
            decoder.append(stream[offset..<offset + chunk])
            offset += chunk
            while let f = try decoder.nextFrame() { frames.append(f) }
        }
        #expect(frames == payloads)
    }

    @Test func negativeLengthIsRefused() {
        var decoder = FrameDecoder()
        decoder.append([0xFF, 0xFF, 0xFF, 0xF0, 0])
        #expect(throws: ProtocolError.invalidFrameLength(length: -16, limit: FrameDecoder.defaultMaxFrameLength)) {
            try decoder.nextFrame()
        }
    }

    @Test func overLimitLengthIsRefusedBeforeBuffering() throws {
        var decoder = FrameDecoder(maxFrameLength: 1024)
        decoder.append(Golden.start.int(1025).bytes)
        #expect(throws: ProtocolError.invalidFrameLength(length: 1025, limit: 1024)) { try decoder.nextFrame() }
        var ok = FrameDecoder(maxFrameLength: 1024)
        ok.append(Golden.start.int(1024).bytes)
        #expect(try ok.nextFrame() == nil)
    }

    @Test func defaultLimitCoversJuteMaxBuffer() {
        #expect(FrameDecoder.defaultMaxFrameLength > 0xFFFFF)
    }
}

/// A small deterministic generator, so that random tests replay exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
