import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// The runtime under a fake transport that records what it is asked to do: no sockets, a clock
/// that is only a number, and listeners that record what they hear, in order.
@Suite struct SessionRuntimeTests {
    final class Log: @unchecked Sendable {
        var entries: [String] = []
    }

    final class Clock: @unchecked Sendable {
        var now: Millis = 0
    }

    /// Records the runtime's I/O; `failOpens` reports a failure from inside `open`, as a
    /// transport whose connect fails at once does.
    final class FakeTransport: SessionTransport {
        let runtime: SessionRuntime
        let log: Log
        var opened: [(HostAddress, ConnectionID)] = []
        var written: [ConnectionID: [UInt8]] = [:]
        var closed: [ConnectionID] = []
        var ticks: [Millis?] = []
        var failOpens = false

        init(_ connectString: String, clock: Clock, log: Log) throws {
            runtime = SessionRuntime(
                configuration: SessionConfiguration(connectString: try ConnectString(connectString), sessionTimeout: 9_000, shuffleSeed: 7),
                clock: { clock.now })
            self.log = log
            runtime.attach(self)
        }

        func open(_ host: HostAddress, connection: ConnectionID) {
            opened.append((host, connection))
            if failOpens { runtime.connectionFailed(connection) }
        }

        func send(_ bytes: [UInt8], connection: ConnectionID) { written[connection, default: []] += bytes }
        func close(connection: ConnectionID) { closed.append(connection) }
        func scheduleTick(at deadline: Millis?) { ticks.append(deadline) }
        func sessionChanged(_ event: SessionEvent) { log.entries.append("transport \(event)") }

        /// What was written on `connection` since the last call.
        func take(_ connection: ConnectionID) -> [UInt8] {
            defer { written[connection] = nil }
            return written[connection] ?? []
        }
    }

    struct Bed {
        let clock = Clock()
        let log = Log()
        let transport: FakeTransport
        var server = FakeServer()
        var runtime: SessionRuntime { transport.runtime }

        init(_ connectString: String = "h1:2181,h2:2182") throws {
            transport = try FakeTransport(connectString, clock: clock, log: log)
            let log = self.log
            runtime.onStateChange { log.entries.append("state \($0)") }
        }

        mutating func frames(on connection: ConnectionID) throws -> [ClientFrame] {
            try server.read(transport.take(connection))
        }

        func receive(_ bytes: [UInt8], on connection: ConnectionID) {
            bytes.withUnsafeBytes { runtime.bytesReceived($0, connection: connection) }
        }

        /// start, opened, handshake answered: returns the connection.
        mutating func connect() throws -> ConnectionID {
            runtime.start()
            let connection = try #require(transport.opened.last?.1)
            runtime.connectionEstablished(connection)
            _ = try frames(on: connection)
            receive(FakeServer.connectResponse(timeOut: 9_000, sessionId: testSessionId, passwd: testPassword), on: connection)
            return connection
        }
    }

    @Test func startOpensHandshakesAndTellsTheTransportWhenToTick() throws {
        var bed = try Bed("h1:2181")
        bed.runtime.start()
        #expect(bed.transport.opened.map(\.0) == [HostAddress(host: "h1", port: 2181)])
        #expect(bed.log.entries == ["transport connecting", "state connecting"])
        let connection = try #require(bed.transport.opened.first?.1)
        bed.runtime.connectionEstablished(connection)
        let handshake = try bed.frames(on: connection)
        guard case .connect? = handshake.first else {
            Issue.record("no ConnectRequest: \(handshake)")
            return
        }
        bed.receive(FakeServer.connectResponse(timeOut: 6_000, sessionId: testSessionId, passwd: testPassword), on: connection)
        #expect(bed.runtime.state == .connected)
        #expect(bed.runtime.facts.sessionId == testSessionId)
        #expect(bed.runtime.facts.password == testPassword)
        #expect(bed.runtime.facts.sessionTimeout == 6_000)
        #expect(bed.runtime.facts.currentHost == HostAddress(host: "h1", port: 2181))
        #expect(bed.log.entries.suffix(2) == ["transport connected", "state connected"])
        #expect(bed.transport.ticks.last == 2_000)  // a ping at a third of the timeout
    }

    @Test func anOpenThatFailsAtOnceMovesToTheNextHost() throws {
        var bed = try Bed("h1:2181,h2:2182")
        bed.transport.failOpens = true
        bed.runtime.start()
        #expect(Set(bed.transport.opened.map(\.0.host)) == ["h1", "h2"])
        #expect(bed.runtime.state == .connecting)
        #expect(bed.runtime.currentConnection == nil)  // pausing before the next round
        #expect(bed.transport.ticks.last != nil)
    }

