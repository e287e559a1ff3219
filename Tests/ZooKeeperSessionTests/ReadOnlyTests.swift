import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// A session on a read-only server asks the others ("isro") whether they serve writes and moves
/// to the first that does, as the Java client's pingRwServer; the probe is one more connection.
@Suite struct ReadOnlyTests {
    static let hosts = "h1:2181,h2:2182,h3:2183"

    func readOnlyHarness(maxInterval: Millis = 60_000) throws -> Harness {
        try Harness(Self.hosts) {
            $0.canBeReadOnly = true
            $0.maxReadWriteProbeInterval = maxInterval
            $0.connectTimeout = 1_000
        }
    }

    /// The probe `actions` open: its connection and host (it is never the session's own).
    func probe(in actions: [SessionAction], h: Harness) throws -> (ConnectionID, HostAddress) {
        let connects = actions.compactMap { action -> (ConnectionID, HostAddress)? in
            if case let .connect(host, id) = action { (id, host) } else { nil }
        }
        try #require(connects.count == 1, "expected one probe, got \(acts(actions))")
        #expect(connects[0].0 != h.connection)
        #expect(connects[0].1 != h.host)
        return connects[0]
    }

    /// Opens the probe and answers `answer`; returns the actions of the answer.
    func answer(_ answer: String, probe id: ConnectionID, h: inout Harness) -> [SessionAction] {
        let sent = acts(h.machine.connectionEstablished(id, now: h.now))
        #expect(sent == [.send(Array("isro".utf8), id)])
        return h.observed(h.machine.bytesReceived(Array(answer.utf8), connection: id, now: h.now))
    }

    @Test func aSessionBornReadOnlyMovesToAReadWriteServerAsANewSessionWithItsWatches() throws {
        var h = try readOnlyHarness()
        let (request, _) = try h.connect(sessionId: 77, readOnly: true)
        #expect(request.readOnly == true)
        #expect(h.machine.state == .connectedReadOnly)
        try h.watchData("/a", 1)
        let session = h.connection

        // 100 ms later the first probe asks another server; "ro": the next one asks a third.
        #expect(h.machine.nextDeadline() == 100)
        h.now = 100
        let (first, _) = try probe(in: h.tick(), h: h)
        let roActions = acts(answer("ro", probe: first, h: &h))
        #expect(roActions == [.closeConnection(first)])
        #expect(h.machine.state == .connectedReadOnly)
        h.now += 200
        let (second, rwHost) = try probe(in: h.tick(), h: h)

        // "rw": the session leaves the read-only server for that one. Its id was made up by a
        // read-only server, so it asks for a new session, and sets its watches there again.
        let move = acts(answer("rw", probe: second, h: &h))
        #expect(move.contains(.closeConnection(second)))
        #expect(move.contains(.closeConnection(session)))
        #expect(move.contains(.sessionEvent(.disconnected, watchers: [])))
        #expect(h.host == rwHost)
        let (again, events) = try h.handshake(sessionId: 88, readOnly: false)
        #expect(again.sessionId == 0)
        #expect(acts(events).contains(.sessionEvent(.connected, watchers: [])))
        #expect(h.machine.state == .connected)
        #expect(h.machine.sessionId == 88)
        let frames = try h.frames(events)
        #expect(frames.map(\.opCode) == [.setWatches])
        #expect(try frames[0].body(SetWatches.self).dataWatches == ["/a"])
        // Read-write now: no more probes (the next deadline is the ping's).
        #expect(h.machine.nextDeadline() == h.now + 3_000)
        h.now += 1_000
        #expect(!acts(h.tick()).contains { if case .connect = $0 { true } else { false } })
    }

    /// A transport that reads the session's own connection only does not ask (its questions
    /// would time out unanswered): the session stays until it reconnects.
    @Test func aSessionThatDoesNotAskStaysOnTheReadOnlyServer() throws {
        var h = try Harness(Self.hosts) {
            $0.canBeReadOnly = true
            $0.asksReadWrite = false
        }
        try h.connect(sessionId: 77, readOnly: true)
        #expect(h.machine.state == .connectedReadOnly)
        #expect(h.machine.nextDeadline() == h.now + 3_000, "the ping's, no question's")
        // (Within the read timeout: nothing is heard meanwhile.)
        for step: Millis in [100, 300, 1_000, 2_000] {
            h.now += step
            #expect(!acts(h.tick()).contains { if case .connect = $0 { true } else { false } })
        }
        #expect(h.machine.state == .connectedReadOnly)
    }

    @Test func aSessionThatSawAReadWriteServerKeepsItsIdWhenItMovesBack() throws {
        var h = try readOnlyHarness()
        try h.connect(sessionId: 77, readOnly: false)
        // The quorum goes: the session lands on a read-only server, same session.
        _ = h.connectionClosed()
        let (resume, _) = try h.handshake(sessionId: 77, readOnly: true)
        #expect(resume.sessionId == 77)
        #expect(h.machine.state == .connectedReadOnly)
        h.now += 100
        let (probeID, _) = try probe(in: h.tick(), h: h)
        _ = answer("rw", probe: probeID, h: &h)
        let (moved, events) = try h.handshake(sessionId: 77, readOnly: false)
        #expect(moved.sessionId == 77)
        #expect(acts(events).contains(.sessionEvent(.reconnected, watchers: [])))
        #expect(h.machine.sessionId == 77)
    }

    @Test func unansweredProbesBackOffDoublingToTheLimit() throws {
        var h = try readOnlyHarness(maxInterval: 500)
        try h.connect(readOnly: true)
        var gaps: [Millis] = []
        var last = h.now
        for round in 0..<5 {
            let due = try #require(h.machine.nextDeadline())
            h.now = due
            let actions = h.tick()
            let (probeID, _) = try probe(in: actions, h: h)
            gaps.append(h.now - last)
            last = h.now
            // Alternate the ways a probe fails: refused, closed without an answer, timed out.
            switch round % 3 {
            case 0: _ = h.machine.connectionFailed(probeID, now: h.now)
            case 1:
                _ = h.machine.connectionEstablished(probeID, now: h.now)
                _ = h.machine.connectionClosed(probeID, now: h.now)
            default:
                h.now += h.machine.configuration.connectTimeout
                #expect(acts(h.tick()) == [.closeConnection(probeID)])
                last = h.now
            }
            #expect(h.machine.state == .connectedReadOnly)
        }
        #expect(gaps == [100, 200, 400, 500, 500])
    }

    @Test func losingTheReadOnlyServerEndsTheProbe() throws {
        var h = try readOnlyHarness()
        try h.connect(readOnly: true)
        h.now = 100
        let (probeID, _) = try probe(in: h.tick(), h: h)
        let lost = acts(h.connectionClosed())
        #expect(lost.contains(.closeConnection(probeID)))
        // A late answer of the old probe is not heard.
        #expect(h.machine.bytesReceived(Array("rw".utf8), connection: probeID, now: h.now).isEmpty)
        #expect(!h.machine.wants(probeID))
    }

    @Test func withOneServerThereIsNothingToProbe() throws {
        var h = try Harness("h1:2181") { $0.canBeReadOnly = true }
        try h.connect(readOnly: true)
        h.now = 1_000
        #expect(!acts(h.tick()).contains { if case .connect = $0 { true } else { false } })
        #expect(h.machine.nextDeadline() == 3_000)  // the ping, nothing sooner
    }
}
