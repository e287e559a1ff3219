import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// close(): closeSession when connected, then closed; at once otherwise.
@Suite struct CloseTests {
    @Test func theClosedErrorIsRecognisable() {
        #expect(closedError().isClosed)
        #expect(closedError().isTerminal)
    }

    @Test func closeWhenConnectedSendsCloseSessionAndEndsOnItsReply() throws {
        var h = try Harness("a:1") { $0.maxInFlight = 1 }
        try h.connect()
        try h.watchData("/w", 7)
        let (inFlight, inFlightSent) = h.submit(.getData(path: "/a", watch: false))
        let (queued, queuedSent) = h.submit(.sync(path: "/q"))
        let getXid = try #require(try h.frames(inFlightSent).first?.xid)
        #expect(acts(queuedSent).isEmpty)

        h.now = 100
        let actions = h.close()
        // The queued request fails at once; the one in flight may still be answered.
        #expect(shapes(actions) == [.send([], 1), .failed(queued, closedError(path: "/q"))])
        let frames = try h.frames(actions)
        #expect(frames == [.request(RequestHeader(xid: getXid + 1, type: -11), body: [])])
        #expect(frames.first?.opCode == .closeSession)
        #expect(h.machine.state == .connected)

        // Idempotent, and nothing new is taken.
        #expect(acts(h.close()).isEmpty)
        let (refused, refusedActions) = h.submit(.sync(path: "/r"))
        #expect(acts(refusedActions) == [.failed(refused, closedError(path: "/r"))])

        #expect(acts(h.receive(FakeServer.reply(xid: getXid, zxid: 4, GetDataResponse(data: [], stat: sampleStat)))) == [
            .done(inFlight, .data([], sampleStat))])
        #expect(acts(h.receive(FakeServer.reply(xid: getXid + 1, zxid: 5))) == [
            .closeConnection(1),
            .sessionEvent(.closed, watchers: [7]),
        ])
        #expect(h.machine.state == .closed)
        #expect(h.machine.watches.isEmpty)
        #expect(h.machine.nextDeadline() == nil)
        #expect(acts(h.close()).isEmpty)
        let (after, afterActions) = h.submit(.sync(path: "/after"))
        #expect(acts(afterActions) == [.failed(after, closedError(path: "/after"))])
    }

    @Test func closeEndsAtItsDeadlineWithoutAReply() throws {
        var h = try Harness("a:1")
        try h.connect(timeOut: 30_000)
        let (inFlight, sent) = h.submit(.sync(path: "/a"))
        _ = try h.frames(sent)
        h.now = 100
        _ = try h.frames(h.close(timeout: 500))
        #expect(h.machine.nextDeadline() == 600)
        h.now = 599
        #expect(acts(h.tick()).isEmpty)
        h.now = 600
        #expect(acts(h.tick()) == [
            .failed(inFlight, closedError(path: "/a")),
            .closeConnection(1),
            .sessionEvent(.closed, watchers: []),
        ])
        #expect(h.machine.state == .closed)
    }

    @Test func noPingWhileClosing() throws {
        var h = try Harness("a:1")
        try h.connect(timeOut: 9_000)
        _ = try h.frames(h.close(timeout: 5_000))
        h.now = 3_000
        #expect(acts(h.tick()).isEmpty)
        #expect(h.machine.nextDeadline() == 5_000)
    }

    @Test func theServerClosingTheConnectionFinishesTheClose() throws {
        var h = try Harness("a:1,b:2")
        try h.connect()
        _ = h.close()
        #expect(acts(h.connectionClosed()) == [.sessionEvent(.closed, watchers: [])])
    }

    @Test func closeBeforeStartClosesAtOnce() throws {
        var h = try Harness("a:1")
        #expect(acts(h.close()) == [.sessionEvent(.closed, watchers: [])])
        #expect(h.machine.state == .closed)
        #expect(acts(h.start()).isEmpty)
    }

    @Test func closeWhileConnectingClosesAtOnce() throws {
        var h = try Harness("a:1")
        _ = h.start()
        let (queued, _) = h.submit(.sync(path: "/q"))
        #expect(acts(h.close()) == [
            .failed(queued, closedError(path: "/q")),
            .closeConnection(1),
            .sessionEvent(.closed, watchers: []),
        ])
        #expect(acts(h.established()).isEmpty)
    }

    @Test func closeDuringTheHandshakeClosesAtOnce() throws {
        var h = try Harness("a:1")
        _ = h.start()
        _ = try h.frames(h.established())
        #expect(acts(h.close()) == [.closeConnection(1), .sessionEvent(.closed, watchers: [])])
        #expect(acts(h.receive(FakeServer.connectResponse(timeOut: 9_000, sessionId: 1, passwd: testPassword))).isEmpty)
    }

    @Test func closeWhileDisconnectedClosesAtOnce() throws {
        var h = try Harness("a:1,b:2") { $0.reconnectPause = 1_000 }
        try h.connect()
        try h.watchCreation("/n", 3)
        _ = h.connectionClosed()
        _ = h.failed()
        _ = h.failed()  // pausing between rounds: no connection at all
        let (queued, _) = h.submit(.sync(path: "/q"))
        #expect(acts(h.close()) == [
            .failed(queued, closedError(path: "/q")),
            .sessionEvent(.closed, watchers: [3]),
        ])
        h.now = 5_000
        #expect(acts(h.tick()).isEmpty)
    }

    /// The server goes silent after closeSession was sent, and the connection is judged dead
    /// before the close deadline. The session is closing: it finishes closing rather than
    /// announcing a disconnection and connecting to another server.
    @Test
    func aDeadConnectionWhileClosingFinishesTheClose() throws {
        var h = try Harness("a:1,b:2")
        try h.connect(timeOut: 3_000)  // dead after 2000 silent
        h.now = 1_500
        _ = try h.frames(h.close(timeout: 2_000))  // deadline 3500
        h.now = 2_000
        let actions = acts(h.tick())
        #expect(actions == [.closeConnection(1), .sessionEvent(.closed, watchers: [])])
        // Either way the session ends by the close deadline.
        h.now = 3_500
        _ = h.tick()
        #expect(h.machine.state == .closed)
    }
}
