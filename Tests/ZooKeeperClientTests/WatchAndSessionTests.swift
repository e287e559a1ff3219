import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite struct WatchTests {
    @Test func oneShotWatchesFireOnceForEachRegistration() async throws {
        let zk = try await connectShared()
        let writer = try await connectShared()
        let root = uniqueRoot("watch")
        try await zk.create(root)

        let data = EventLog<WatchEvent>(), data2 = EventLog<WatchEvent>(), exist = EventLog<WatchEvent>(), child = EventLog<WatchEvent>()
        _ = try await zk.getData(root) { data.append($0) }
        _ = try await zk.exists(root) { data2.append($0) }
        #expect(try await zk.exists(root + "/kid") { exist.append($0) } == nil, "exists on a missing node leaves a watch")
        _ = try await zk.getChildren(root) { child.append($0) }

        try await writer.create(root + "/kid")
        #expect(await exist.wait() == [WatchEvent(type: .nodeCreated, state: .syncConnected, path: root + "/kid")])
        #expect(await child.wait() == [WatchEvent(type: .nodeChildrenChanged, state: .syncConnected, path: root)])
        try await writer.setData(root, data: [1])
        #expect(await data.wait() == [WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: root)])
        #expect(await data2.wait() == [WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: root)])

        // One-shot: a second change is not heard.
        try await writer.setData(root, data: [2])
        try await writer.create(root + "/kid2")
        try await zk.sync(root)
        _ = try await zk.getData(root)
        #expect(data.events.count == 1 && data2.events.count == 1 && child.events.count == 1 && exist.events.count == 1)
        await zk.close()
        await writer.close()
    }

    @Test func aFailedRequestLeavesNoWatch() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("nowatch")
        let events = EventLog<WatchEvent>()
        await expectCode(.noNode) { try await zk.getData(root) { events.append($0) } }
        try await zk.create(root)
        try await zk.setData(root, data: [1])
        _ = try await zk.getData(root)
        #expect(events.events.isEmpty)
        await zk.close()
    }

    @Test func persistentAndRecursiveWatchesKeepFiring() async throws {
        let zk = try await connectShared()
        let writer = try await connectShared()
        let root = uniqueRoot("persist")
        try await writer.create(root)
        // The server keeps one watch mode per session and path, so the plain persistent watch
        // lives on a session of its own.
        let other = try await connectShared()
        let persistent = EventLog<WatchEvent>()
        try await other.addWatch(root, mode: .persistent) { persistent.append($0) }
        let stream = try await zk.watchEvents(root, mode: .persistentRecursive)
        let reader = Task { var seen: [WatchEvent] = []; for await e in stream { seen.append(e); if seen.count == 4 { break } }; return seen }

        try await writer.setData(root, data: [1])
        try await writer.create(root + "/a")
        try await writer.create(root + "/a/b")
        try await writer.setData(root + "/a/b", data: [1])
        try await writer.setData(root, data: [2])

        let p = await persistent.wait(count: 3)
        #expect(p.map(\.type) == [.nodeDataChanged, .nodeChildrenChanged, .nodeDataChanged])
        let r = await reader.value
        #expect(r.map(\.path) == [root, root + "/a", root + "/a/b", root + "/a/b"])
        #expect(r.map(\.type) == [.nodeDataChanged, .nodeCreated, .nodeCreated, .nodeDataChanged])

        try await other.removeWatches(root, type: .any)
        let removed = await persistent.wait(count: 4)
        #expect(removed.last?.type == .persistentWatchRemoved)
        try await writer.setData(root, data: [3])
        _ = try await other.getData(root)
        #expect(persistent.events.count == 4)
        await zk.close()
        await other.close()
        await writer.close()
    }

    @Test func checkAndRemoveWatchesLocally() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("local")
        try await zk.create(root)
        let events = EventLog<WatchEvent>()
        _ = try await zk.getData(root) { events.append($0) }
        try await zk.checkWatches(root, type: .data)
        await expectCode(.noWatcher) { try await zk.checkWatches(root, type: .children) }
        try await zk.removeWatches(root, type: .data, local: true)
        #expect(await events.wait() == [WatchEvent(type: .dataWatchRemoved, state: .syncConnected, path: root)])
        await expectCode(.noWatcher) { try await zk.removeWatches(root, type: .data, local: true) }
        await zk.close()
    }
}

