import ServiceLifecycle

/// A client is a swift-service-lifecycle `Service`: hand it to a `ServiceGroup` and the group
/// owns the session's end.
///
/// ```swift
/// let zk = try ZooKeeperClient(configuration: .init(connectString: "10.0.0.1:2181"))
/// let group = ServiceGroup(services: [zk, server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
extension ZooKeeperClient: Service {
    /// Keeps the session (the client connects and reconnects by itself) until the group shuts
    /// down gracefully or this task is cancelled, then closes it, so its ephemeral nodes go at
    /// once. A session that expires meanwhile does not end `run()`: watch `stateChanges()`.
    public func run() async throws {
        // Returns on graceful shutdown, throws CancellationError on cancellation: close either way.
        try? await gracefulShutdown()
        await close()
    }
}
