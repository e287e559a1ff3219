import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// addAuth: answered in order on xid -4; a refusal ends the session.
@Suite struct AuthTests {
    @Test func addAuthIsSentOnTheAuthXid() throws {
        var h = try Harness("a:1")
        try h.connect()
        let (id, sent) = h.submit(.addAuth(scheme: "digest", credentials: Array("bob:secret".utf8)))
        let request = try h.onlyRequest(sent)
        #expect(request.header == RequestHeader(xid: -4, type: 100))
        #expect(try request.body(AuthPacket.self) == AuthPacket(type: 0, scheme: "digest", auth: Array("bob:secret".utf8)))
        #expect(h.machine.pendingCount == 1)
        #expect(acts(h.receive(FakeServer.authReply())) == [.done(id, .done)])
        #expect(h.machine.pendingCount == 0)
    }

    @Test func authRepliesAnswerTheirRequestsInOrder() throws {
        var h = try Harness("a:1")
        try h.connect()
        let (first, _) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        let (get, getSent) = h.submit(.getData(path: "/a", watch: false))
        let (second, _) = h.submit(.addAuth(scheme: "ip", credentials: [2]))
        let xid = try #require(try h.frames(getSent).first?.xid)
        // Auth replies come apart from the numbered replies.
        #expect(acts(h.receive(
            FakeServer.authReply(),
            FakeServer.reply(xid: xid, zxid: 1, GetDataResponse(data: [], stat: sampleStat)),
            FakeServer.authReply(err: .badArguments))) == [
            .done(first, .done),
            .done(get, .data([], sampleStat)),
            .failed(second, ZooKeeperError(.badArguments)),
        ])
        #expect(h.machine.state == .connected)
    }

    @Test func aRefusedAuthEndsTheSession() throws {
        var h = try Harness("a:1") { $0.maxInFlight = 2 }
        try h.connect()
        try h.watchData("/w", 7)
        let (auth, authSent) = h.submit(.addAuth(scheme: "digest", credentials: Array("bob:wrong".utf8)))
        let (inFlight, inFlightSent) = h.submit(.getData(path: "/a", watch: false))
        let (queued, queuedSent) = h.submit(.sync(path: "/q"))
        #expect(try h.frames(authSent + inFlightSent).count == 2)
        #expect(acts(queuedSent).isEmpty)

        #expect(acts(h.receive(FakeServer.authReply(err: .authFailed))) == [
            .failed(auth, ZooKeeperError(.authFailed)),
            .failed(inFlight, ZooKeeperError(.authFailed, path: "/a")),
            .failed(queued, ZooKeeperError(.authFailed, path: "/q")),
            .closeConnection(1),
            .sessionEvent(.authFailed, watchers: [7]),
        ])
        #expect(h.machine.state == .authFailed)
        #expect(h.machine.state.isTerminal)
        #expect(h.machine.watches.isEmpty)
        #expect(h.machine.pendingCount == 0)
        #expect(h.machine.nextDeadline() == nil)

        let (later, laterActions) = h.submit(.sync(path: "/later"))
        #expect(acts(laterActions) == [.failed(later, ZooKeeperError(.authFailed, path: "/later"))])
        #expect(acts(h.close()).isEmpty)
    }

    @Test func aRefusedReplayedAuthEndsTheSessionToo() throws {
        var h = try Harness("a:1,b:2")
        try h.connect()
        let (auth, _) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        #expect(acts(h.receive(FakeServer.authReply())) == [.done(auth, .done)])
        _ = h.connectionClosed()
        let (waiting, _) = h.submit(.sync(path: "/w"))
        let (_, reconnected) = try h.handshake()
        #expect(try h.frames(reconnected).map(\.opCode) == [.auth, .sync])
        #expect(acts(h.receive(FakeServer.authReply(err: .authFailed))) == [
            .failed(waiting, ZooKeeperError(.authFailed, path: "/w")),
            .closeConnection(2),
            .sessionEvent(.authFailed, watchers: []),
        ])
    }

    @Test func anAuthInFlightFailsWithConnectionLoss() throws {
        var h = try Harness("a:1,b:2")
        try h.connect()
        let (auth, _) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        #expect(shapes(h.connectionClosed()) == [
            .failed(auth, ZooKeeperError(.connectionLoss)),
            .sessionEvent(.disconnected, watchers: []),
            .connect(h.connectedHosts[1], 2),
        ])
    }

    @Test func anAuthWaitingPastItsTimeoutFails() throws {
        var h = try Harness("a:1")
        try h.connect()
        let (auth, _) = h.submit(.addAuth(scheme: "digest", credentials: [1]), timeout: 50)
        h.now = 50
        #expect(acts(h.tick()) == [.failed(auth, ZooKeeperError(.operationTimeout))])
        // Its late reply answers nobody.
        #expect(acts(h.receive(FakeServer.authReply())).isEmpty)
        #expect(h.machine.isConnectionOpen)
    }

    @Test func anEmptySchemeIsRefused() throws {
        var h = try Harness("a:1")
        try h.connect()
        let (id, actions) = h.submit(.addAuth(scheme: "", credentials: [1]))
        guard case let .complete(completed, .failure(error))? = actions.first, actions.count == 1 else {
            Issue.record("\(acts(actions))")
            return
        }
        #expect(completed == id)
        #expect(error.code == .badArguments)
    }
}