@Suite struct SessionLifecycleTests {
    @Test func stateChangesAndClose() async throws {
        let server = try await ZooKeeperServer.shared()
        let states = EventLog<SessionEvent>()
        // Given to init: a handler added afterwards may miss `.connected`.
        let zk = try ZooKeeperClient(configuration: .init(connectString: server.connectString, sessionTimeout: .seconds(5)),
                                     onStateChange: { states.append($0) })
        try await zk.waitUntilConnected(timeout: .seconds(10))
        #expect(zk.state == .connected)
        #expect(zk.sessionTimeout == .seconds(5))
        #expect(zk.sessionPassword.count == 16)
        let cons = try await server.fourLetterWord("cons", server: 1)
        #expect(cons.contains("sid=\(SessionId.hex(zk.sessionId))"))

        let root = uniqueRoot("close")
        try await zk.create(root, mode: .ephemeral)
        await zk.close()
        await zk.close()  // idempotent
        #expect(zk.state == .closed)
        #expect(await states.wait(count: 3) == [.connecting, .connected, .closed])
        await expectCode(.closed) { try await zk.exists(root) }

        let other = try await connectShared()
        #expect(try await other.exists(root) == nil, "closing ends the session: its ephemeral is gone at once")
        await other.close()
    }

    @Test func connectHandsTheHandlerEveryChangeFromTheFirst() async throws {
        let server = try await ZooKeeperServer.shared()
        let states = EventLog<SessionEvent>()
        let zk = try await ZooKeeperClient.connect(configuration: .init(connectString: server.connectString),
                                                   onStateChange: { states.append($0) })
        // In place before the start, and called before connect's own waiter.
        #expect(states.events == [.connecting, .connected])
        await zk.close()
        #expect(await states.wait(count: 3).last == .closed)
    }

    @Test func resumeASessionByIdAndPassword() async throws {
        let server = try await ZooKeeperServer.shared()
        // A bare connection creates the session and then goes quiet, as a crashed process would.
        let first = try PlainConnection(port: server.port(of: 1), sessionTimeout: 10_000)
        let root = uniqueRoot("resume")
        #expect(try first.call(.create, CreateRequest(path: root, data: [], acl: Ids.openACLUnsafe, mode: .ephemeral)).error == .ok)
        let resumed = try await ZooKeeperClient.connect(configuration: .init(
            connectString: server.connectString, sessionTimeout: .seconds(10),
            sessionId: first.session.sessionId, password: first.session.passwd))
        #expect(resumed.sessionId == first.session.sessionId)
        #expect(try await resumed.getEphemerals(prefix: root) == [root], "the resumed session owns the ephemeral")
        await resumed.close()
        let other = try await connectShared()
        #expect(try await other.exists(root) == nil)
        await other.close()

        // A wrong password is refused as an expired session.
        let refused = try? await ZooKeeperClient.connect(configuration: .init(
            connectString: server.connectString, sessionTimeout: .seconds(10),
            sessionId: first.session.sessionId, password: [UInt8](repeating: 1, count: 16)), timeout: .seconds(5))
        #expect(refused == nil)
    }

    @Test func unreachableServerFailsToConnect() async throws {
        let start = ContinuousClock.now
        await #expect(throws: ZooKeeperError.self) {
            try await ZooKeeperClient.connect("127.0.0.1:1", sessionTimeout: .seconds(2), timeout: .seconds(1))
        }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func requestsTimeOutWhileNoServerAnswers() async throws {
        let zk = try ZooKeeperClient(configuration: .init(connectString: "127.0.0.1:1", sessionTimeout: .seconds(2), requestTimeout: .milliseconds(300)))
        await expectCode(.operationTimeout) { try await zk.exists("/") }
        await zk.close()
        #expect(zk.state == .closed)
    }
}
