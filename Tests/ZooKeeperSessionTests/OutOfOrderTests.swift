import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Replies come in request order; anything else means the stream cannot be trusted.
@Suite struct OutOfOrderTests {
    let hosts = "a:1,b:2,c:3"

    @Test(arguments: [Int32(2), 99, -3])
    func aReplyForAnotherXidDropsTheConnection(xid: Int32) throws {
        let order = try hostOrder(hosts, seed: 7)
        var h = try Harness(hosts)
        try h.connect()
        let (a, aSent) = h.submit(.getData(path: "/a", watch: false))
        let (b, bSent) = h.submit(.getData(path: "/b", watch: false))
        #expect(try h.frames(aSent + bSent).map(\.xid) == [1, 2])
        h.now = 10
        #expect(acts(h.receive(FakeServer.reply(xid: xid, zxid: 5, GetDataResponse(data: [], stat: sampleStat)))) == [
            .closeConnection(1),
            .failed(a, ZooKeeperError(.connectionLoss, path: "/a")),
            .failed(b, ZooKeeperError(.connectionLoss, path: "/b")),
            .sessionEvent(.disconnected, watchers: []),
            .connect(order[1], 2),
        ])
        #expect(h.machine.lastZxid == 0, "a reply out of order is not trusted")
        // Neither is re-sent.
        let (_, actions) = try h.handshake()
        #expect(acts(actions) == [.sessionEvent(.reconnected, watchers: [])])
    }

    @Test func repliesBeforeTheBadOneStillComplete() throws {
        var h = try Harness(hosts)
        try h.connect()
        let (a, aSent) = h.submit(.sync(path: "/a"))
        let (b, bSent) = h.submit(.sync(path: "/b"))
        let (c, cSent) = h.submit(.sync(path: "/c"))
        let frames = try h.frames(aSent + bSent + cSent)
        #expect(acts(h.receive(
            FakeServer.reply(xid: frames[0].xid!, zxid: 1, SyncResponse(path: "/a")),
            FakeServer.reply(xid: frames[2].xid!, zxid: 3, SyncResponse(path: "/c")))) == [
            .done(a, .path("/a")),
            .closeConnection(1),
            .failed(b, ZooKeeperError(.connectionLoss, path: "/b")),
            .failed(c, ZooKeeperError(.connectionLoss, path: "/c")),
            .sessionEvent(.disconnected, watchers: []),
            .connect(h.host!, 2),
        ])
    }

    @Test func aReplyWithNothingInFlightDropsTheConnection() throws {
        var h = try Harness(hosts)
        try h.connect()
        #expect(shapes(h.receive(FakeServer.reply(xid: 1))) == [
            .closeConnection(1), .sessionEvent(.disconnected, watchers: []), .connect(h.connectedHosts[1], 2),
        ])
    }

    @Test func anOversizedFrameDropsTheConnection() throws {
        var h = try Harness(hosts) { $0.maxFrameLength = 1_000 }
        try h.connect()
        let (a, _) = h.submit(.sync(path: "/a"))
        #expect(shapes(h.receive([0, 0, 0x10, 0])) == [
            .failed(a, ZooKeeperError(.frameTooLarge, path: "/a", message: "reply of 4096 bytes exceeds the frame limit of 1000 bytes")),
            .closeConnection(1),
            .sessionEvent(.disconnected, watchers: []),
            .connect(h.connectedHosts[1], 2),
        ])
    }

    /// A reply whose body cannot be decoded drops the connection, and the request it answered
    /// still completes (with connectionLoss), like every other one in flight.
    @Test
    func aMalformedReplyBodyStillCompletesItsRequest() throws {
        var h = try Harness(hosts)
        try h.connect()
        let (a, aSent) = h.submit(.getData(path: "/a", watch: false))
        let (b, bSent) = h.submit(.getData(path: "/b", watch: false))
        let frames = try h.frames(aSent + bSent)
        // err 0 and three bytes where a GetDataResponse belongs.
        let actions = acts(h.receive(FakeServer.reply(xid: frames[0].xid!, zxid: 5, raw: [0, 0, 1])))
        #expect(actions.contains(.closeConnection(1)))
        #expect(actions.suffix(2) == [.sessionEvent(.disconnected, watchers: []), .connect(h.connectedHosts[1], 2)])
        #expect(actions.contains(.failed(b, ZooKeeperError(.connectionLoss, path: "/b"))))
        #expect(actions.contains(.failed(a, ZooKeeperError(.connectionLoss, path: "/a"))))
        #expect(h.machine.pendingCount == 0)
    }
}
