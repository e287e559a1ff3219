import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// With `h:1/app`, the application sees "/" where the server has "/app".
@Suite struct SessionChrootTests {
    func connected() throws -> Harness {
        var h = try Harness("h:1,g:2/app")
        try h.connect()
        return h
    }

    @Test func outgoingPathsArePrefixed() throws {
        var h = try connected()
        var sent: [ClientFrame] = []
        let operations: [Operation] = [
            .create(path: "/x", data: [1], acl: openACL, mode: .persistent),
            .delete(path: "/x", version: -1),
            .exists(path: "/", watch: false),
            .getData(path: "/x/y", watch: false),
            .setData(path: "/x", data: [2], version: 1),
            .getACL(path: "/x"),
            .setACL(path: "/x", acl: openACL, version: 0),
            .getChildren(path: "/x", watch: false, includeStat: true),
            .getAllChildrenNumber(path: "/x"),
            .sync(path: "/x"),
            .addWatch(path: "/w", mode: .persistentRecursive),
            .checkWatches(path: "/w", type: .any),
            .removeWatches(path: "/w", type: .data, local: false),
            .create(path: "/t", data: [], acl: openACL, mode: .persistentWithTTL, ttl: 500),
        ]
        for (i, operation) in operations.enumerated() {
            sent += try h.frames(h.submit(operation, watcher: WatcherID(i)).1)
        }
        try #require(sent.count == operations.count)
        #expect(try sent[0].body(CreateRequest.self) == CreateRequest(path: "/app/x", data: [1], acl: openACL, mode: .persistent))
        #expect(try sent[1].body(DeleteRequest.self) == DeleteRequest(path: "/app/x", version: -1))
        #expect(try sent[2].body(ExistsRequest.self) == PathWatchRequest(path: "/app", watch: false))
        #expect(try sent[3].body(GetDataRequest.self) == PathWatchRequest(path: "/app/x/y", watch: false))
        #expect(try sent[4].body(SetDataRequest.self) == SetDataRequest(path: "/app/x", data: [2], version: 1))
        #expect(try sent[5].body(PathRequest.self) == PathRequest(path: "/app/x"))
        #expect(try sent[6].body(SetACLRequest.self) == SetACLRequest(path: "/app/x", acl: openACL, version: 0))
        #expect(try sent[7].body(GetChildren2Request.self) == PathWatchRequest(path: "/app/x", watch: false))
        #expect(try sent[8].body(PathRequest.self) == PathRequest(path: "/app/x"))
        #expect(try sent[9].body(PathRequest.self) == PathRequest(path: "/app/x"))
        #expect(try sent[10].body(AddWatchRequest.self) == AddWatchRequest(path: "/app/w", mode: .persistentRecursive))
        #expect(try sent[11].body(WatchesRequest.self) == WatchesRequest(path: "/app/w", type: .any))
        #expect(try sent[12].body(WatchesRequest.self) == WatchesRequest(path: "/app/w", type: .data))
        #expect(sent[13].opCode == .createTTL)
        #expect(try sent[13].body(CreateTTLRequest.self) == CreateTTLRequest(path: "/app/t", data: [], acl: openACL, flags: 5, ttl: 500))
    }

    @Test func createdPathsAreStripped() throws {
        var h = try connected()
        let (id, actions) = try h.roundTrip(
            .create(path: "/q-", data: [], acl: openACL, mode: .ephemeralSequential),
            zxid: 1, body: Create2Response(path: "/app/q-0000000007", stat: sampleStat))
        #expect(acts(actions) == [.done(id, .created(path: "/q-0000000007", stat: sampleStat))])
    }

    @Test func syncPathIsStrippedToRoot() throws {
        var h = try connected()
        let (id, actions) = try h.roundTrip(.sync(path: "/"), zxid: 1, body: SyncResponse(path: "/app"))
        #expect(acts(actions) == [.done(id, .path("/"))])
    }

