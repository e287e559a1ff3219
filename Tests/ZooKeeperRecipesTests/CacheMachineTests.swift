import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// A server's tree at the level of operations: answers a cache's reads as ZooKeeper would.
struct FakeTree {
    private(set) var nodes: [String: (data: [UInt8], czxid: Int64, mzxid: Int64)] = [:]
    private var zxid: Int64 = 1

    mutating func set(_ path: String, _ text: String) {
        zxid += 1
        let created = nodes[path]?.czxid ?? zxid
        nodes[path] = (Array(text.utf8), created, zxid)
    }

    mutating func delete(_ path: String) { nodes[path] = nil }

    func answer(_ operation: Operation) -> Result<OperationResult, ZooKeeperError> {
        switch operation {
        case .addWatch: return .success(.done)
        case let .getData(path, _):
            guard let node = nodes[path] else { return .failure(ZooKeeperError(.noNode, path: path)) }
            return .success(.data(node.data, Stat(czxid: node.czxid, mzxid: node.mzxid, ctime: 0, mtime: 0, version: 0, cversion: 0,
                                                  aversion: 0, ephemeralOwner: 0, dataLength: Int32(node.data.count), numChildren: 0, pzxid: 0)))
        case let .getChildren(path, _, _):
            guard nodes[path] != nil else { return .failure(ZooKeeperError(.noNode, path: path)) }
            let prefix = path == "/" ? "/" : path + "/"
            return .success(.children(nodes.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }, nil))
        default: return .failure(ZooKeeperError(.unimplemented))
        }
    }

    /// What the cache should hold: every node's data by path.
    var contents: [String: [UInt8]] { nodes.mapValues(\.data) }
}

extension Script where Machine == CacheMachine {
    /// Answers every open request from `tree`, oldest first, until none is left.
    mutating func serve(_ tree: FakeTree) throws {
        while let request = open.first {
            try answer(tree.answer(request.operation)) { $0 == request.operation }
        }
    }

    var contents: [String: [UInt8]] { machine.nodes.mapValues(\.data) }

    var events: [CacheEvent] {
        notices(steps).compactMap { if case let .event(event) = $0 { event } else { nil } }
    }
}

@Suite struct CacheMachineTests {
    func tree() -> FakeTree {
        var tree = FakeTree()
        tree.set("/c", "root")
        tree.set("/c/a", "1")
        tree.set("/c/a/x", "deep")
        tree.set("/c/b", "2")
        return tree
    }

    func started(_ tree: FakeTree) throws -> Script<CacheMachine> {
        var script = Script(CacheMachine(path: "/c"))
        let steps = script.command { $0.start() }
        #expect(operations(steps).first == .addWatch(path: "/c", mode: .persistentRecursive))
        try script.serve(tree)
        return script
    }

    @Test func theFirstWalkReportsEveryNodeThenInitialized() throws {
        let tree = tree()
        let script = try started(tree)
        #expect(script.contents == tree.contents)
        #expect(Set(script.events.dropLast()) == Set(["/c", "/c/a", "/c/a/x", "/c/b"].map { CacheEvent(.created, $0) }))
        #expect(script.events.last == CacheEvent(.initialized, ""))
        #expect(script.machine.children("/c") == ["a", "b"])
        #expect(script.machine.children("/c/a/x") == [])
        #expect(script.machine.children("/nope") == nil)
        #expect(script.machine.node("/c/a")?.data == Array("1".utf8))
    }

    @Test func aMissingRootIsAnEmptyCacheUntilItsCreationEvent() throws {
        var tree = FakeTree()
        var script = try started(tree)
        #expect(script.events == [CacheEvent(.initialized, "")])
        tree.set("/c", "now")
        let watch = try #require(script.steps.compactMap { if case let .submit(r) = $0, case .addWatch = r.operation { r.token } else { nil } }.first)
        script.feed(.watch(watch, WatchEvent(type: .nodeCreated, state: .syncConnected, path: "/c")))
        try script.serve(tree)
        #expect(script.events.last == CacheEvent(.created, "/c"))
        #expect(script.contents == tree.contents)
    }

