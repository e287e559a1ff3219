import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Keeping an idle connection alive, and noticing a dead one.
@Suite struct PingTests {
    /// Connected at t=1000 with a negotiated timeout of 9000: ping after 3000 idle, dead after 6000 silent.
    func connected(_ hosts: String = "a:1,b:2,c:3") throws -> Harness {
        var h = try Harness(hosts) { $0.sessionTimeout = 30_000 }
        h.now = 1_000
        try h.connect(timeOut: 9_000)
        return h
    }

    @Test func noPingBeforeAThirdOfTheTimeout() throws {
        var h = try connected()
        #expect(h.machine.nextDeadline() == 4_000)
        for t: Millis in [1_001, 2_000, 3_999] {
            h.now = t
            #expect(acts(h.tick()).isEmpty, "at \(t)")
        }
    }

    @Test func pingAtAThirdOfTheTimeout() throws {
        var h = try connected()
        h.now = 4_000
        let actions = h.tick()
        #expect(acts(actions) == [.send(FrameEncoder.pingFrame(), h.connection)])
        let frames = try h.frames(actions)
        #expect(frames == [.request(RequestHeader(xid: -2, type: 11), body: [])])
        #expect(frames.first?.opCode == .ping)
        // Next: the dead-connection check at 1000 + 6000, as the next ping would be at 7000 too.
        #expect(h.machine.nextDeadline() == 7_000)
    }

    @Test func thePingReplyKeepsTheConnectionAlive() throws {
        var h = try connected()
        h.now = 4_000
        _ = h.tick()
        h.now = 4_100
        #expect(acts(h.receive(FakeServer.pingReply())).isEmpty)
        #expect(h.machine.nextDeadline() == 7_000)  // the next ping
        h.now = 7_000
        #expect(acts(h.tick()) == [.send(FrameEncoder.pingFrame(), h.connection)])
        h.now = 7_050
        _ = h.receive(FakeServer.pingReply())
        // Silent since 7050: still alive at 13049 (an overdue ping goes out), dead at 13050.
        h.now = 13_049
        #expect(acts(h.tick()) == [.send(FrameEncoder.pingFrame(), h.connection)])
        #expect(h.machine.isConnectionOpen)
        h.now = 13_050
        #expect(shapes(h.tick()).first == .closeConnection(1))
        #expect(!h.machine.isConnectionOpen)
    }

    @Test func aRequestPostponesThePing() throws {
        var h = try connected()
        h.now = 2_500
        let (id, actions) = h.submit(.sync(path: "/"))
        let request = try h.onlyRequest(actions)
        h.now = 2_600
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 5, SyncResponse(path: "/")))) == [.done(id, .path("/"))])
        #expect(h.machine.nextDeadline() == 5_500)
        h.now = 4_000
        #expect(acts(h.tick()).isEmpty)
        h.now = 5_499
        #expect(acts(h.tick()).isEmpty)
        h.now = 5_500
        #expect(acts(h.tick()) == [.send(FrameEncoder.pingFrame(), h.connection)])
    }

    /// An idle session wakes its host for its ping only, not at the deadline of a request that
    /// was answered long before (a kept nginx session would read with a 1 ms timeout then).
    @Test func anAnsweredRequestLeavesNoDeadlineBehind() throws {
        var h = try connected()
        h.now = 2_500
        let (_, actions) = h.submit(.sync(path: "/"), timeout: 1_000)
        let request = try h.onlyRequest(actions)
        h.now = 2_600
        _ = h.receive(FakeServer.reply(xid: request.xid!, zxid: 5, SyncResponse(path: "/")))
        #expect(h.machine.nextDeadline() == 5_500, "the ping, not the answered request's 3500")
    }

    @Test func silenceForTwoThirdsOfTheTimeoutDropsTheConnectionForTheNextHost() throws {
        let order = try hostOrder("a:1,b:2,c:3", seed: 7)
        var h = try connected()
        #expect(h.host == order[0])
        h.now = 4_000
        _ = h.tick()  // the ping, never answered
        h.now = 6_999
        #expect(acts(h.tick()).isEmpty)
        h.now = 7_000
        #expect(acts(h.tick()) == [
            .closeConnection(1),
            .sessionEvent(.disconnected, watchers: []),
            .connect(order[1], 2),
        ])
        #expect(h.machine.state == .connecting)
        #expect(!h.machine.isConnectionOpen)
    }

    @Test func theNextHostAfterTheLastIsTheFirst() throws {
        let order = try hostOrder("a:1,b:2", seed: 3)
        var h = try Harness("a:1,b:2") { $0.shuffleSeed = 3 }
        _ = h.start()
        _ = h.failed()
        #expect(h.host == order[1])
        try h.handshake(timeOut: 3_000)
        h.now = 2_000
        #expect(shapes(h.tick()) == [.closeConnection(2), .sessionEvent(.disconnected, watchers: []), .connect(order[0], 3)])
    }
}
