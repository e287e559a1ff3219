import Logging
import ServiceLifecycle
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The client as a swift-service-lifecycle Service.
@Suite struct ServiceLifecycleTests {
    @Test func gracefulShutdownOfTheGroupClosesTheSession() async throws {
        let zk = try await connectShared()
        let observer = try await connectShared()
        let path = uniqueRoot("service")
        _ = try await zk.create(path, mode: .ephemeral)
        #expect(try await observer.exists(path)?.ephemeralOwner == zk.sessionId)

        let group = ServiceGroup(services: [zk], logger: Logger(label: "service-lifecycle-test"))
        let running = Task { try await group.run() }
        await group.triggerGracefulShutdown()
        try await running.value

        #expect(zk.state == .closed)
        // Gone at once: the session was closed, not left to expire.
        #expect(try await observer.exists(path) == nil)
        await observer.close()
    }

    @Test func cancellingTheServiceTaskClosesTheSession() async throws {
        let zk = try await connectShared()
        let running = Task { try await zk.run() }
        running.cancel()
        try await running.value
        #expect(zk.state == .closed)
    }
}
