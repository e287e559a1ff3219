import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// The session ends: the server says so, or no server answered for a whole session timeout.
@Suite struct ExpiryTests {
    let hosts = "a:1,b:2,c:3"

    @Test func aServerAnsweringTimeoutZeroExpiresTheSession() throws {
        var h = try Harness(hosts)
        try h.connect()
        try h.watchData("/d", 1)
        try h.watchCreation("/n", 2)
        try h.addWatch("/p", .persistent, 3)
        _ = h.connectionClosed()
        let (queuedID, queued) = h.submit(.getData(path: "/q", watch: false))
        let (authID, _) = h.submit(.addAuth(scheme: "digest", credentials: [1]))
        #expect(acts(queued).isEmpty)

        _ = try h.frames(h.established())
        #expect(acts(h.receive(FakeServer.expiredResponse())) == [
            .failed(queuedID, ZooKeeperError(.sessionExpired, path: "/q")),
            .failed(authID, ZooKeeperError(.sessionExpired)),
            .closeConnection(2),
            .sessionEvent(.expired, watchers: [1, 2, 3]),
        ])
        #expect(h.machine.state == .expired)
        #expect(h.machine.watches.isEmpty)
        #expect(h.machine.pendingCount == 0)
        #expect(h.machine.nextDeadline() == nil)

        // Later submits fail at once, without a send.
        let (laterID, later) = h.submit(.create(path: "/x", data: [], acl: openACL, mode: .persistent))
        #expect(acts(later) == [.failed(laterID, ZooKeeperError(.sessionExpired, path: "/x"))])
        // Time and news change nothing.
        h.now = 1_000_000
        #expect(acts(h.tick()).isEmpty)
        #expect(acts(h.close()).isEmpty)
        #expect(h.machine.state == .expired)
    }

    @Test func aResumedSessionCanExpireOnItsFirstConnection() throws {
        var h = try Harness(hosts) { $0.sessionId = 99; $0.password = [1, 2] }
        _ = h.start()
        _ = try h.frames(h.established())
        #expect(acts(h.receive(FakeServer.expiredResponse())) == [.closeConnection(1), .sessionEvent(.expired, watchers: [])])
    }

    /// Connected at 0 (timeout 6000), last heard at 500, connection lost at 1000, then every
    /// host refuses: the session expires at 6500, not a moment earlier.
    @Test func noServerForASessionTimeoutExpiresTheSession() throws {
        var h = try Harness(hosts) { $0.sessionTimeout = 30_000; $0.reconnectPause = 250 }
        try h.connect(timeOut: 6_000)
        try h.watchData("/d", 7)
        h.now = 500
        let (_, syncSent) = h.submit(.sync(path: "/"))
        let sync = try h.onlyRequest(syncSent)
        _ = h.receive(FakeServer.reply(xid: sync.xid!, zxid: 2, SyncResponse(path: "/")))
        h.now = 1_000
        #expect(shapes(h.connectionClosed()) == [.sessionEvent(.disconnected, watchers: []), .connect(h.host!, 2)])
        let (waitingID, _) = h.submit(.getData(path: "/w", watch: false), timeout: 100_000)

        // Refuse every attempt at once; follow the machine's deadlines (reconnect pauses) up to
        // just before expiry.
        var attempts = 0
        func refuseAll(_ h: inout Harness) {
            while true {
                attempts += 1
                let actions = acts(h.failed())
                #expect(!actions.contains { if case .sessionEvent = $0 { true } else { false } }, "at \(h.now): \(actions)")
                guard actions.contains(where: { if case .connect = $0 { true } else { false } }) else { return }
            }
        }
        refuseAll(&h)
        while true {
            let next = try #require(h.machine.nextDeadline())
            #expect(next <= 6_500, "nothing scheduled at the expiry time")
            if next >= 6_500 { break }
            h.now = next
            let actions = h.tick()
            #expect(!acts(actions).contains(.sessionEvent(.expired, watchers: [7])), "expired at \(h.now)")
            if actions.contains(where: { if case .connect = $0 { true } else { false } }) { refuseAll(&h) }
        }
        #expect(attempts > 3 * 10, "hosts were retried round after round")
        h.now = 6_499
        _ = h.tick()
        #expect(h.machine.state == .connecting, "expired early")

        h.now = 6_500
        let actions = acts(h.tick())
        #expect(actions.contains(.failed(waitingID, ZooKeeperError(.sessionExpired, path: "/w"))))
        #expect(actions.last == .sessionEvent(.expired, watchers: [7]))
        #expect(h.machine.state == .expired)
    }

    @Test func expiryCountsFromTheLastFrameHeardNotFromTheLoss() throws {
        var h = try Harness(hosts) { $0.reconnectPause = 0; $0.connectTimeout = 10_000 }
        try h.connect(timeOut: 6_000)
        h.now = 2_000
        _ = h.tick()  // the ping
        h.now = 2_100
        _ = h.receive(FakeServer.pingReply())
        h.now = 3_000
        _ = h.connectionClosed()
        // A TCP connection that never completes its handshake does not count as hearing.
        _ = try h.frames(h.established())
        #expect(h.machine.nextDeadline() == 8_100)
        h.now = 8_099
        #expect(acts(h.tick()).isEmpty)
        h.now = 8_100
        #expect(acts(h.tick()) == [.closeConnection(2), .sessionEvent(.expired, watchers: [])])
    }

    @Test func aNewSessionThatNeverConnectedDoesNotExpire() throws {
        var h = try Harness(hosts) { $0.reconnectPause = 1_000; $0.sessionTimeout = 3_000 }
        _ = h.start()
        for _ in 0..<20 {
            _ = h.failed()
            h.now += 1_000
            _ = h.tick()
        }
        #expect(h.machine.state == .connecting)
    }

    /// A reconnect pause that ends exactly when the session expires: the session expires
    /// without asking for a connection it would close at once.
    @Test
    func expiryAtTheEndOfAPauseOpensNoConnection() throws {
        var h = try Harness("a:1") { $0.reconnectPause = 5_000 }
        try h.connect(timeOut: 6_000)
        h.now = 1_000
        #expect(shapes(h.connectionClosed()) == [.sessionEvent(.disconnected, watchers: []), .connect(h.host!, 2)])
        #expect(acts(h.failed()).isEmpty)  // pausing until 6000
        #expect(h.machine.nextDeadline() == 6_000)
        h.now = 6_000
        let actions = acts(h.tick())
        #expect(actions.last == .sessionEvent(.expired, watchers: []))
        #expect(actions == [.sessionEvent(.expired, watchers: [])])
    }
}
