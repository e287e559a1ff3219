import NIOConcurrencyHelpers
import Testing
import ZooKeeperDirect
import ZooKeeperProtocol
import ZooKeeperSession
import ZooKeeperTestSupport

/// The direct driver's read-write probe (a second connection, on a thread of its own) against
/// real servers: a session on a lone read-only server finds a read-write server that comes up in
/// its connect string and moves there, while nobody drives it (the poller keeps it).
@Suite struct DirectReadOnlyTests {
    @Test func aReadOnlySessionFindsAReadWriteServerThatComesUp() async throws {
        let bed = try await ReadOnlyBed.start()
        defer { bed.stopAll() }
        let other = bed.other

        var configuration = SessionConfiguration(
            connectString: try ConnectString(bed.connectString), sessionTimeout: 20_000, canBeReadOnly: true)
        configuration.maxReadWriteProbeInterval = 1_000
        let session = DirectSession(configuration: configuration)
        let events = NIOLockedValueBox<[SessionEvent]>([])
        session.onStateChange { event in events.withLockedValue { $0.append(event) } }
        session.start()
        await session.driveOffPool(until: monotonicMillis() + 20_000) { events.withLockedValue { $0.contains(.connectedReadOnly) } }
        #expect(session.state == .connectedReadOnly, "\(events.withLockedValue { $0 })")

        try await other.restart(server: 1)
        let deadline = ContinuousClock.now + .seconds(30)
        while session.state != .connected, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(session.state == .connected, "\(events.withLockedValue { $0 })")
        #expect(session.facts.currentHost?.port == other.port(of: 1))
        session.close()
    }
}
