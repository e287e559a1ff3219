import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Giving a request up and stopping a watcher, through the runtime (the fake transport of
/// SessionRuntimeTests): what its caller no longer hears, and what the server is told.
@Suite struct RuntimeCancelTests {
    typealias Bed = SessionRuntimeTests.Bed

    @Test func aCancelledRequestNeverCompletesAndItsWatchNeverFires() throws {
        var bed = try Bed("h1:2181")
        let connection = try bed.connect()
        let log = bed.log
        let submission = bed.runtime.submit(.getData(path: "/w", watch: true), watch: { log.entries.append("watch \($0.type)") },
                                            timeout: 5_000) { _ in log.entries.append("completed") }
        let xid = try #require(try bed.frames(on: connection).first?.xid)
        bed.runtime.cancel(submission)
        bed.receive(FakeServer.reply(xid: xid, GetDataResponse(data: [1], stat: sampleStat)), on: connection)
        bed.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/w"), on: connection)
        #expect(!log.entries.contains("completed") && !log.entries.contains { $0.hasPrefix("watch") }, "\(log.entries)")
        #expect(bed.runtime.facts.state == .connected)
    }

    /// The reply won the race with the cancel (the caller's answer went nowhere): the watch it
    /// registered goes all the same.
    @Test func aCancelAfterTheReplyStillRemovesTheWatch() throws {
        var bed = try Bed("h1:2181")
        let connection = try bed.connect()
        let log = bed.log
        let submission = bed.runtime.submit(.getData(path: "/w", watch: true), watch: { log.entries.append("watch \($0.type)") },
                                            timeout: 5_000) { _ in }
        let xid = try #require(try bed.frames(on: connection).first?.xid)
        bed.receive(FakeServer.reply(xid: xid, GetDataResponse(data: [1], stat: sampleStat)), on: connection)
        bed.runtime.cancel(submission)
        bed.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/w"), on: connection)
        #expect(!log.entries.contains { $0.hasPrefix("watch") }, "\(log.entries)")
    }

    /// The server's watches on a path are removed with its last watcher, not before.
    @Test func removingTheLastWatcherOfAPathTellsTheServer() throws {
        var bed = try Bed("h1:2181")
        let connection = try bed.connect()
        var watchers: [WatcherID] = []
        for _ in 0..<2 {
            let added = bed.runtime.submit(.addWatch(path: "/p", mode: .persistent), watch: { _ in }, persistent: true, timeout: 5_000) { _ in }
            let xid = try #require(try bed.frames(on: connection).first?.xid)
            bed.receive(FakeServer.reply(xid: xid, ErrorResponse(err: 0)), on: connection)
            watchers.append(try #require(added.watcher))
        }
        bed.runtime.removeWatcher(watchers[0], path: "/p")
        #expect(try bed.frames(on: connection).isEmpty, "another watcher still needs the server's watch")
        bed.runtime.removeWatcher(watchers[1], path: "/p")
        let frames = try bed.frames(on: connection)
        #expect(frames.map(\.opCode) == [.removeWatches])
        #expect(try frames.first?.body(WatchesRequest.self) == WatchesRequest(path: "/p", type: .any))
    }
}
