import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The tree cache from Swift against a real server: its first walk, the changes of another
/// client, and the end of its sequences on close.
@Suite struct TreeCacheTests {
    /// Collects events from `events` until `done` holds for what was collected (10 s at most).
    func collect(_ events: inout AsyncStream<CacheEvent>.Iterator, into seen: inout [CacheEvent],
                 until done: ([CacheEvent]) -> Bool) async {
        let deadline = ContinuousClock.now + .seconds(10)
        while !done(seen), ContinuousClock.now < deadline, let event = await events.next() { seen.append(event) }
    }

    @Test func walksThenFollowsAnotherClientsChangesAndEndsOnClose() async throws {
        let zk = try await connectShared()
        let other = try await connectShared()
        let root = uniqueRoot("tree-cache")
        try await zk.create(root, data: Array("r".utf8))
        try await zk.create(root + "/a", data: Array("1".utf8))
        try await zk.create(root + "/a/x", data: [])

        let cache = zk.cache(root)
        var events = cache.changes().makeAsyncIterator()
        var seen: [CacheEvent] = []
        await collect(&events, into: &seen) { $0.contains(CacheEvent(.initialized, "")) }
        #expect(Set(seen.filter { $0.kind == .created }.map(\.path)) == [root, root + "/a", root + "/a/x"])
        #expect(cache.isInitialized)
        #expect(cache.get(root + "/a")?.data == Array("1".utf8))
        #expect(cache.children(root) == ["a"])
        #expect(cache.children(root + "/missing") == nil)

        try await other.setData(root + "/a", data: Array("2".utf8))
        try await other.create(root + "/b", data: [])
        try await other.delete(root + "/a/x")
        seen = []
        await collect(&events, into: &seen) { $0.count >= 3 }
        #expect(Set(seen) == [CacheEvent(.changed, root + "/a"), CacheEvent(.created, root + "/b"), CacheEvent(.deleted, root + "/a/x")])
        #expect(cache.get(root + "/a")?.data == Array("2".utf8))
        #expect(cache.children(root) == ["a", "b"])

        // A late subscriber hears what is held first.
        var late = cache.changes().makeAsyncIterator()
        var replay: [CacheEvent] = []
        await collect(&late, into: &replay) { $0.contains(CacheEvent(.initialized, "")) }
        #expect(Set(replay.filter { $0.kind == .created }.map(\.path)) == [root, root + "/a", root + "/b"])

        cache.close()
        #expect(await events.next() == nil)
        #expect(cache.error == nil)
        await other.close()
        await zk.close()
    }

    /// `resume(on:)` moves a running cache to another client: it goes on hearing changes there
    /// (once each), the old client's end is no longer its own, and a change made during the
    /// move is told once.
    @Test func aCacheMovedToAnotherClientCarriesOnThere() async throws {
        let first = try await connectShared()
        let second = try await connectShared()
        let writer = try await connectShared()
        let root = uniqueRoot("tree-cache-move")
        try await writer.create(root, data: [])
        try await writer.create(root + "/a", data: Array("1".utf8))
        let cache = first.cache(root)
        var events = cache.changes().makeAsyncIterator()
        var seen: [CacheEvent] = []
        await collect(&events, into: &seen) { $0.contains(CacheEvent(.initialized, "")) }

        try await writer.setData(root + "/a", data: Array("2".utf8))
        cache.resume(on: second)
        await first.close()
        try await writer.create(root + "/b", data: [])
        seen = []
        await collect(&events, into: &seen) { $0.contains(CacheEvent(.created, root + "/b")) && $0.contains(CacheEvent(.changed, root + "/a")) }
        #expect(seen.sorted { $0.path < $1.path } == [CacheEvent(.changed, root + "/a"), CacheEvent(.created, root + "/b")], "\(seen)")
        #expect(cache.error == nil)
        #expect(cache.get(root + "/a")?.data == Array("2".utf8))
        #expect(cache.children(root) == ["a", "b"])

        cache.close()
        #expect(await events.next() == nil)
        cache.resume(on: writer)  // ended: nothing happens
        #expect(cache.error == nil)
        await second.close()
        await writer.close()
    }
}
