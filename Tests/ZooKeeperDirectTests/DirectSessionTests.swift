import NIOConcurrencyHelpers
import Testing
import ZooKeeperDirect
import ZooKeeperProtocol
import ZooKeeperSession
import ZooKeeperTestSupport

/// The direct driver against a real server: the caller drives its own requests; the poller
/// keeps an idle session alive and delivers its events.
@Suite struct DirectSessionTests {
    final class Box<T: Sendable>: Sendable {
        let value = NIOLockedValueBox<T?>(nil)
        func set(_ v: T) { value.withLockedValue { $0 = v } }
        var get: T? { value.withLockedValue { $0 } }
    }

    func session(timeout: Int64 = 10_000) async throws -> DirectSession {
        let server = try await ZooKeeperServer.shared()
        let session = DirectSession(configuration: SessionConfiguration(connectString: try ConnectString(server.connectString), sessionTimeout: timeout))
        let connected = Box<SessionEvent>()
        session.onStateChange { connected.set($0) }
        session.start()
        await session.driveOffPool(until: monotonicMillis() + 10_000) { connected.get == .connected }
        #expect(session.state == .connected)
        return session
    }

    func perform(_ session: DirectSession, _ operation: Operation, watch: DirectSession.WatchHandler? = nil) async -> Result<OperationResult, ZooKeeperError>? {
        let box = Box<Result<OperationResult, ZooKeeperError>>()
        session.submit(operation, watch: watch, timeout: 5_000) { box.set($0) }
        await session.driveOffPool(until: monotonicMillis() + 6_000) { box.get != nil }
        return box.get
    }

    @Test func theCallerDrivesItsRequests() async throws {
        let zk = try await session()
        let path = "/direct-\(UInt32.random(in: 0...UInt32.max))"
        #expect(await perform(zk, .create(path: path, data: [1, 2], acl: Ids.openACLUnsafe, mode: .ephemeral)).map { if case .success(.created(path, _)) = $0 { true } else { false } } == true)
        for _ in 0..<200 {
            guard case .success(.data(let data, _))? = await perform(zk, .getData(path: path, watch: false)) else { Issue.record("getData failed"); return }
            #expect(data == [1, 2])
        }
        let closed = Box<Bool>()
        zk.close { closed.set(true) }
        await zk.driveOffPool(until: monotonicMillis() + 3_000) { closed.get == true }
        #expect(zk.state == .closed)
    }

    @Test func thePollerKeepsAnIdleSessionAliveAndDeliversEvents() async throws {
        let zk = try await session(timeout: 2_000)
        let writer = try await session()
        let path = "/direct-idle-\(UInt32.random(in: 0...UInt32.max))"
        _ = await perform(writer, .create(path: path, data: [], acl: Ids.openACLUnsafe, mode: .persistent))
        let event = Box<WatchEvent>()
        _ = await perform(zk, .getData(path: path, watch: true), watch: { event.set($0) })
        let id = zk.facts.sessionId

        // Idle for longer than the session timeout: only the poller's pings keep it.
        try await Task.sleep(for: .seconds(3))
        #expect(zk.state == .connected && zk.facts.sessionId == id)
        _ = await perform(writer, .setData(path: path, data: [9], version: -1))
        for _ in 0..<100 where event.get == nil { try await Task.sleep(for: .milliseconds(20)) }
        #expect(event.get == WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: path), "delivered by the poller")
        if case .success(.stat(let stat))? = await perform(zk, .exists(path: path, watch: false)) { #expect(stat?.version == 1) } else { Issue.record("exists failed") }
        zk.close()
        writer.close()
    }

    /// A completion runs with the session locked; work it hands to `runUnlocked` may call the
    /// session again (a recipe's next request), on the driving caller and on the poller alike.
    @Test func workHandedOverByACompletionRunsOnceTheLockIsReleased() async throws {
        let zk = try await session()
        let second = Box<Result<OperationResult, ZooKeeperError>>()
        let chain: @Sendable (Result<OperationResult, ZooKeeperError>) -> Void = { _ in
            zk.runUnlocked {
                zk.submit(.exists(path: "/", watch: false), timeout: 5_000) { second.set($0) }
            }
        }
        // Driven by the caller: the hand-over runs inside its drive, which then sees the answer.
        zk.submit(.exists(path: "/", watch: false), timeout: 5_000, completion: chain)
        await zk.driveOffPool(until: monotonicMillis() + 6_000) { second.get != nil }
        #expect(second.get.map { if case .success(.stat(.some)) = $0 { true } else { false } } == true)

        // Nobody drives: the poller answers the first, runs the hand-over, answers the second.
        let idle = Box<Result<OperationResult, ZooKeeperError>>()
        zk.submit(.exists(path: "/", watch: false), timeout: 5_000) { _ in
            zk.runUnlocked { zk.submit(.exists(path: "/", watch: false), timeout: 5_000) { idle.set($0) } }
        }
        for _ in 0..<250 where idle.get == nil { try await Task.sleep(for: .milliseconds(20)) }
        #expect(idle.get.map { if case .success(.stat(.some)) = $0 { true } else { false } } == true, "run by the poller")
        zk.close()
    }
}
