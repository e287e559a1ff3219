import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Our queue and Apache Curator's `SimpleDistributedQueue` on one path of a real server: each
/// feeds what the other drains, and takers of both kinds share the items, none lost or taken
/// twice.
@Suite(.serialized) struct CuratorQueueInteropTests {
    func peer() async throws -> CuratorPeer {
        try await CuratorPeer(connectString: try await ZooKeeperServer.shared().connectString)
    }

    /// The items the peer said it took, in order.
    func items(_ curator: CuratorPeer) -> [String] {
        curator.heard.filter { $0.hasPrefix("item ") }.map { String($0.dropFirst(5)) }
    }

    @Test func oursFeedsAndCuratorDrainsInOrder() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-queue") + "/q"
        let queue = zk.queue(path)
        for i in 0..<30 { try await queue.put(Array("ours-\(i)".utf8)) }
        curator.send("drain \(path) 1000")
        try await curator.expect("drained 30", within: .seconds(30))
        #expect(items(curator) == (0..<30).map { "ours-\($0)" })
        #expect(try await zk.getChildren(path).isEmpty)
        await curator.quit()
        await zk.close()
    }

    @Test func curatorFeedsAndOursDrainsInOrder() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-queue") + "/q"
        curator.send("offer \(path) 30 curator")
        try await curator.expect("offered 30", within: .seconds(30))
        let queue = zk.queue(path)
        var taken: [String] = []
        for _ in 0..<30 { taken.append(String(decoding: try await queue.take(timeout: .seconds(5)), as: UTF8.self)) }
        #expect(taken == (0..<30).map { "curator-\($0)" })
        await expectCode(.operationTimeout) { try await queue.take(timeout: .milliseconds(200)) }
        await curator.quit()
        await zk.close()
    }

    @Test func takersOfBothKindsShareTheItemsNoneLostNoneTwice() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-queue") + "/q"
        let queue = zk.queue(path)
        curator.send("offer \(path) 40 curator")
        for i in 0..<40 { try await queue.put(Array("ours-\(i)".utf8)) }
        try await curator.expect("offered 40", within: .seconds(30))
        // Both drain at once until the queue stays empty.
        curator.send("drain \(path) 1500")
        var ours: [String] = []
        while let item = try? await queue.take(timeout: .milliseconds(1500)) { ours.append(String(decoding: item, as: UTF8.self)) }
        _ = try await curator.line(startingWith: "drained")
        let theirs = items(curator)
        let all = ours + theirs
        #expect(all.count == 80, "ours \(ours.count), Curator's \(theirs.count)")
        #expect(Set(all) == Set((0..<40).map { "curator-\($0)" } + (0..<40).map { "ours-\($0)" }))
        #expect(Set(ours).isDisjoint(with: theirs))
        await curator.quit()
        await zk.close()
    }
}
