import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// After a lost connection: the same session on the next host, auth replayed, watches
/// re-registered, then what waited.
@Suite struct ReconnectTests {
    let hosts = "a:1,b:2,c:3"

    @Test func reconnectReplaysAuthThenSetWatchesThenTheQueue() throws {
        let order = try hostOrder(hosts, seed: 7)
        var h = try Harness(hosts)
        try h.connect(timeOut: 9_000)

        // Auth, then four one-shot watches of three kinds; every reply carries a zxid.
        let (authID, authSent) = h.submit(.addAuth(scheme: "digest", credentials: Array("u:p".utf8)))
        #expect(try h.frames(authSent) == [.request(
            RequestHeader(xid: -4, type: 100), body: AuthPacket(type: 0, scheme: "digest", auth: Array("u:p".utf8)).encoded())])
        #expect(acts(h.receive(FakeServer.authReply())) == [.done(authID, .done)])
        try h.watchData("/d", 1, zxid: 0x10)
        try h.watchCreation("/missing", 2, zxid: 0x11)  // exists on a missing node: an exist watch
        try h.watchChildren("/c", 3, zxid: 0x12)
        let (existsID, existsActions) = try h.roundTrip(.exists(path: "/e", watch: true), watcher: 4, zxid: 0x13, body: StatResponse(stat: sampleStat))
        #expect(acts(existsActions) == [.done(existsID, .stat(sampleStat))])
        // An event's zxid (-1) is not a zxid seen.
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/elsewhere"))) == [
            .watchEvent(WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/elsewhere"), watchers: [])])
        #expect(h.machine.lastZxid == 0x13)

        h.now = 100
        #expect(acts(h.connectionClosed()) == [
            .sessionEvent(.disconnected, watchers: []),  // watchers hear terminal changes only
            .connect(order[1], 2),
        ])
        // Submitted while disconnected: waits.
        let (setID, setSent) = h.submit(.setData(path: "/d", data: [7], version: 3))
        #expect(acts(setSent).isEmpty)

        h.now = 200
        let (request, actions) = try h.handshake(sessionId: testSessionId, timeOut: 9_000, passwd: testPassword)
        #expect(request == ConnectRequest(
            protocolVersion: 0, lastZxidSeen: 0x13, timeOut: 30_000, sessionId: testSessionId,
            passwd: testPassword, readOnly: false))
        #expect(shapes(actions) == [.send([], 2), .sessionEvent(.reconnected, watchers: [])])
        #expect(actions.filter { if case .send = $0 { true } else { false } }.count == 1, "one send")

        let frames = try h.frames(actions)
        try #require(frames.count == 3, "\(frames)")
        #expect(frames[0] == .request(RequestHeader(xid: -4, type: 100), body: AuthPacket(scheme: "digest", auth: Array("u:p".utf8)).encoded()))
        #expect(frames[1].header == RequestHeader(xid: -8, type: 101))
        #expect(try frames[1].body(SetWatches.self) == SetWatches(
            relativeZxid: 0x13, dataWatches: ["/d", "/e"], existWatches: ["/missing"], childWatches: ["/c"]))
        #expect(frames[2].opCode == .setData)
        #expect(try frames[2].body(SetDataRequest.self) == SetDataRequest(path: "/d", data: [7], version: 3))
        #expect(h.machine.state == .connected)
        #expect(h.machine.sessionId == testSessionId)

        // Replies in the same order: the replayed auth and SetWatches answer nobody.
        #expect(acts(h.receive(FakeServer.authReply())).isEmpty)
        #expect(acts(h.receive(FakeServer.setWatchesReply(zxid: 0x14))).isEmpty)
        #expect(acts(h.receive(FakeServer.reply(xid: frames[2].xid!, zxid: 0x15, StatResponse(stat: sampleStat)))) == [
            .done(setID, .stat(sampleStat))])
        #expect(h.machine.lastZxid == 0x15)
        #expect(h.machine.pendingCount == 0)
    }

    @Test func persistentWatchesAreReRegisteredWithSetWatches2() throws {
        var h = try Harness(hosts)
        try h.connect()
        try h.watchData("/d", 1, zxid: 0x20)
        try h.watchCreation("/gone", 2, zxid: 0x21)
        try h.watchChildren("/c", 3, zxid: 0x22)
        try h.addWatch("/p", .persistent, 5, zxid: 0x23)
        try h.addWatch("/r", .persistentRecursive, 6, zxid: 0x24)
        _ = h.connectionClosed()
        let (request, actions) = try h.handshake()
        #expect(request.lastZxidSeen == 0x24)
        #expect(shapes(actions) == [.send([], 2), .sessionEvent(.reconnected, watchers: [])])
        let frames = try h.frames(actions)
        try #require(frames.count == 1, "\(frames)")
        #expect(frames[0].header == RequestHeader(xid: -8, type: 105))
        #expect(try frames[0].body(SetWatches2.self) == SetWatches2(
            relativeZxid: 0x24, dataWatches: ["/d"], existWatches: ["/gone"], childWatches: ["/c"],
            persistentWatches: ["/p"], persistentRecursiveWatches: ["/r"]))
        #expect(acts(h.receive(FakeServer.setWatchesReply())).isEmpty)
    }

    @Test func withoutWatchesOrAuthNothingIsSentOnReconnect() throws {
        var h = try Harness(hosts)
        try h.connect()
        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        #expect(acts(actions) == [.sessionEvent(.reconnected, watchers: [])])
    }

    @Test func authAddedWhileDisconnectedFollowsTheReplays() throws {
        var h = try Harness(hosts)
        try h.connect()
        let (firstID, firstSent) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        _ = try h.frames(firstSent)
        #expect(acts(h.receive(FakeServer.authReply())) == [.done(firstID, .done)])
        _ = h.connectionClosed()
        let (secondID, queued) = h.submit(.addAuth(scheme: "x509", credentials: [2]))
        #expect(acts(queued).isEmpty)
        let (_, actions) = try h.handshake()
        #expect(try h.frames(actions) == [
            .request(RequestHeader(xid: -4, type: 100), body: AuthPacket(scheme: "digest", auth: [1]).encoded()),
            .request(RequestHeader(xid: -4, type: 100), body: AuthPacket(scheme: "x509", auth: [2]).encoded()),
        ])
        // The first auth reply answers the replay, the second the new request.
        #expect(acts(h.receive(FakeServer.authReply())).isEmpty)
        #expect(acts(h.receive(FakeServer.authReply())) == [.done(secondID, .done)])
        // A later reconnect replays both.
        _ = h.connectionClosed()
        let (_, again) = try h.handshake()
        #expect(try h.frames(again).map(\.header) == [RequestHeader(xid: -4, type: 100), RequestHeader(xid: -4, type: 100)])
    }

    @Test func firedOneShotWatchesAreNotReRegistered() throws {
        var h = try Harness(hosts)
        try h.connect()
        try h.watchData("/d", 1, zxid: 3)
        try h.watchData("/k", 2, zxid: 4)
        _ = h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/d"))
        _ = h.connectionClosed()
        let (_, actions) = try h.handshake()
        #expect(shapes(actions) == [.send([], 2), .sessionEvent(.reconnected, watchers: [])])
        #expect(try h.frames(actions).map { try $0.body(SetWatches.self) } == [SetWatches(relativeZxid: 4, dataWatches: ["/k"])])
    }
}
