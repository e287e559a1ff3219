import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// The hosted session (nginx's cosocket driver): commands out, reports in, listeners called
/// synchronously inside the calls, and nothing left for a connection that is gone.
@Suite struct HostedSessionTests {
    /// Collects what the session's listeners heard, in order.
    final class Heard: @unchecked Sendable {
        var entries: [String] = []
    }

    final class Clock: @unchecked Sendable {
        var now: Millis = 0
    }

    struct Bed {
        let session: HostedSession
        let clock = Clock()
        let heard = Heard()
        var server = FakeServer()

        init(_ connectString: String = "h1:2181,h2:2182") throws {
            let clock = self.clock
            session = HostedSession(
                configuration: SessionConfiguration(connectString: try ConnectString(connectString), sessionTimeout: 9_000, shuffleSeed: 7),
                clock: { clock.now })
            let heard = self.heard
            session.onStateChange { heard.entries.append("state \($0)") }
        }

        /// Every command queued now.
        func commands() -> [HostedSession.Command] {
            var all: [HostedSession.Command] = []
            while let command = session.nextCommand() { all.append(command) }
            return all
        }

        /// The frames the server reads from the queued sends (all on `connection`).
        mutating func frames(on connection: ConnectionID) throws -> [ClientFrame] {
            var frames: [ClientFrame] = []
            for command in commands() {
                guard case let .send(bytes, id) = command else {
                    Issue.record("unexpected \(command)")
                    continue
                }
                #expect(id == connection)
                frames += try server.read(bytes)
            }
            return frames
        }

        func receive(_ bytes: [UInt8], on connection: ConnectionID) {
            bytes.withUnsafeBytes { session.bytesReceived($0, connection: connection) }
        }

        /// start, TCP up, handshake answered: returns the connection.
        mutating func connect() throws -> ConnectionID {
            session.start()
            let first = commands()
            guard case let .connect(_, _, connection)? = first.first, first.count == 1 else {
                Issue.record("expected one connect, got \(first)")
                throw FakeServerError.notARequest
            }
            session.connectionEstablished(connection)
            let handshake = try frames(on: connection)
            guard case .connect? = handshake.first, handshake.count == 1 else {
                Issue.record("expected a ConnectRequest, got \(handshake)")
                throw FakeServerError.notARequest
            }
            receive(FakeServer.connectResponse(timeOut: 9_000, sessionId: testSessionId, passwd: testPassword), on: connection)
            return connection
        }
    }

    @Test func startAsksToConnectThenHandshakesAndReportsConnected() throws {
        var bed = try Bed("h1:2181")
        bed.session.start()
        let commands = bed.commands()
        #expect(commands == [.connect(host: "h1", port: 2181, 1)])
        #expect(bed.session.currentConnection == 1)
        bed.session.connectionEstablished(1)
        let frames = try bed.frames(on: 1)
        #expect(frames.count == 1)
        if case let .connect(request)? = frames.first { #expect(request.timeOut == 9_000) } else { Issue.record("no ConnectRequest") }
        bed.receive(FakeServer.connectResponse(timeOut: 6_000, sessionId: testSessionId, passwd: testPassword), on: 1)
        #expect(bed.session.state == .connected)
        #expect(bed.session.facts.sessionId == testSessionId)
        #expect(bed.session.facts.sessionTimeout == 6_000)
        #expect(bed.heard.entries.contains("state connected"))
        #expect(bed.session.nextDeadline == 2_000)  // a ping at a third of the timeout
    }

    @Test func requestsSubmittedTogetherGoOutAsOneWriteAndCompleteInsideTheReport() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        let heard = bed.heard
        for path in ["/a", "/b", "/c"] {
            bed.session.submit(.exists(path: path, watch: false), watch: nil, persistent: false, timeout: 5_000) { result in
                heard.entries.append("\(path) \((try? result.get()).map { "\($0)" } ?? "failed")")
            }
        }
        let commands = bed.commands()
        #expect(commands.count == 1, "three requests, one write: \(commands)")
        guard case let .send(bytes, id)? = commands.first else { return }
        #expect(id == connection)
        let frames = try bed.server.read(bytes)
        #expect(frames.compactMap(\.opCode) == [.exists, .exists, .exists])
        let xids = frames.compactMap(\.xid)
        var replies: [UInt8] = []
        for xid in xids { replies += FakeServer.reply(xid: xid, zxid: 9, ExistsResponse(stat: sampleStat)) }
        bed.receive(replies, on: connection)
        #expect(heard.entries.filter { $0.hasPrefix("/") }.count == 3)
        #expect(heard.entries.last?.hasPrefix("/c") == true)
        #expect(bed.session.facts.lastZxid == 9)
    }

