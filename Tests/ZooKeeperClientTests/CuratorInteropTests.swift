import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Our recipes and Apache Curator's on the same znodes of a real server: the layouts agree, so
/// a mixed fleet excludes, elects and counts together.
@Suite(.serialized) struct CuratorInteropTests {
    func peer() async throws -> CuratorPeer {
        try await CuratorPeer(connectString: try await ZooKeeperServer.shared().connectString)
    }

    /// Waits until `path` has `count` children (contenders in line).
    func waitForContenders(_ zk: ZooKeeperClient, _ path: String, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? await zk.getChildren(path).count) != count {
            #expect(ContinuousClock.now < deadline, "\(path) never had \(count) contenders")
            if ContinuousClock.now >= deadline { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func ourLockAndCuratorsInterProcessMutexExcludeEachOther() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-lock") + "/mutex"
        let lock = zk.lock(path)

        // Ours holds: Curator waits its full time and gives up.
        try await lock.acquire()
        curator.send("trylock \(path) 300")
        try await curator.expect("timeout")
        // Ours lets go: Curator gets it.
        try await lock.release()
        curator.send("lock \(path)")
        try await curator.expect("locked")

        // Curator holds: ours gives up after its time-out...
        await expectCode(.operationTimeout) { try await lock.acquire(timeout: .milliseconds(300)) }
        #expect(lock.status == .released)
        // ...and, waiting in line, gets it only once Curator unlocks.
        let waiter = Task { try await lock.acquire() }
        try await waitForContenders(zk, path, count: 2)
        #expect(lock.status == .acquiring)
        curator.send("unlock")
        try await curator.expect("unlocked")
        try await waiter.value
        #expect(lock.isHeld)
        let names = try await zk.getChildren(path)
        #expect(names.count == 1 && names[0].hasPrefix("_c_") && names[0].contains("-lock-"), "\(names)")
        try await lock.release()
        await curator.quit()
        await zk.close()
    }

    @Test func oneLeaderAtATimeWithCuratorsLeaderLatchAndHandOverWithinASecond() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-latch")

        curator.send("latch \(path) curator-1")
        try await curator.expect("leader")
        let election = zk.election(path, id: "swift-1")
        try await waitForContenders(zk, path, count: 2)
        #expect(!election.isLeader)
        // Our node carries our id, as Curator's participant data.
        var ours: [String] = []
        for name in try await zk.getChildren(path) where try await zk.getData(path + "/" + name).data == Array("swift-1".utf8) {
            ours.append(name)
        }
        #expect(ours.count == 1 && ours[0].hasPrefix("_c_") && ours[0].contains("-latch-"), "\(ours)")

        // Curator leaves: we lead.
        curator.send("closelatch")
        try await curator.expect("latchclosed")
        #expect(await election.waitForLeadership())
        #expect(curator.heard.filter { $0 == "leader" }.count == 1)

        // Curator joins again behind us and waits; our close hands over within a second.
        curator.send("latch \(path) curator-2")
        try await waitForContenders(zk, path, count: 2)
        #expect(election.isLeader)
        #expect(curator.heard.filter { $0 == "leader" }.count == 1)
        let closing = ContinuousClock.now
        await election.close()
        #expect(!election.isLeader)
        try await curator.expect("leader", count: 2, within: .seconds(1))
        let handOver = ContinuousClock.now - closing
        #expect(handOver < .seconds(1), "hand-over took \(handOver)")
        await curator.quit()
        await zk.close()
    }

    @Test func ourCounterAndCuratorsSharedCountSumTheirIncrements() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-count") + "/n"
        let counter = zk.counter(path)
        try await counter.set(0)

        curator.send("count \(path) 100")
        for _ in 0..<100 { try await counter.add(1) }
        let theirs = try await curator.line(startingWith: "counted")
        #expect(Int32(theirs.split(separator: " ")[1]) ?? 0 <= 200)
        #expect(try await counter.get() == 200)
        await curator.quit()
        await zk.close()
    }
}
