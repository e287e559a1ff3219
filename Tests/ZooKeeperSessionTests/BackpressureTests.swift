import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// maxInFlight: no more than that many requests written and unanswered.
@Suite struct BackpressureTests {
    @Test func onlyMaxInFlightRequestsAreWritten() throws {
        var h = try Harness("a:1") { $0.maxInFlight = 2 }
        try h.connect()
        let (a, aSent) = h.submit(.sync(path: "/a"))
        let (b, bSent) = h.submit(.sync(path: "/b"))
        let (c, cSent) = h.submit(.sync(path: "/c"))
        let (d, dSent) = h.submit(.sync(path: "/d"))
        let written = try h.frames(aSent + bSent)
        #expect(try written.map { try $0.body(SyncRequest.self).path } == ["/a", "/b"])
        #expect(acts(cSent).isEmpty)
        #expect(acts(dSent).isEmpty)
        #expect(h.machine.pendingCount == 4)

        // One reply, one more written, in the same actions.
        let afterA = h.receive(FakeServer.reply(xid: written[0].xid!, zxid: 1, SyncResponse(path: "/a")))
        #expect(shapes(afterA) == [.send([], 1), .done(a, .path("/a"))])
        let third = try h.onlyRequest(afterA)
        #expect(try third.body(SyncRequest.self) == PathRequest(path: "/c"))

        // Two replies in one read: one more (the last) written.
        let afterBC = h.receive(
            FakeServer.reply(xid: written[1].xid!, zxid: 2, SyncResponse(path: "/b")),
            FakeServer.reply(xid: third.xid!, zxid: 3, SyncResponse(path: "/c")))
        #expect(shapes(afterBC) == [.send([], 1), .done(b, .path("/b")), .done(c, .path("/c"))])
        let fourth = try h.onlyRequest(afterBC)
        #expect(try fourth.body(SyncRequest.self) == PathRequest(path: "/d"))
        #expect(acts(h.receive(FakeServer.reply(xid: fourth.xid!, zxid: 4, SyncResponse(path: "/d")))) == [.done(d, .path("/d"))])
        #expect(h.machine.pendingCount == 0)
    }

    @Test func authCountsAgainstTheLimit() throws {
        var h = try Harness("a:1") { $0.maxInFlight = 1 }
        try h.connect()
        let (_, authSent) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        let (_, aSent) = h.submit(.sync(path: "/a"))
        #expect(try h.frames(authSent).map(\.opCode) == [.auth])
        #expect(acts(aSent).isEmpty)
        #expect(h.machine.pendingCount == 2)
    }

    /// With the limit taken by an auth, the auth's reply frees a place and the queued request
    /// goes out at once.
    @Test
    func anAuthReplyLetsTheQueueGoOn() throws {
        var h = try Harness("a:1") { $0.maxInFlight = 1 }
        try h.connect(timeOut: 30_000)
        let (auth, _) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        let (a, _) = h.submit(.sync(path: "/a"), timeout: 5_000)
        h.now = 10
        let actions = h.receive(FakeServer.authReply())
        #expect(acts(actions).last == .done(auth, .done))
        #expect(shapes(actions) == [.send([], 1), .done(auth, .done)])
        let request = try h.onlyRequest(actions)
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 1, SyncResponse(path: "/a")))) == [.done(a, .path("/a"))])
        // Answered, so it does not time out later.
        h.now = 5_000
        let later = acts(h.tick())
        #expect(!later.contains(.failed(a, ZooKeeperError(.operationTimeout, path: "/a"))))
    }

    @Test func pingsDoNotCountAgainstTheLimit() throws {
        var h = try Harness("a:1") { $0.maxInFlight = 1 }
        try h.connect(timeOut: 9_000)
        h.now = 3_000
        #expect(acts(h.tick()) == [.send(FrameEncoder.pingFrame(), 1)])
        let (_, sent) = h.submit(.sync(path: "/a"))
        #expect(try h.frames(sent).map(\.opCode) == [.sync])
    }

    @Test func theQueueAfterAReconnectRespectsTheLimit() throws {
        var h = try Harness("a:1,b:2") { $0.maxInFlight = 2 }
        try h.connect()
        _ = h.connectionClosed()
        let ids = (0..<5).map { h.submit(.sync(path: "/\($0)")).0 }
        let (_, actions) = try h.handshake()
        let first = try h.frames(actions)
        #expect(try first.map { try $0.body(SyncRequest.self).path } == ["/0", "/1"])
        let next = h.receive(FakeServer.reply(xid: first[0].xid!, zxid: 1, SyncResponse(path: "/0")))
        #expect(shapes(next) == [.send([], 2), .done(ids[0], .path("/0"))])
        #expect(try h.frames(next).map { try $0.body(SyncRequest.self).path } == ["/2"])
    }
}
