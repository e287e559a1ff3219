import Foundation
import Testing
import ZooKeeperProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A quick seeded smoke test of the fuzz targets (ZooKeeperFuzzTargets), which libFuzzer runs at
/// length in scripts/fuzz.sh: random and mutated frames through every record decoder and the
/// stream framer, and mutated scripts through the session machine. A trap fails the run; so does
/// a decoded value that does not survive re-encoding, or memory growth (a decoder allocating from
/// an unchecked length field).
@Suite struct DecoderFuzzTests {
    static let decoders = RecordFuzzing.decoders
    static let seeds = FuzzSeeds.records

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        let edits = Int(rng.next() % 4) + 1
        for _ in 0..<edits {
            let choice = rng.next() % 6
            let position = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch choice {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: rng.next())
            case 1 where !bytes.isEmpty: bytes[position] ^= 1 << UInt8(rng.next() % 8)
            case 2: bytes = Array(bytes.prefix(position))
            case 3: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: position)
            case 4 where bytes.count >= position + 4:
                // Lengths and counts: the values most likely to trip a careless decoder.
                let extremes: [[UInt8]] = [[0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0], [0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFE]]
                bytes.replaceSubrange(position..<position + 4, with: extremes[Int(rng.next() % 5)])
            default: bytes += bytes.prefix(Int(rng.next() % 16))
            }
        }
        return bytes
    }

    static func randomFrame(_ rng: inout SplitMix64) -> [UInt8] {
        let count = Int(rng.next() % 96)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Seconds in a debug build; coverage-guided depth is libFuzzer's job (scripts/fuzz.sh).
    static var iterations: Int {
        if let text = getenv("ZK_FUZZ_ITERATIONS"), let n = Int(String(cString: text)) { return n }
        return 20_000
    }

    static func maxResidentKiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }

    @Test func everyDecoderSurvivesRandomAndMutatedFrames() async {
        // On a thread of its own: the loop runs for minutes in a debug build, and on the
        // cooperative pool (two threads here) it held one of them the whole run, so that other
        // suites' tasks waited seconds for a turn and their timings failed.
        let (growthKiB, accepted) = await withCheckedContinuation { (done: CheckedContinuation<(Int, [Int]), Never>) in
            Thread { done.resume(returning: Self.runLoop()) }.start()
        }
        #expect(growthKiB < 64 * 1024, "peak memory grew by \(growthKiB) KiB")
        // Mutations of valid seeds must reach past the first field, or the loop tests little.
        for (index, decoder) in Self.decoders.enumerated() where decoder.name.hasPrefix("Multi") || decoder.name == "GetDataResponse" {
            #expect(accepted[index] > 0, "\(decoder.name) never accepted a mutated frame")
        }
    }

    /// Feeds every decoder; answers the peak memory's growth and how often each accepted.
    static func runLoop() -> (growthKiB: Int, accepted: [Int]) {
        var rng = SplitMix64(seed: 0x5EED)
        let rssBefore = Self.maxResidentKiB()
        var accepted = [Int](repeating: 0, count: Self.decoders.count)
        var frameDecoder = FrameDecoder(maxFrameLength: 4096)
        for i in 0..<Self.iterations {
            let frame = i % 2 == 0
                ? Self.randomFrame(&rng)
                : Self.mutate(Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))], &rng)
            for (index, decoder) in Self.decoders.enumerated() {
                switch decoder.check(frame) {
                case .accepted: accepted[index] += 1
                case .rejected: break
                case let .roundTripFailed(message): Issue.record(Comment(rawValue: message))
                }
            }
            // The stream decoder sees the same bytes as a stream, and restarts after an error.
            frameDecoder.append(frame)
            do {
                while try frameDecoder.nextFrame() != nil {}
            } catch {
                frameDecoder = FrameDecoder(maxFrameLength: 4096)
            }
        }
        return (Self.maxResidentKiB() - rssBefore, accepted)
    }

    /// libFuzzer's seeds and mutations of them through the frame and session targets (they
    /// trap on a broken invariant), so a target that fails on its own corpus fails here first.
    @Test func theFuzzTargetsRunTheirCorpusAndMutations() {
        var rng = SplitMix64(seed: 0xF022)
        for (run, corpus) in [(FrameFuzzing.run, FrameFuzzing.corpus), (SessionFuzzing.run, SessionFuzzing.corpus), (RecordFuzzing.run, RecordFuzzing.corpus)] {
            for seed in corpus { run(seed) }
            for _ in 0..<Self.iterations / 10 { run(Self.mutate(corpus[Int(rng.next() % UInt64(corpus.count))], &rng)) }
        }
    }
}