    @Test func aCompletionMayCallBackIntoTheRuntime() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        let log = bed.log
        nonisolated(unsafe) let runtime = bed.runtime  // one thread: the test's
        runtime.submit(.exists(path: "/a", watch: false), timeout: 5_000) { _ in
            log.entries.append("/a done")
            runtime.submit(.exists(path: "/b", watch: false), timeout: 5_000) { _ in log.entries.append("/b done") }
        }
        let first = try bed.frames(on: connection)
        bed.receive(FakeServer.reply(xid: try #require(first.first?.xid), ExistsResponse(stat: sampleStat)), on: connection)
        #expect(log.entries.last == "/a done")
        let second = try bed.frames(on: connection)
        #expect(second.compactMap(\.opCode) == [.exists])
        bed.receive(FakeServer.reply(xid: try #require(second.first?.xid), ExistsResponse(stat: sampleStat)), on: connection)
        #expect(log.entries.last == "/b done")
    }

    /// A recipe asks again the moment it hears `.reconnected`; its request must follow the
    /// SetWatches of the reconnect on the wire, as it follows it in the requests in flight, or
    /// the server's answers look out of order and the new connection is dropped at once.
    @Test func whatAListenerSubmitsOnReconnectIsWrittenAfterTheWatchesAreSetAgain() throws {
        var bed = try Bed()
        let first = try bed.connect()
        nonisolated(unsafe) let runtime = bed.runtime  // one thread: the test's
        runtime.submit(.exists(path: "/w", watch: true), watch: { _ in }, timeout: 5_000) { _ in }
        let watched = try bed.frames(on: first)
        bed.receive(FakeServer.reply(xid: try #require(watched.first?.xid), ExistsResponse(stat: sampleStat)), on: first)
        runtime.onStateChange { event in
            if event == .reconnected { runtime.submit(.exists(path: "/x", watch: false), timeout: 5_000) { _ in } }
        }
        runtime.connectionClosed(first)
        if bed.transport.opened.count == 1 {  // a pause before the next host
            bed.clock.now += 2_000
            runtime.tick()
        }
        let second = try #require(bed.transport.opened.last?.1)
        #expect(second != first)
        runtime.connectionEstablished(second)
        _ = try bed.frames(on: second)
        bed.receive(FakeServer.connectResponse(timeOut: 9_000, sessionId: testSessionId, passwd: testPassword), on: second)
        #expect(bed.runtime.state == .connected)
        #expect(try bed.frames(on: second).compactMap(\.opCode) == [.setWatches, .exists])
    }

    @Test func aWatchOfAFailedRequestIsDroppedAndOneOfASuccessfulOneFires() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        let log = bed.log
        bed.runtime.submit(.getData(path: "/gone", watch: true), watch: { log.entries.append("gone \($0.type)") }, timeout: 5_000) { _ in }
        bed.runtime.submit(.getData(path: "/w", watch: true), watch: { log.entries.append("w \($0.type)") }, timeout: 5_000) { _ in }
        let xids = try bed.frames(on: connection).compactMap(\.xid)
        #expect(xids.count == 2)
        bed.receive(FakeServer.reply(xid: xids[0], err: .noNode) + FakeServer.reply(xid: xids[1], GetDataResponse(data: [1], stat: sampleStat)),
                    on: connection)
        bed.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/w"), on: connection)
        #expect(log.entries.last == "w NodeDataChanged")
        // The session ends: the watcher left hears it, the dropped one does not.
        bed.runtime.submit(.exists(path: "/w", watch: true), watch: { log.entries.append("w \($0.type) \($0.state)") }, timeout: 5_000) { _ in }
        let exists = try #require(try bed.frames(on: connection).first?.xid)
        bed.receive(FakeServer.reply(xid: exists, ExistsResponse(stat: sampleStat)), on: connection)
        bed.runtime.close(timeout: 1_000) {}
        let close = try #require(try bed.frames(on: connection).first?.xid)
        bed.receive(FakeServer.reply(xid: close), on: connection)
        #expect(log.entries.contains { $0.hasPrefix("w None") })
        #expect(!log.entries.contains { $0.hasPrefix("gone") })
    }

    @Test func factsAreHeardBeforeTheListenersOfAStep() throws {
        var bed = try Bed("h1:2181")
        let log = bed.log
        bed.runtime.onFacts = { log.entries.append("facts \($0.state)") }
        _ = try bed.connect()
        let connected = try #require(log.entries.firstIndex(of: "state connected"))
        #expect(log.entries[..<connected].last == "transport connected")
        #expect(log.entries[..<connected].contains("facts connected"))
    }

    @Test func closingWhileConnectingEndsAtOnceAndStopsTheTicks() throws {
        let bed = try Bed()
        let log = bed.log
        bed.runtime.start()
        let connection = try #require(bed.transport.opened.last?.1)
        bed.runtime.close(timeout: 1_000) { log.entries.append("done") }
        #expect(bed.runtime.state == .closed)
        #expect(bed.transport.closed == [connection])  // the attempt is given up
        #expect(log.entries.suffix(3) == ["transport closed", "state closed", "done"])
        #expect(bed.transport.ticks.last == .some(nil))
        bed.runtime.connectionEstablished(connection)  // news of the given-up attempt: ignored
        #expect(bed.transport.written.isEmpty)
        bed.runtime.close(timeout: 1_000) { log.entries.append("again") }
        #expect(log.entries.last == "again")
    }

    @Test func aRemovedStateHandlerHearsNothingMore() throws {
        var bed = try Bed()
        let log = bed.log
        let id = bed.runtime.onStateChange { log.entries.append("second \($0)") }
        #expect(id != SessionRuntime.takeHandlerID())
        let connection = try bed.connect()
        #expect(log.entries.contains("second connected"))
        bed.runtime.removeStateHandler(id)
        bed.runtime.connectionClosed(connection)
        #expect(log.entries.contains("state disconnected"))
        #expect(!log.entries.contains("second disconnected"))
    }

    @Test func aDueTickPings() throws {
        var bed = try Bed()
        let connection = try bed.connect()
        bed.clock.now = 3_000
        bed.runtime.tick()
        #expect(try bed.frames(on: connection).compactMap(\.opCode) == [.ping])
        #expect(bed.transport.ticks.last == 6_000)
    }
}
