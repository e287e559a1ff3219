import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// What happens to requests when the connection goes, and when they wait too long.
@Suite struct InFlightTests {
    let hosts = "a:1,b:2,c:3"

    @Test func requestsInFlightFailWithConnectionLossAndAreNotResent() throws {
        let order = try hostOrder(hosts, seed: 7)
        var h = try Harness(hosts)
        try h.connect()
        let (a, aSent) = h.submit(.getData(path: "/a", watch: false))
        let (b, bSent) = h.submit(.create(path: "/b", data: [1], acl: openACL, mode: .ephemeral))
        #expect(try h.frames(aSent + bSent).map(\.opCode) == [.getData, .create2])

        h.now = 50
        #expect(acts(h.connectionClosed()) == [
            .failed(a, ZooKeeperError(.connectionLoss, path: "/a")),
            .failed(b, ZooKeeperError(.connectionLoss, path: "/b")),
            .sessionEvent(.disconnected, watchers: []),
            .connect(order[1], 2),
        ])
        #expect(h.machine.pendingCount == 0)

        // Submitted while disconnected: waits, and is the only request sent after reconnecting.
        let (c, cSent) = h.submit(.delete(path: "/c", version: 4))
        #expect(acts(cSent).isEmpty)
        #expect(h.machine.pendingCount == 1)
        let (_, actions) = try h.handshake()
        #expect(shapes(actions) == [.send([], 2), .sessionEvent(.reconnected, watchers: [])])
        let frames = try h.frames(actions)
        try #require(frames.count == 1)
        #expect(frames[0].opCode == .delete)
        #expect(try frames[0].body(DeleteRequest.self) == DeleteRequest(path: "/c", version: 4))
        #expect(acts(h.receive(FakeServer.reply(xid: frames[0].xid!, zxid: 9))) == [.done(c, .done)])
    }

    @Test func aRequestWaitingPastItsTimeoutFails() throws {
        var h = try Harness(hosts)
        try h.connect()
        _ = h.connectionClosed()
        h.now = 1_000
        let (slow, _) = h.submit(.getData(path: "/slow", watch: false), timeout: 100)
        let (patient, _) = h.submit(.getData(path: "/patient", watch: false), timeout: 10_000)
        #expect(h.machine.nextDeadline().map { $0 <= 1_100 } == true)
        h.now = 1_099
        #expect(!acts(h.tick()).contains { if case .complete = $0 { true } else { false } })
        h.now = 1_100
        #expect(acts(h.tick()) == [.failed(slow, ZooKeeperError(.operationTimeout, path: "/slow"))])
        // Only the patient one goes out after the reconnect.
        let (_, actions) = try h.handshake()
        let frames = try h.frames(actions)
        #expect(try frames.map { try $0.body(GetDataRequest.self).path } == ["/patient"])
        #expect(acts(h.receive(FakeServer.reply(xid: frames[0].xid!, zxid: 3, GetDataResponse(data: [], stat: sampleStat)))) == [
            .done(patient, .data([], sampleStat))])
    }

    @Test func aRequestInFlightPastItsTimeoutFailsAndItsLateReplyIsIgnored() throws {
        var h = try Harness(hosts)
        try h.connect(timeOut: 9_000)
        let (a, aSent) = h.submit(.getData(path: "/a", watch: true), watcher: 1, timeout: 100)
        let (b, bSent) = h.submit(.exists(path: "/b", watch: false), timeout: 5_000)
        let frames = try h.frames(aSent + bSent)
        h.now = 100
        #expect(acts(h.tick()) == [.failed(a, ZooKeeperError(.operationTimeout, path: "/a"))])
        h.now = 150
        // The late reply completes nothing (and, being late, registers no watch)...
        #expect(acts(h.receive(FakeServer.reply(xid: frames[0].xid!, zxid: 4, GetDataResponse(data: [1], stat: sampleStat)))).isEmpty)
        #expect(h.machine.watches.isEmpty)
        // ...and the stream goes on in order.
        #expect(acts(h.receive(FakeServer.reply(xid: frames[1].xid!, zxid: 5, StatResponse(stat: sampleStat)))) == [
            .done(b, .stat(sampleStat))])
        #expect(h.machine.isConnectionOpen)
        #expect(h.machine.lastZxid == 5)
        #expect(h.machine.pendingCount == 0)
    }

    @Test func aTimedOutRequestIsNotFailedAgainWhenTheConnectionDrops() throws {
        var h = try Harness(hosts)
        try h.connect()
        let (a, aSent) = h.submit(.sync(path: "/a"), timeout: 10)
        _ = try h.frames(aSent)
        h.now = 10
        #expect(acts(h.tick()) == [.failed(a, ZooKeeperError(.operationTimeout, path: "/a"))])
        #expect(shapes(h.connectionClosed()) == [.sessionEvent(.disconnected, watchers: []), .connect(h.host!, 2)])
    }

    @Test func severalRepliesInOneReadCompleteInOrder() throws {
        var h = try Harness(hosts)
        try h.connect()
        let (a, aSent) = h.submit(.getAllChildrenNumber(path: "/a"))
        let (b, bSent) = h.submit(.getACL(path: "/b"))
        let (c, cSent) = h.submit(.whoAmI)
        let frames = try h.frames(aSent + bSent + cSent)
        #expect(frames.map(\.opCode) == [.getAllChildrenNumber, .getACL, .whoAmI])
        #expect(try frames[0].body(GetAllChildrenNumberRequest.self) == PathRequest(path: "/a"))
        #expect(try frames[1].body(GetACLRequest.self) == PathRequest(path: "/b"))
        #expect(try frames[2].body(EmptyRecord.self) == EmptyRecord())
        let identities = [ClientInfo(authScheme: "ip", user: "127.0.0.1")]
        #expect(acts(h.receive(
            FakeServer.reply(xid: frames[0].xid!, zxid: 1, GetAllChildrenNumberResponse(totalNumber: 12)),
            FakeServer.reply(xid: frames[1].xid!, zxid: 2, GetACLResponse(acl: openACL, stat: sampleStat)),
            FakeServer.reply(xid: frames[2].xid!, zxid: 3, WhoAmIResponse(clientInfo: identities)))) == [
            .done(a, .count(12)),
            .done(b, .acl(openACL, sampleStat)),
            .done(c, .identities(identities)),
        ])
    }

    @Test func aServerErrorCompletesThatRequestOnly() throws {
        var h = try Harness(hosts)
        try h.connect()
        let (id, actions) = try h.roundTrip(.delete(path: "/x", version: 2), zxid: 7, err: .badVersion)
        #expect(acts(actions) == [.failed(id, ZooKeeperError(.badVersion, path: "/x"))])
        #expect(h.machine.isConnectionOpen)
        #expect(h.machine.lastZxid == 7)
    }

    @Test func aZeroTimeoutFailsAtTheNextTick() throws {
        var h = try Harness("a:1")
        _ = h.start()
        h.now = 100
        let (id, actions) = h.submit(.sync(path: "/a"), timeout: 0)
        #expect(acts(actions).isEmpty)
        #expect(h.machine.nextDeadline() == 100)
        #expect(acts(h.tick()) == [.failed(id, ZooKeeperError(.operationTimeout, path: "/a"))])
    }
}
