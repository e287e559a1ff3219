import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Read-only mode against a real 3-node ensemble whose servers run with
/// -Dreadonlymode.enabled=true: two servers down leave the third serving reads alone; the
/// servers back, the client is on a read-write server again by itself.
@Suite(.serialized) struct ReadOnlyModeTests {
    /// A read-only server creates sessions only as local sessions (a global one needs the
    /// quorum: without this it answers a new session with NOTREADONLY).
    @Test func aClientServesReadsFromAReadOnlyServerThenMovesBackByItself() async throws {
        let ensemble = try await ZooKeeperServer.start(servers: 3, configuration: ReadOnlyBed.configuration, javaOptions: ReadOnlyBed.javaOptions)
        defer { ensemble.stopAll() }
        let writer = try await ZooKeeperClient.connect(ensemble.connectString)
        try await writer.create("/ro", data: [1])
        await writer.close()

        // Two servers down: the third loses its quorum and serves reads only.
        try await ensemble.kill9(server: 1)
        try await ensemble.kill9(server: 2)
        let readOnlyPort = ensemble.port(of: 3)
        while (try? await ZooKeeperServer.fourLetterWord("isro", host: ZooKeeperServer.host, port: readOnlyPort)) != "ro" {
            try await Task.sleep(for: .milliseconds(200))
        }
        let configuration = ZooKeeperClient.Configuration(
            connectString: ensemble.connectString, sessionTimeout: .seconds(20), requestTimeout: .seconds(5), canBeReadOnly: true)
        let zk = try await ZooKeeperClient.connect(configuration: configuration)
        let states = EventLog<SessionEvent>()
        zk.onStateChange { states.append($0) }
        #expect(zk.state == .connectedReadOnly)
        #expect(try await zk.getData("/ro").data == [1])
        let refusal = await #expect(throws: ZooKeeperError.self) { try await zk.setData("/ro", data: [2]) }
        #expect(refusal?.code == .notReadOnly, "\(String(describing: refusal))")
        #expect(zk.state == .connectedReadOnly, "a refused write leaves the session as it was")

        // The servers back: the client is on a read-write server again by itself, with a session
        // of the quorum's (the read-only server's was its own), and writes.
        try await ensemble.restart(server: 1)
        try await ensemble.restart(server: 2)
        #expect(await states.waitFor(timeout: .seconds(60)) { $0 == .connected } != nil, "\(states.events)")
        #expect(zk.state == .connected)
        try await zk.setData("/ro", data: [3])
        #expect(try await zk.getData("/ro").data == [3])
        await zk.close()
    }

    /// The probe itself: a client on a read-only server that stays read-only (its peers stay
    /// down) finds a read-write server in its connect string when one comes up, and moves there
    /// without its connection being dropped by anyone.
    @Test func aReadOnlySessionFindsAReadWriteServerThatComesUp() async throws {
        let bed = try await ReadOnlyBed.start()
        defer { bed.stopAll() }
        let (other, readOnlyPort) = (bed.other, bed.readOnlyPort)

        let configuration = ZooKeeperClient.Configuration(
            connectString: bed.connectString, sessionTimeout: .seconds(20), canBeReadOnly: true)
        let zk = try await ZooKeeperClient.connect(configuration: configuration)
        #expect(zk.state == .connectedReadOnly)
        let states = EventLog<SessionEvent>()
        zk.onStateChange { states.append($0) }

        try await other.restart(server: 1)
        #expect(await states.waitFor(timeout: .seconds(60)) { $0 == .connected } != nil, "\(states.events)")
        #expect(zk.currentHost?.port == other.port(of: 1))
        try await zk.create("/moved", data: [1])
        #expect(try await ZooKeeperServer.fourLetterWord("isro", host: ZooKeeperServer.host, port: readOnlyPort) == "ro", "the read-only server stayed so")
        await zk.close()
    }
}
