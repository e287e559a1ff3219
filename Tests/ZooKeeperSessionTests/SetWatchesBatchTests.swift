import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Many watches re-registered in several SetWatches, each under the configured size.
@Suite struct SetWatchesBatchTests {
    /// Bytes of paths a batch holds, as the limit counts them: a length prefix and the UTF-8.
    func pathBytes(_ paths: [String]...) -> Int { paths.joined().reduce(0) { $0 + 4 + $1.utf8.count } }

    @Test func manyWatchesAreSplitIntoBatchesUnderTheLimit() throws {
        var h = try Harness("a:1,b:2") { $0.setWatchesBatchBytes = 64 }
        try h.connect()
        let data = (0..<23).map { "/data-\($0)" }
        let exist = (0..<7).map { "/new-\($0)" }
        let child = (0..<11).map { "/dir-\($0)" }
        var watcher: WatcherID = 0
        for path in data { watcher += 1; try h.watchData(path, watcher, zxid: Int64(watcher)) }
        for path in exist { watcher += 1; try h.watchCreation(path, watcher, zxid: Int64(watcher)) }
        for path in child { watcher += 1; try h.watchChildren(path, watcher, zxid: Int64(watcher)) }
        let lastZxid = Int64(watcher)

        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        #expect(shapes(actions) == [.send([], 2), .sessionEvent(.reconnected, watchers: [])])
        let frames = try h.frames(actions)
        #expect(frames.count > 1)
        var batches: [SetWatches] = []
        for frame in frames {
            #expect(frame.header == RequestHeader(xid: -8, type: 101))
            let batch = try frame.body(SetWatches.self)
            #expect(batch.relativeZxid == lastZxid)
            let bytes = pathBytes(batch.dataWatches, batch.existWatches, batch.childWatches)
            #expect(bytes > 0, "an empty batch")
            #expect(bytes <= 64, "batch of \(bytes) path bytes: \(batch)")
            batches.append(batch)
        }
        // Every path exactly once, in its own list.
        #expect(batches.flatMap(\.dataWatches).sorted() == data.sorted())
        #expect(batches.flatMap(\.existWatches).sorted() == exist.sorted())
        #expect(batches.flatMap(\.childWatches).sorted() == child.sorted())
        // Batches are full: none could have taken the next batch's first path.
        let sizes = batches.map { pathBytes($0.dataWatches, $0.existWatches, $0.childWatches) }
        let firsts = batches.dropFirst().map { ($0.dataWatches + $0.existWatches + $0.childWatches)[0] }
        for (size, next) in zip(sizes, firsts) { #expect(size + 4 + next.utf8.count > 64) }

        // One reply per batch, all with xid -8, then the stream goes on.
        for _ in frames { #expect(acts(h.receive(FakeServer.setWatchesReply())).isEmpty) }
        let (id, answer) = try h.roundTrip(.sync(path: "/"), body: SyncResponse(path: "/"))
        #expect(acts(answer) == [.done(id, .path("/"))])
    }

    @Test func persistentWatchesAreSplitIntoSetWatches2Batches() throws {
        var h = try Harness("a:1,b:2") { $0.setWatchesBatchBytes = 40 }
        try h.connect()
        let persistent = (0..<6).map { "/p-\($0)" }
        let recursive = (0..<6).map { "/r-\($0)" }
        for (i, path) in persistent.enumerated() { try h.addWatch(path, .persistent, WatcherID(i + 1)) }
        for (i, path) in recursive.enumerated() { try h.addWatch(path, .persistentRecursive, WatcherID(i + 10)) }
        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        let frames = try h.frames(actions)
        #expect(frames.count == 3)  // 12 paths of 4 + 4 bytes, 5 per batch
        let batches = try frames.map { frame in
            #expect(frame.header == RequestHeader(xid: -8, type: 105))
            return try frame.body(SetWatches2.self)
        }
        for batch in batches {
            #expect(pathBytes(batch.persistentWatches, batch.persistentRecursiveWatches) <= 40)
            #expect(batch.dataWatches.isEmpty && batch.existWatches.isEmpty && batch.childWatches.isEmpty)
        }
        #expect(batches.flatMap(\.persistentWatches) == persistent)
        #expect(batches.flatMap(\.persistentRecursiveWatches) == recursive)
    }

    @Test func aPathLongerThanTheLimitGoesAlone() throws {
        var h = try Harness("a:1,b:2") { $0.setWatchesBatchBytes = 16 }
        try h.connect()
        let long = "/" + String(repeating: "x", count: 40)
        try h.watchData("/a", 1)
        try h.watchData(long, 2)
        try h.watchData("/b", 3)
        try h.watchData("/z", 4)
        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        let batches = try h.frames(actions).map { try $0.body(SetWatches.self).dataWatches }
        // Paths go in sorted order: "/a" and "/b" (6 bytes each) share one batch.
        #expect(batches == [["/a", "/b"], [long], ["/z"]])
    }
}
