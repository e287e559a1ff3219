import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The 3-node test bed itself: three servers on loopback that form one quorum, survive the loss
/// of a member, and take it back.
@Suite struct EnsembleTestBedTests {
    @Test func threeServersFormOneQuorumAndRecoverAMember() async throws {
        let ensemble = try await ZooKeeperServer.startEnsemble()
        defer { ensemble.stopAll() }
        #expect(ensemble.serverIDs == [1, 2, 3])
        var modes: [String] = []
        for id in ensemble.serverIDs { if let mode = await ensemble.mode(of: id) { modes.append(mode) } }
        #expect(modes.sorted() == ["follower", "follower", "leader"], "\(modes)")

        // A write through one member is seen through every other (after sync).
        let writer = try PlainConnection(port: ensemble.port(of: 1))
        let path = "/ensemble-\(UInt32.random(in: 0...UInt32.max))"
        #expect(try writer.call(.create, CreateRequest(path: path, data: [42], acl: Ids.openACLUnsafe, mode: .persistent)).error == .ok)
        for id in [2, 3] {
            let reader = try PlainConnection(port: ensemble.port(of: id))
            _ = try reader.call(.sync, SyncRequest(path: path))
            var reply = try reader.call(.getData, GetDataRequest(path: path))
            #expect(try reply.decode(GetDataResponse.self).data == [42])
        }

        // A session created through one member is known to the others: resume it elsewhere.
        let moved = try PlainConnection(port: ensemble.port(of: 2), sessionId: writer.session.sessionId, passwd: writer.session.passwd)
        #expect(moved.session.sessionId == writer.session.sessionId)

        // Killing the leader leaves a quorum of two; the killed member rejoins on restart.
        let leader = try #require(await ensemble.leader())
        try await ensemble.kill9(server: leader)
        let survivor = ensemble.serverIDs.first { $0 != leader }!
        let afterKill = try await retrying { try PlainConnection(port: ensemble.port(of: survivor)) }
        #expect(try afterKill.call(.exists, ExistsRequest(path: path)).error == .ok)
        try await ensemble.restart(server: leader)
        let rejoined = await ensemble.mode(of: leader)
        #expect(["leader", "follower"].contains(rejoined ?? ""))
    }

    /// Elections take a moment after a kill; retry a connection briefly.
    func retrying<T>(_ attempts: Int = 40, _ body: () throws -> T) async throws -> T {
        var lastError: (any Error)?
        for _ in 0..<attempts {
            do { return try body() } catch { lastError = error }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw lastError!
    }
}