    /// nginx's TLS handshake refused a certificate: the session ends as authFailed with the
    /// reason, at once, and no other host is tried.
    @Test func aRefusedConnectionEndsTheSessionWithItsReason() throws {
        let bed = try Bed()
        bed.session.start()
        guard case let .connect(_, _, connection)? = bed.commands().first else {
            Issue.record("no connect")
            return
        }
        bed.session.connectionRefused(connection, message: "TLS handshake failed: certificate host mismatch")
        #expect(bed.session.state == .authFailed)
        #expect(bed.session.facts.endReason?.message.contains("certificate host mismatch") == true)
        #expect(!bed.commands().contains { if case .connect = $0 { true } else { false } })
    }

    @Test func aLostConnectionDropsItsWritesFailsItsRequestsAndConnectsElsewhere() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        let heard = bed.heard
        bed.session.submit(.sync(path: "/s"), watch: nil, persistent: false, timeout: 5_000) { result in
            if case let .failure(error) = result, error.code == .connectionLoss { heard.entries.append("connection loss") }
        }
        bed.session.connectionClosed(connection)
        #expect(heard.entries.contains("connection loss"))
        #expect(heard.entries.contains("state disconnected"))
        let commands = bed.commands()
        // The unsent request is not written to the dead connection; the next host is tried.
        #expect(!commands.contains { if case .send(_, connection) = $0 { true } else { false } })
        #expect(commands.contains { if case let .connect(_, _, next) = $0 { next != connection } else { false } })
        #expect(bed.session.state == .connecting)
    }

    @Test func watchEventsReachTheirHandler() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        let heard = bed.heard
        bed.session.submit(.getData(path: "/w", watch: true), watch: { heard.entries.append("event \($0.type == .nodeDataChanged) \($0.path)") },
                           persistent: false, timeout: 5_000) { _ in }
        let xid = try #require(try bed.frames(on: connection).first?.xid)
        bed.receive(FakeServer.reply(xid: xid, GetDataResponse(data: [1], stat: sampleStat)), on: connection)
        bed.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/w"), on: connection)
        #expect(heard.entries.last == "event true /w")
    }

    @Test func pingsComeFromTicks() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        bed.clock.now = 2_999
        bed.session.tick()
        #expect(bed.commands().isEmpty)
        bed.clock.now = 3_000
        bed.session.tick()
        let frames = try bed.frames(on: connection)
        #expect(frames.compactMap(\.opCode) == [.ping])
    }

    @Test func closeSendsCloseSessionThenAsksToCloseTheLinkAndEnds() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        let heard = bed.heard
        bed.session.close(timeout: 1_000) { heard.entries.append("closed") }
        let frames = try bed.frames(on: connection)
        #expect(frames.compactMap(\.opCode) == [.closeSession])
        bed.receive(FakeServer.reply(xid: try #require(frames.first?.xid)), on: connection)
        #expect(bed.commands() == [.close(connection)])
        #expect(heard.entries.contains("closed"))
        #expect(bed.session.state == .closed)
        // Closing again answers at once.
        bed.session.close(timeout: 1_000) { heard.entries.append("closed again") }
        #expect(heard.entries.last == "closed again")
    }

    @Test func reportsAboutAnOldConnectionChangeNothing() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        bed.session.connectionClosed(connection + 7)
        bed.receive(FakeServer.watchEvent(.nodeDeleted, path: "/x"), on: connection + 7)
        #expect(bed.session.state == .connected)
        #expect(bed.commands().isEmpty)
    }
}