    @Test func watchEventPathsAreStripped() throws {
        var h = try connected()
        try h.watchData("/x", 1)
        try h.watchChildren("/", 2)
        #expect(acts(h.receive(
            FakeServer.watchEvent(.nodeDataChanged, path: "/app/x"),
            FakeServer.watchEvent(.nodeChildrenChanged, path: "/app"))) == [
            .watchEvent(WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/x"), watchers: [1]),
            .watchEvent(WatchEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/"), watchers: [2]),
        ])
    }

    @Test func getEphemeralsIsPrefixedAndStripped() throws {
        var h = try connected()
        let (id, sent) = h.submit(.getEphemerals(prefix: "/job-"))
        let request = try h.onlyRequest(sent)
        #expect(request.opCode == .getEphemerals)
        #expect(try request.body(GetEphemeralsRequest.self) == PathRequest(path: "/app/job-"))
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 1, GetEphemeralsResponse(ephemerals: ["/app/job-1", "/app/job-2/x"])))) == [
            .done(id, .paths(["/job-1", "/job-2/x"]))])
    }

    @Test func multiPathsArePrefixedAndCreateResultsStripped() throws {
        var h = try connected()
        let (id, sent) = h.submit(.multi([
            .create(CreateRequest(path: "/m1", data: [], acl: openACL, mode: .persistent)),
            .create2(CreateRequest(path: "/m2", data: [1], acl: openACL, mode: .persistentSequential)),
            .setData(SetDataRequest(path: "/m3", data: [2], version: -1)),
            .check(CheckVersionRequest(path: "/m4", version: 3)),
            .delete(DeleteRequest(path: "/m5", version: -1)),
        ]))
        let request = try h.onlyRequest(sent)
        #expect(request.opCode == .multi)
        #expect(try request.body(MultiRequest.self) == MultiRequest(operations: [
            .create(CreateRequest(path: "/app/m1", data: [], acl: openACL, mode: .persistent)),
            .create2(CreateRequest(path: "/app/m2", data: [1], acl: openACL, mode: .persistentSequential)),
            .setData(SetDataRequest(path: "/app/m3", data: [2], version: -1)),
            .check(CheckVersionRequest(path: "/app/m4", version: 3)),
            .delete(DeleteRequest(path: "/app/m5", version: -1)),
        ]))
        let reply = MultiResponse(results: [
            .create(path: "/app/m1"), .create2(path: "/app/m2-0000000001", stat: sampleStat),
            .setData(stat: sampleStat), .check, .delete,
        ])
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 8, reply))) == [.done(id, .multi([
            .create(path: "/m1"), .create2(path: "/m2-0000000001", stat: sampleStat),
            .setData(stat: sampleStat), .check, .delete,
        ]))])
    }

    @Test func reRegisteredWatchesCarryTheChroot() throws {
        var h = try connected()
        try h.watchData("/x", 1, zxid: 3)
        try h.watchCreation("/", 2, zxid: 4)
        try h.addWatch("/p", .persistent, 3, zxid: 5)
        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        #expect(try h.frames(actions).map { try $0.body(SetWatches2.self) } == [SetWatches2(
            relativeZxid: 5, dataWatches: ["/app/x"], existWatches: ["/app"], persistentWatches: ["/app/p"])])
    }

    @Test func getConfigIsNeverChrooted() throws {
        var h = try connected()
        let (id, sent) = h.submit(.getConfig(watch: true), watcher: 9)
        let request = try h.onlyRequest(sent)
        #expect(try request.body(GetDataRequest.self) == PathWatchRequest(path: "/zookeeper/config", watch: true))
        let config = Array("server.1=a:2888:3888".utf8)
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 2, GetDataResponse(data: config, stat: sampleStat)))) == [
            .done(id, .data(config, sampleStat))])
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/zookeeper/config"))) == [
            .watchEvent(WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/zookeeper/config"), watchers: [9])])
    }

    /// getConfig's watch is on /zookeeper/config (never chrooted), and the SetWatches after a
    /// reconnect leaves it so.
    @Test
    func aConfigWatchIsReRegisteredWithoutTheChroot() throws {
        var h = try connected()
        let (_, sent) = h.submit(.getConfig(watch: true), watcher: 9)
        let request = try h.onlyRequest(sent)
        _ = h.receive(FakeServer.reply(xid: request.xid!, zxid: 2, GetDataResponse(data: [], stat: sampleStat)))
        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        let batches = try h.frames(actions).map { try $0.body(SetWatches.self) }
        #expect(batches == [SetWatches(relativeZxid: 2, dataWatches: ["/zookeeper/config"])])
    }
}
