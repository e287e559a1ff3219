import Foundation
import Testing
import ZooKeeperProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A seeded random loop (not libFuzzer): at least one million random and mutated frames go
/// through every decoder. A trap fails the run; so does a decoded value that does not survive
/// re-encoding, or memory growth (a decoder allocating from an unchecked length field).
@Suite struct DecoderFuzzTests {
    /// Decoders under test: each decodes a frame and, when that succeeds, checks that the value
    /// re-encodes to something that decodes to the same value.
    static let decoders: [(String, @Sendable ([UInt8]) -> Bool)] = [
        entry(ConnectRequest.self), entry(ConnectResponse.self), entry(RequestHeader.self), entry(ReplyHeader.self),
        entry(WatcherEvent.self), entry(Stat.self), entry(Id.self), entry(ACL.self), entry(AuthPacket.self),
        entry(SetWatches.self), entry(SetWatches2.self), entry(MultiHeader.self), entry(CreateRequest.self),
        entry(CreateTTLRequest.self), entry(CreateResponse.self), entry(Create2Response.self), entry(DeleteRequest.self),
        entry(PathWatchRequest.self), entry(PathRequest.self), entry(StatResponse.self), entry(GetDataResponse.self),
        entry(SetDataRequest.self), entry(GetACLResponse.self), entry(SetACLRequest.self), entry(GetChildrenResponse.self),
        entry(GetChildren2Response.self), entry(CheckVersionRequest.self), entry(ReconfigRequest.self),
        entry(WatchesRequest.self), entry(GetEphemeralsResponse.self), entry(GetAllChildrenNumberResponse.self),
        entry(AddWatchRequest.self), entry(WhoAmIResponse.self), entry(ClientInfo.self), entry(ErrorResponse.self),
        entry(MultiOperation.self), entry(MultiRequest.self), entry(MultiResult.self), entry(MultiResponse.self),
        entry(DeleteContainerRequest.self),
        // A whole reply as a client reads it: header, then the body its opcode implies.
        ("reply+body", { frame in
            var reader = JuteReader(frame)
            guard (try? ReplyHeader.decode(from: &reader)) != nil else { return false }
            return (try? MultiResponse.decode(from: &reader)) != nil
        }),
    ]

    static func entry<R: JuteRecord & Equatable>(_: R.Type) -> (String, @Sendable ([UInt8]) -> Bool) {
        ("\(R.self)", { frame in
            var reader = JuteReader(frame)
            guard let value = try? R.decode(from: &reader) else { return false }
            var again = JuteReader(value.encoded())
            let roundTrip = try? R.decode(from: &again)
            if roundTrip != value { Issue.record("\(R.self) did not survive re-encoding: \(frame)") }
            return true
        })
    }

    /// Valid encodings to mutate, so that mutations reach deep into the decoders.
    static let seeds: [[UInt8]] = {
        let stat = Stat(czxid: 1, mzxid: 2, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 8, dataLength: 9, numChildren: 10, pzxid: 11)
        let acl = [ACL(permissions: .all, id: Ids.anyone), ACL(permissions: .read, id: Ids.digest(user: "u", password: "p"))]
        let records: [any JuteEncodable] = [
            ConnectRequest(timeOut: 30000, passwd: [UInt8](repeating: 7, count: 16)),
            ConnectResponse(timeOut: 30000, sessionId: 99, passwd: [UInt8](repeating: 7, count: 16)),
            ReplyHeader(xid: -1, zxid: -1, err: 0), stat,
            WatcherEvent(type: .nodeCreated, state: .syncConnected, path: "/a/b"),
            SetWatches2(relativeZxid: 4, dataWatches: ["/a"], existWatches: ["/b", "/c"], childWatches: ["/d"], persistentWatches: ["/e"], persistentRecursiveWatches: ["/f"]),
            CreateRequest(path: "/x", data: [1, 2, 3], acl: acl, mode: .ephemeralSequential),
            CreateTTLRequest(path: "/t", data: [], acl: acl, flags: 5, ttl: 1000),
            GetDataResponse(data: [1, 2, 3, 4], stat: stat), GetACLResponse(acl: acl, stat: stat),
            GetChildren2Response(children: ["a", "bb", "ccc"], stat: stat),
            WhoAmIResponse(clientInfo: [ClientInfo(authScheme: "ip", user: "127.0.0.1")]),
            MultiRequest(operations: [
                .create(CreateRequest(path: "/m", data: [1], acl: acl, mode: .persistent)), .check(CheckVersionRequest(path: "/m", version: 1)),
                .setData(SetDataRequest(path: "/m", data: [2], version: -1)), .delete(DeleteRequest(path: "/m")),
                .getData(GetDataRequest(path: "/m")), .getChildren(GetChildrenRequest(path: "/")),
            ]),
            MultiResponse(results: [
                .create(path: "/a"), .create2(path: "/b", stat: stat), .delete, .setData(stat: stat), .check,
                .getChildren(children: ["x"]), .getData(data: [1], stat: stat), .error(.noNode),
            ]),
        ]
        var seeds = records.map { $0.encoded() }
        seeds.append(ReplyHeader(xid: 5, zxid: 6, err: 0).encoded() + seeds.last!)
        return seeds
    }()

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

    static var iterations: Int {
        if let text = getenv("ZK_FUZZ_ITERATIONS"), let n = Int(String(cString: text)) { return n }
        return 1_000_000
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
        for (index, decoder) in Self.decoders.enumerated() where decoder.0.hasPrefix("Multi") || decoder.0 == "GetDataResponse" {
            #expect(accepted[index] > 0, "\(decoder.0) never accepted a mutated frame")
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
            for (index, decoder) in Self.decoders.enumerated() where decoder.1(frame) {
                accepted[index] += 1
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
}
