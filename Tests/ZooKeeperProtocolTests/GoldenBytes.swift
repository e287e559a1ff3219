import ZooKeeperProtocol

// Builds expected encodings straight from zookeeper.jute's rules, independently of JuteWriter,
// so golden tests compare the library against the definition rather than against itself.
struct Golden {
    var bytes: [UInt8] = []

    func int(_ v: Int32) -> Golden {
        var g = self
        let u = UInt32(bitPattern: v)
        g.bytes += [UInt8(u >> 24), UInt8(u >> 16 & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u & 0xFF)]
        return g
    }

    func long(_ v: Int64) -> Golden {
        int(Int32(truncatingIfNeeded: v >> 32)).int(Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
    }

    /// Jute booleans are ONE byte.
    func bool(_ v: Bool) -> Golden { raw([v ? 1 : 0]) }

    func buffer(_ v: [UInt8]) -> Golden { int(Int32(v.count)).raw(v) }

    func string(_ s: String) -> Golden { buffer(Array(s.utf8)) }

    func strings(_ v: [String]) -> Golden { v.reduce(int(Int32(v.count))) { $0.string($1) } }

    func raw(_ v: [UInt8]) -> Golden {
        var g = self
        g.bytes += v
        return g
    }

    func stat(_ s: (Int64, Int64, Int64, Int64, Int32, Int32, Int32, Int64, Int32, Int32, Int64)) -> Golden {
        long(s.0).long(s.1).long(s.2).long(s.3).int(s.4).int(s.5).int(s.6).long(s.7).int(s.8).int(s.9).long(s.10)
    }
}

extension Golden {
    static var start: Golden { Golden() }
}

/// A Stat whose every field differs, so a swapped pair of fields shows up.
let sampleStatFields: (Int64, Int64, Int64, Int64, Int32, Int32, Int32, Int64, Int32, Int32, Int64) =
    (0x1_0000_0001, 0x1_0000_0002, 1_700_000_000_123, 1_700_000_000_456, 3, 4, 5, 0x1234_5678_9ABC_DEF0, 100, 2, 0x1_0000_0003)

let sampleStat = Stat(
    czxid: 0x1_0000_0001, mzxid: 0x1_0000_0002, ctime: 1_700_000_000_123, mtime: 1_700_000_000_456,
    version: 3, cversion: 4, aversion: 5, ephemeralOwner: 0x1234_5678_9ABC_DEF0,
    dataLength: 100, numChildren: 2, pzxid: 0x1_0000_0003)
