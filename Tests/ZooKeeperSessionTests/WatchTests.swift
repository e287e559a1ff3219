import Testing
import ZooKeeperProtocol
import ZooKeeperSession

/// Registration after a successful reply, delivery, one-shot vs persistent, local removal.
@Suite struct SessionWatchTests {
    func connected() throws -> Harness {
        var h = try Harness("a:1")
        try h.connect()
        return h
    }

    func event(_ type: EventType, _ path: String) -> WatchEvent { WatchEvent(type: type, state: .syncConnected, path: path) }

    @Test func registrationWaitsForTheReply() throws {
        var h = try connected()
        let (_, sent) = h.submit(.getData(path: "/a", watch: true), watcher: 1)
        let request = try h.onlyRequest(sent)
        #expect(try request.body(GetDataRequest.self) == PathWatchRequest(path: "/a", watch: true))
        #expect(h.machine.watches.isEmpty)
        _ = h.receive(FakeServer.reply(xid: request.xid!, zxid: 1, GetDataResponse(data: [], stat: sampleStat)))
        #expect(h.machine.watches.watchers(path: "/a", kind: .data) == [1])
    }

    @Test func existsOnAMissingNodeLeavesAnExistWatch() throws {
        var h = try connected()
        try h.watchCreation("/new", 1)
        #expect(h.machine.watches.watchers(path: "/new", kind: .exist) == [1])
        #expect(h.machine.watches.watchers(path: "/new", kind: .data).isEmpty)
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeCreated, path: "/new"))) == [.watchEvent(event(.nodeCreated, "/new"), watchers: [1])])
        #expect(h.machine.watches.isEmpty)
    }

    @Test func existsOnAnExistingNodeLeavesADataWatch() throws {
        var h = try connected()
        let (id, actions) = try h.roundTrip(.exists(path: "/e", watch: true), watcher: 1, body: StatResponse(stat: sampleStat))
        #expect(acts(actions) == [.done(id, .stat(sampleStat))])
        #expect(h.machine.watches.watchers(path: "/e", kind: .data) == [1])
        #expect(h.machine.watches.paths(.exist).isEmpty)
    }

    @Test(arguments: [
        Operation.getData(path: "/gone", watch: true),
        .getChildren(path: "/gone", watch: true, includeStat: false),
        .getChildren(path: "/gone", watch: true, includeStat: true),
        .addWatch(path: "/gone", mode: .persistent),
    ])
    func aFailedRequestRegistersNothing(_ operation: Operation) throws {
        var h = try connected()
        let (id, actions) = try h.roundTrip(operation, watcher: 1, zxid: 3, err: .noNode)
        #expect(acts(actions) == [.failed(id, ZooKeeperError(.noNode, path: "/gone"))])
        #expect(h.machine.watches.isEmpty)
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeCreated, path: "/gone"))) == [.watchEvent(event(.nodeCreated, "/gone"), watchers: [])])
    }

    @Test func anExistsFailingOtherwiseRegistersNothing() throws {
        var h = try connected()
        let (id, actions) = try h.roundTrip(.exists(path: "/x", watch: true), watcher: 1, err: .noAuth)
        #expect(acts(actions) == [.failed(id, ZooKeeperError(.noAuth, path: "/x"))])
        #expect(h.machine.watches.isEmpty)
    }

    @Test func aWatchWithoutAWatcherIsRefused() throws {
        var h = try connected()
        for operation: Operation in [
            .getData(path: "/a", watch: true), .exists(path: "/a", watch: true),
            .getChildren(path: "/a", watch: true, includeStat: false), .addWatch(path: "/a", mode: .persistentRecursive),
            .getConfig(watch: true),
        ] {
            let (id, actions) = h.submit(operation, watcher: nil)
            guard case let .complete(completed, .failure(error))? = actions.first, actions.count == 1 else {
                Issue.record("\(operation): \(acts(actions))")
                continue
            }
            #expect(completed == id)
            #expect(error.code == .badArguments)
            #expect(error.path == operation.path)
        }
        #expect(h.machine.pendingCount == 0)
    }

    @Test func anEventReachesEachWatcherOnceAndOneShotWatchesAreThenGone() throws {
        var h = try connected()
        try h.watchData("/a", 1)
        try h.watchData("/a", 1)  // twice: still heard once
        try h.watchData("/a", 2)
        let (existsID, existsActions) = try h.roundTrip(.exists(path: "/a", watch: true), watcher: 3, body: StatResponse(stat: sampleStat))
        #expect(acts(existsActions) == [.done(existsID, .stat(sampleStat))])
        try h.watchChildren("/a", 4)
        try h.watchData("/b", 5)

        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/a"))) == [.watchEvent(event(.nodeDataChanged, "/a"), watchers: [1, 2, 3])])
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/a"))) == [.watchEvent(event(.nodeDataChanged, "/a"), watchers: [])])
        // The child watch is of another kind and still there.
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeChildrenChanged, path: "/a"))) == [.watchEvent(event(.nodeChildrenChanged, "/a"), watchers: [4])])
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeChildrenChanged, path: "/a"))) == [.watchEvent(event(.nodeChildrenChanged, "/a"), watchers: [])])
        #expect(h.machine.watches.paths(.data) == ["/b"])
    }

    @Test func deletionReachesDataExistAndChildWatches() throws {
        var h = try connected()
        try h.watchData("/a", 1)
        try h.watchChildren("/a", 2)
        try h.watchChildren("/a/b", 3)
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDeleted, path: "/a"))) == [.watchEvent(event(.nodeDeleted, "/a"), watchers: [1, 2])])
        #expect(h.machine.watches.paths(.child) == ["/a/b"])
    }

    @Test func persistentWatchesKeepFiring() throws {
        var h = try connected()
        try h.addWatch("/p", .persistent, 1)
        for type in [EventType.nodeDataChanged, .nodeDataChanged, .nodeChildrenChanged, .nodeDeleted, .nodeCreated] {
            #expect(acts(h.receive(FakeServer.watchEvent(type, path: "/p"))) == [.watchEvent(event(type, "/p"), watchers: [1])])
        }
        // Not for descendants.
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/p/c"))) == [.watchEvent(event(.nodeDataChanged, "/p/c"), watchers: [])])
        #expect(h.machine.watches.paths(.persistent) == ["/p"])
    }

    @Test func persistentRecursiveWatchesFireForDescendantsButNotForChildListChanges() throws {
        var h = try connected()
        try h.addWatch("/r", .persistentRecursive, 1)
        try h.addWatch("/", .persistentRecursive, 2)
        try h.watchChildren("/r", 3)
        let cases: [(EventType, String, Set<WatcherID>)] = [
            (.nodeCreated, "/r/x", [1, 2]),
            (.nodeDataChanged, "/r/x/y/z", [1, 2]),
            (.nodeDataChanged, "/r", [1, 2]),
            (.nodeDeleted, "/r/x", [1, 2]),
            (.nodeDataChanged, "/rr", [2]),  // a sibling with a common prefix is not a descendant
            (.nodeChildrenChanged, "/r", [3]),
            (.nodeChildrenChanged, "/r", []),
            (.nodeChildrenChanged, "/r/x", []),
            (.nodeDataChanged, "/r/x", [1, 2]),  // still registered
        ]
        for (type, path, watchers) in cases {
            #expect(acts(h.receive(FakeServer.watchEvent(type, path: path))) == [.watchEvent(event(type, path), watchers: watchers)], "\(type) \(path)")
        }
    }

    @Test func localRemovalRemovesAndNotifiesWithoutSending() throws {
        var h = try connected()
        try h.watchData("/a", 1)
        try h.watchChildren("/a", 2)
        try h.addWatch("/a", .persistent, 3)
        try h.addWatch("/a", .persistentRecursive, 4)
        try h.watchData("/other", 5)

        let (id, actions) = h.submit(.removeWatches(path: "/a", type: .any, local: true))
        #expect(acts(actions) == [
            .watchEvent(event(.dataWatchRemoved, "/a"), watchers: [1]),
            .watchEvent(event(.childWatchRemoved, "/a"), watchers: [2]),
            .watchEvent(event(.persistentWatchRemoved, "/a"), watchers: [3, 4]),
            .done(id, .done),
        ])
        #expect(!sendsAnything(actions))
        #expect(h.machine.watches.paths(.data) == ["/other"])
        #expect(acts(h.receive(FakeServer.watchEvent(.nodeDataChanged, path: "/a"))) == [.watchEvent(event(.nodeDataChanged, "/a"), watchers: [])])

        // Nothing left to remove.
        let (again, none) = h.submit(.removeWatches(path: "/a", type: .any, local: true))
        #expect(acts(none) == [.failed(again, ZooKeeperError(.noWatcher, path: "/a"))])
    }

    @Test func localRemovalByType() throws {
        var h = try connected()
        try h.watchData("/a", 1)
        try h.watchCreation("/a", 2)
        try h.watchChildren("/a", 3)
        let (dataID, data) = h.submit(.removeWatches(path: "/a", type: .data, local: true))
        #expect(acts(data) == [.watchEvent(event(.dataWatchRemoved, "/a"), watchers: [1, 2]), .done(dataID, .done)])
        #expect(h.machine.watches.watchers(path: "/a", kind: .child) == [3])
        let (childID, child) = h.submit(.removeWatches(path: "/a", type: .children, local: true))
        #expect(acts(child) == [.watchEvent(event(.childWatchRemoved, "/a"), watchers: [3]), .done(childID, .done)])
        #expect(h.machine.watches.isEmpty)
    }

    @Test func localRemovalWorksWhileDisconnected() throws {
        var h = try connected()
        try h.watchData("/a", 1)
        _ = h.connectionClosed()
        let (id, actions) = h.submit(.removeWatches(path: "/a", type: .data, local: true))
        #expect(acts(actions) == [.watchEvent(event(.dataWatchRemoved, "/a"), watchers: [1]), .done(id, .done)])
        // Not re-registered.
        let (_, reconnected) = try h.handshake()
        #expect(acts(reconnected) == [.sessionEvent(.reconnected, watchers: [])])
    }

    @Test func serverRemovalRemovesAfterTheReply() throws {
        var h = try connected()
        try h.watchChildren("/a", 1)
        let (id, sent) = h.submit(.removeWatches(path: "/a", type: .children, local: false))
        let request = try h.onlyRequest(sent)
        #expect(request.opCode == .removeWatches)
        #expect(try request.body(RemoveWatchesRequest.self) == WatchesRequest(path: "/a", type: .children))
        #expect(h.machine.watches.watchers(path: "/a", kind: .child) == [1])
        #expect(acts(h.receive(FakeServer.reply(xid: request.xid!, zxid: 2))) == [
            .watchEvent(event(.childWatchRemoved, "/a"), watchers: [1]),
            .done(id, .done),
        ])
        #expect(h.machine.watches.isEmpty)
    }

    @Test func terminalStateReachesEveryWatcherAndForgetsThem() throws {
        var h = try connected()
        try h.watchData("/a", 1)
        try h.addWatch("/p", .persistent, 2)
        #expect(acts(h.close()).count == 1)  // the closeSession send
        #expect(shapes(h.connectionClosed()) == [.sessionEvent(.closed, watchers: [1, 2])])
        #expect(h.machine.watches.isEmpty)
    }
}