    @Test func eachEventIsReadAgainAndReported() throws {
        var tree = tree()
        var script = try started(tree)
        let watch = try #require(script.steps.compactMap { if case let .submit(r) = $0, case .addWatch = r.operation { r.token } else { nil } }.first)
        let before = script.events.count
        tree.set("/c/a", "changed")
        script.feed(.watch(watch, WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/c/a")))
        tree.set("/c/new", "n")
        script.feed(.watch(watch, WatchEvent(type: .nodeCreated, state: .syncConnected, path: "/c/new")))
        tree.delete("/c/b")
        script.feed(.watch(watch, WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/c/b")))
        try script.serve(tree)
        #expect(Array(script.events.dropFirst(before)) == [CacheEvent(.changed, "/c/a"), CacheEvent(.created, "/c/new"), CacheEvent(.deleted, "/c/b")])
        #expect(script.contents == tree.contents)
    }

    @Test func eventsMissedAcrossAReconnectAreFoundByWalkingAgain() throws {
        var tree = tree()
        var script = try started(tree)
        let before = script.events.count
        #expect(script.feed(.session(.disconnected)).isEmpty)
        // While away: no events reach the cache.
        tree.delete("/c/a/x")
        tree.delete("/c/a")
        tree.set("/c/b", "2'")
        tree.set("/c/d", "new")
        tree.set("/c/d/e", "newer")
        #expect(!operations(script.feed(.session(.reconnected))).isEmpty)
        try script.serve(tree)
        #expect(script.contents == tree.contents)
        let events = Array(script.events.dropFirst(before))
        #expect(Set(events) == [CacheEvent(.deleted, "/c/a/x"), CacheEvent(.deleted, "/c/a"), CacheEvent(.changed, "/c/b"),
                                CacheEvent(.created, "/c/d"), CacheEvent(.created, "/c/d/e")])
        // Deepest first, and no second "initialized".
        #expect(events.firstIndex(of: CacheEvent(.deleted, "/c/a/x"))! < events.firstIndex(of: CacheEvent(.deleted, "/c/a"))!)
        #expect(!events.contains(CacheEvent(.initialized, "")))
    }

    @Test func readsLostWithTheConnectionAreAskedAgain() throws {
        let tree = tree()
        var script = Script(CacheMachine(path: "/c"))
        script.command { $0.start() }
        let again = try script.answer(.failure(loss)) { if case .getData = $0 { true } else { false } }
        // Data and children again, together: the first listing came before the data and is not applied.
        #expect(operations(again) == [.getData(path: "/c", watch: false), .getChildren(path: "/c", watch: false, includeStat: false)])
        try script.serve(tree)
        #expect(script.contents == tree.contents)
        #expect(script.events.last == CacheEvent(.initialized, ""))
    }

    @Test func afterAnExpiryANewSessionsCacheReportsOnlyWhatDiffers() throws {
        var tree = tree()
        var script = try started(tree)
        let ended = script.feed(.session(.expired))
        #expect(notices(ended) == [.ended(ZooKeeperError(.sessionExpired, path: "/c"))])
        #expect(finishes(ended))
        tree.delete("/c/b")
        tree.set("/c/a", "1'")
        tree.set("/c/f", "f")

        var resumed = Script(CacheMachine(resuming: script.machine))
        resumed.command { $0.start() }
        try resumed.serve(tree)
        #expect(resumed.contents == tree.contents)
        #expect(Set(resumed.events) == [CacheEvent(.deleted, "/c/b"), CacheEvent(.changed, "/c/a"), CacheEvent(.created, "/c/f")])
    }

    @Test func aNodeDeletedAndMadeAgainBetweenTheWalkAndTheWatchIsReportedAsSuch() throws {
        var tree = tree()
        var script = Script(CacheMachine(path: "/c"))
        script.command { $0.start() }
        // The walk reads /c/b...
        try script.serve(tree)
        let before = script.events.count
        // ...then it is deleted and made again before the watch saw the deletion: the only
        // event heard is the creation, and the read shows a new node (a new creation zxid).
        tree.delete("/c/b")
        tree.set("/c/b", "again")
        let watch = try #require(script.steps.compactMap { if case let .submit(r) = $0, case .addWatch = r.operation { r.token } else { nil } }.first)
        script.feed(.watch(watch, WatchEvent(type: .nodeCreated, state: .syncConnected, path: "/c/b")))
        try script.serve(tree)
        #expect(Array(script.events.dropFirst(before)) == [CacheEvent(.deleted, "/c/b"), CacheEvent(.created, "/c/b")])
        #expect(script.contents == tree.contents)
    }

    @Test func aChildListedButGoneBeforeItsReadIsNeverReported() throws {
        var tree = tree()
        var script = Script(CacheMachine(path: "/c"))
        script.command { $0.start() }
        // Answer the root's reads, then delete /c/b before its own reads are answered.
        try script.answer(tree.answer(.addWatch(path: "/c", mode: .persistentRecursive)))
        try script.answer(tree.answer(.getData(path: "/c", watch: false))) { if case .getData = $0 { true } else { false } }
        try script.answer(tree.answer(.getChildren(path: "/c", watch: false, includeStat: false))) { if case .getChildren = $0 { true } else { false } }
        tree.delete("/c/b")
        try script.serve(tree)
        #expect(!script.events.contains(CacheEvent(.created, "/c/b")))
        #expect(!script.events.contains(CacheEvent(.deleted, "/c/b")))
        #expect(script.contents == tree.contents)
    }

    @Test func closeEndsTheCacheAndLaterAnswersAreIgnored() throws {
        var script = Script(CacheMachine(path: "/c"))
        script.command { $0.start() }
        let steps = script.command { $0.close() }
        #expect(notices(steps) == [.ended(nil)])
        #expect(finishes(steps))
        try script.serve(tree())
        #expect(script.events.isEmpty)
    }
}
