import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// `createProtected` and the retry helper against a real server (their loss paths are tested
/// without one: ZooKeeperRecipesTests, RetryPolicyTests).
@Suite struct ProtectedCreateTests {
    @Test func aProtectedEphemeralSequentialIsNamedTheCuratorWayAndOwnedByTheSession() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("protected")
        let made = try await RetryPolicy.standard.run {
            try await zk.createProtected(root + "/jobs/job-", data: Array("work".utf8), mode: .ephemeralSequential)
        }
        let name = try #require(made.split(separator: "/").last.map(String.init))
        #expect(made.hasPrefix(root + "/jobs/_c_"), "\(made)")
        #expect(name.wholeMatch(of: /_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-job-[0-9]{10}/) != nil, "\(name)")
        let (data, stat) = try await zk.getData(made)
        #expect(data == Array("work".utf8) && stat.ephemeralOwner == zk.sessionId)
        #expect(try await zk.exists(root + "/jobs")?.ephemeralOwner == 0, "the parent was made (a container)")
        await #expect(throws: ZooKeeperError.self) { try await zk.createProtected("no-slash") }
        await zk.close()
    }
}
