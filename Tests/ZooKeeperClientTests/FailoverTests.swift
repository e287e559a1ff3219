import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The session against a real 3-node ensemble on loopback: losing a server is survived with the
/// same session, losing the quorum for a session timeout ends it.
@Suite(.serialized) struct FailoverTests {
    @Test func killingTheServerKeepsTheSessionEphemeralsAndWatches() async throws {
        let ensemble = try await ZooKeeperServer.startEnsemble()
        defer { ensemble.stopAll() }
        let timeout = Duration.seconds(6)
        let zk = try await ZooKeeperClient.connect(ensemble.connectString, sessionTimeout: timeout)
        let states = EventLog<SessionEvent>()
        zk.onStateChange { states.append($0) }
        let session = zk.sessionId

        try await zk.create("/eph", mode: .ephemeral)
        try await zk.create("/watched", data: [0])
        let events = EventLog<WatchEvent>()
        _ = try await zk.getData("/watched") { events.append($0) }
        let children = EventLog<WatchEvent>()
        try await zk.addWatch("/", mode: .persistentRecursive) { children.append($0) }

        let victim = try serverID(of: zk, in: ensemble)
        let killedAt = ContinuousClock.now
        try await ensemble.kill9(server: victim)

        // Timed by the event's arrival: a test task may get to run late on a loaded machine.
        let resumedAt = try #require(await states.waitFor(timeout: timeout) { $0 == .reconnected }, "\(states.events)")
        #expect(states.events.prefix(2) == [.disconnected, .reconnected], "\(states.events)")
        #expect(resumedAt - killedAt < timeout, "resumed \(resumedAt - killedAt) after the kill, within the session timeout")
        #expect(zk.sessionId == session)
        #expect(try serverID(of: zk, in: ensemble) != victim)

        // Another client, through a surviving server, sees the ephemeral and makes a change.
        let survivor = ensemble.serverIDs.first { $0 != victim }!
        let writer = try await ZooKeeperClient.connect("127.0.0.1:\(ensemble.port(of: survivor))", sessionTimeout: timeout)
        #expect(try await writer.exists("/eph")?.ephemeralOwner == session)
        try await writer.setData("/watched", data: [1])
        #expect(await events.wait() == [WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/watched")])
        #expect(await children.wait().contains(WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/watched")), "persistent watches were re-registered too")
        #expect(try await zk.getData("/watched").data == [1])

        try await ensemble.restart(server: victim)
        await writer.close()
        await zk.close()
    }

    @Test func losingTheQuorumForASessionTimeoutExpiresTheSession() async throws {
        let ensemble = try await ZooKeeperServer.startEnsemble()
        defer { ensemble.stopAll() }
        let timeout = Duration.seconds(4)

        // 1. A silent partition of the client's own server and one more (no FIN, no RST, and no
        //    quorum left for the third): expiry within the timeout (+10%) of the partition.
        let zk = try await ZooKeeperClient.connect(ensemble.connectString, sessionTimeout: timeout)
        let states = EventLog<SessionEvent>()
        zk.onStateChange { states.append($0) }
        let watcher = EventLog<WatchEvent>()
        try await zk.create("/w")
        _ = try await zk.exists("/w") { watcher.append($0) }
        let own = try serverID(of: zk, in: ensemble)
        let frozen = [own, ensemble.serverIDs.first { $0 != own }!]
        let stoppedAt = ContinuousClock.now
        for id in frozen { try await ensemble.stop(server: id) }
        let expiredAt = try #require(await states.waitFor(timeout: timeout * 2) { $0 == .expired }, "\(states.events)")
        #expect(expiredAt - stoppedAt <= timeout * 1.1, "expired \(expiredAt - stoppedAt) after the partition")
        #expect(zk.state == .expired)
        #expect(watcher.events.contains { $0.type == .none && $0.state == .expired }, "every watcher hears the expiry")
        await expectCode(.sessionExpired) { try await zk.exists("/w") }
        for id in frozen { try await ensemble.resume(server: id) }
        try await ensemble.waitUntilServing()

        // 2. The two other servers freeze: the client's server loses its quorum and drops the
        //    client, which then finds no server: expiry within the timeout (+10%) of that loss.
        let second = try await ZooKeeperClient.connect(ensemble.connectString, sessionTimeout: timeout)
        let secondStates = EventLog<SessionEvent>()
        second.onStateChange { secondStates.append($0) }
        let kept = try serverID(of: second, in: ensemble)
        let others = ensemble.serverIDs.filter { $0 != kept }
        for id in others { try await ensemble.stop(server: id) }
        let lostAt = try #require(await secondStates.waitFor(timeout: timeout * 2) { $0 == .disconnected })
        let secondExpiredAt = try #require(await secondStates.waitFor(timeout: timeout * 2) { $0 == .expired }, "\(secondStates.events)")
        #expect(secondExpiredAt - lostAt <= timeout * 1.1, "expired \(secondExpiredAt - lostAt) after losing the server")
        for id in others { try await ensemble.resume(server: id) }
    }
}
