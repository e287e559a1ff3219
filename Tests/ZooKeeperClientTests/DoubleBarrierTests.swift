import NIOConcurrencyHelpers
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The double barrier on a real server, members on clients of their own.
@Suite struct DoubleBarrierTests {
    @Test func membersEnterOnlyTogetherAndLeaveOnlyTogether() async throws {
        let path = uniqueRoot("double-barrier") + "/round"
        var clients: [ZooKeeperClient] = []
        for _ in 0..<3 { clients.append(try await connectShared()) }
        let members = clients.map { $0.doubleBarrier(path, count: 3) }
        let entered = NIOLockedValueBox(0)
        let early = members.prefix(2).map { member in
            Task {
                try await member.enter(timeout: .seconds(10))
                entered.withLockedValue { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(entered.withLockedValue { $0 } == 0, "two of three members entered")
        try await members[2].enter(timeout: .seconds(10))
        for task in early { try await task.value }
        #expect(entered.withLockedValue { $0 } == 2)

        let left = NIOLockedValueBox(0)
        let leaving = members.prefix(2).map { member in
            Task {
                try await member.leave(timeout: .seconds(10))
                left.withLockedValue { $0 += 1 }
            }
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(left.withLockedValue { $0 } == 0, "two members left while the third stayed")
        try await members[2].leave(timeout: .seconds(10))
        for task in leaving { try await task.value }
        // (The path is a container: the server may reap it once empty.)
        #expect((try? await clients[0].getChildren(path))?.isEmpty ?? true, "members and ready are gone")
        for client in clients { await client.close() }
    }

    @Test func aMemberAloneTimesOutLeavingNothingAndMistakesAreRefused() async throws {
        let zk = try await connectShared()
        let path = uniqueRoot("double-barrier-alone") + "/round"
        let member = zk.doubleBarrier(path, count: 2)
        await expectCode(.operationTimeout) { try await member.enter(timeout: .milliseconds(300)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect((try? await zk.getChildren(path))?.isEmpty ?? true, "the timed-out member's node is deleted")
        await expectCode(.badArguments) { try await member.leave() }
        await expectCode(.badArguments) { try await zk.doubleBarrier(path, count: 0).enter() }
        await zk.close()
    }
}
