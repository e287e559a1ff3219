import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// start → connect → ConnectRequest → ConnectResponse → connected.
@Suite struct HandshakeTests {
    @Test func startAnnouncesConnectingAndAsksForTheFirstHost() throws {
        var h = try Harness("h1:2181")
        h.now = 500
        #expect(acts(h.start()) == [
            .sessionEvent(.connecting, watchers: []),
            .connect(HostAddress(host: "h1", port: 2181), 1),
        ])
        #expect(h.machine.state == .connecting)
        #expect(h.machine.currentHost == HostAddress(host: "h1", port: 2181))
        // The connect attempt has a deadline.
        #expect(h.machine.nextDeadline() == 500 + h.machine.configuration.connectTimeout)
    }

    @Test func startTwiceDoesNothing() throws {
        var h = try Harness()
        _ = h.start()
        #expect(acts(h.start()).isEmpty)
    }

    @Test(arguments: [false, true])
    func connectionEstablishedSendsTheConnectRequest(canBeReadOnly: Bool) throws {
        var h = try Harness("h1:2181") {
            $0.sessionTimeout = 12_345
            $0.canBeReadOnly = canBeReadOnly
        }
        _ = h.start()
        let actions = h.established()
        #expect(shapes(actions) == [.send([], 1)])
        guard case let .send(bytes, _) = actions.first else { return }
        // 4 length + 4 protocolVersion + 8 lastZxidSeen + 4 timeOut + 8 sessionId + 4+16 passwd + 1 readOnly.
        #expect(bytes.count == 49)
        #expect(bytes.last == (canBeReadOnly ? 1 : 0))
        let frames = try h.frames(actions)
        #expect(frames == [.connect(ConnectRequest(
            protocolVersion: 0, lastZxidSeen: 0, timeOut: 12_345, sessionId: 0,
            passwd: [UInt8](repeating: 0, count: 16), readOnly: canBeReadOnly))])
    }

    @Test func aConfiguredSessionIsResumed() throws {
        var h = try Harness { $0.sessionId = 77; $0.password = [9, 8, 7] }
        _ = h.start()
        #expect(try h.frames(h.established()) == [.connect(ConnectRequest(
            protocolVersion: 0, lastZxidSeen: 0, timeOut: 30_000, sessionId: 77, passwd: [9, 8, 7], readOnly: false))])
    }

    @Test func connectResponseConnectsWithTheServersSessionIdPasswordAndTimeout() throws {
        var h = try Harness { $0.sessionTimeout = 30_000 }
        h.now = 100
        let (_, actions) = try h.connect(sessionId: testSessionId, timeOut: 9_000, passwd: testPassword)
        #expect(acts(actions) == [.sessionEvent(.connected, watchers: [])])
        #expect(h.machine.state == .connected)
        #expect(h.machine.sessionId == testSessionId)
        #expect(h.machine.password == testPassword)
        #expect(h.machine.sessionTimeout == 9_000)
        #expect(h.machine.readTimeout == 6_000)
        #expect(h.machine.pingInterval == 3_000)
        #expect(h.machine.isConnectionOpen)
    }

    @Test func aReadOnlyServerConnectsReadOnly() throws {
        var h = try Harness { $0.canBeReadOnly = true }
        let (request, actions) = try h.connect(readOnly: true)
        #expect(request.readOnly == true)
        #expect(acts(actions) == [.sessionEvent(.connectedReadOnly, watchers: [])])
        #expect(h.machine.state == .connectedReadOnly)
    }

    @Test func responseSplitAcrossReadsIsReassembled() throws {
        var h = try Harness()
        _ = h.start()
        _ = h.established()
        let response = FakeServer.connectResponse(timeOut: 6_000, sessionId: 5, passwd: testPassword)
        #expect(acts(h.receive(Array(response[..<7]))).isEmpty)
        #expect(h.machine.state == .connecting)
        #expect(acts(h.receive(Array(response[7...]))) == [.sessionEvent(.connected, watchers: [])])
        #expect(h.machine.sessionId == 5)
    }

    @Test func framesAfterTheConnectResponseInTheSameReadAreReplies() throws {
        var h = try Harness()
        _ = h.start()
        _ = try h.frames(h.established())
        let (id, queued) = h.submit(.sync(path: "/a"))
        #expect(acts(queued).isEmpty)
        let actions = h.receive(
            FakeServer.connectResponse(timeOut: 6_000, sessionId: 5, passwd: testPassword),
            FakeServer.watchEvent(.nodeDeleted, path: "/x"),
            FakeServer.pingReply())
        #expect(shapes(actions) == [
            .send([], 1),
            .sessionEvent(.connected, watchers: []),
            .watchEvent(WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/x"), watchers: []),
        ])
        let request = try h.onlyRequest(actions)
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 1, SyncResponse(path: "/a")))) == [.done(id, .path("/a"))])
    }

    @Test func anUnreadableConnectResponseTriesTheNextHost() throws {
        let order = try hostOrder("a:1,b:2", seed: 7)
        var h = try Harness("a:1,b:2")
        _ = h.start()
        _ = h.established()
        #expect(acts(h.receive(FakeServer.reply(xid: 1))) == [.closeConnection(1), .connect(order[1], 2)])
        #expect(h.machine.state == .connecting)
    }

    @Test func theServerClosingDuringTheHandshakeTriesTheNextHost() throws {
        let order = try hostOrder("a:1,b:2", seed: 7)
        var h = try Harness("a:1,b:2")
        _ = h.start()
        _ = h.established()
        #expect(acts(h.connectionClosed()) == [.connect(order[1], 2)])
    }

    @Test func aFailedConnectionTriesTheNextHost() throws {
        let order = try hostOrder("a:1,b:2,c:3", seed: 7)
        var h = try Harness("a:1,b:2,c:3") { $0.reconnectPause = 250 }
        #expect(acts(h.start()) == [.sessionEvent(.connecting, watchers: []), .connect(order[0], 1)])
        #expect(acts(h.failed()) == [.connect(order[1], 2)])
        #expect(acts(h.failed()) == [.connect(order[2], 3)])
        // A whole round failed: pause, then start over.
        #expect(acts(h.failed()).isEmpty)
        #expect(h.machine.nextDeadline() == 250)
        h.now = 249
        #expect(acts(h.tick()).isEmpty)
        h.now = 250
        #expect(acts(h.tick()) == [.connect(order[0], 4)])
    }

    @Test func newsOfAnOldConnectionIsIgnored() throws {
        var h = try Harness("a:1,b:2")
        _ = h.start()
        _ = h.failed()
        #expect(h.connection == 2)
        #expect(acts(h.machine.connectionEstablished(1, now: 0)).isEmpty)
        #expect(acts(h.machine.connectionFailed(1, now: 0)).isEmpty)
        #expect(acts(h.machine.connectionClosed(1, now: 0)).isEmpty)
        #expect(acts(h.machine.bytesReceived(FakeServer.pingReply(), connection: 1, now: 0)).isEmpty)
    }

    @Test func aHandshakeWithoutAnswerTimesOutToTheNextHost() throws {
        let order = try hostOrder("a:1,b:2", seed: 7)
        var h = try Harness("a:1,b:2") { $0.connectTimeout = 1_000 }
        _ = h.start()
        h.now = 10
        _ = h.established()
        #expect(h.machine.nextDeadline() == 1_010)
        h.now = 1_009
        #expect(acts(h.tick()).isEmpty)
        h.now = 1_010
        #expect(acts(h.tick()) == [.closeConnection(1), .connect(order[1], 2)])
    }
}

/// The seeded host shuffle.
@Suite struct HostOrderTests {
    @Test func theSameSeedGivesTheSameOrderAndEveryHostOnce() throws {
        let hosts = "a:1,b:2,c:3,d:4,e:5"
        let first = try hostOrder(hosts, seed: 42)
        #expect(try hostOrder(hosts, seed: 42) == first)
        #expect(Set(first) == Set(try ConnectString(hosts).hosts))
        #expect(first.count == 5)
    }

    @Test func seedsShuffle() throws {
        let orders = try Set((1...20).map { try hostOrder("a:1,b:2,c:3,d:4,e:5", seed: $0).map(\.description) })
        #expect(orders.count > 1)
    }
}
