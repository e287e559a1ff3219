import ZooKeeperTesting

/// The read-only test bed of the NIO and direct drivers' probe tests: an ensemble whose servers
/// 1 and 2 are killed, so that server 3 serves read-only, and a single server killed at once,
/// whose port a test brings up (`other.restart(server: 1)`) as the read-write server to move to.
public struct ReadOnlyBed: Sendable {
    /// zoo.cfg lines a read-only server needs: it makes new sessions only as local ones.
    public static let configuration = ["localSessionsEnabled=true", "localSessionsUpgradingEnabled=true"]
    public static let javaOptions = ["-Dreadonlymode.enabled=true"]

    public let ensemble: ZooKeeperServer
    public let other: ZooKeeperServer
    /// The client port of the server left read-only.
    public let readOnlyPort: Int

    /// Returns once the lone server answers `isro` with "ro". Call `stopAll()` when done.
    public static func start() async throws -> ReadOnlyBed {
        let ensemble = try await ZooKeeperServer.start(servers: 3, configuration: configuration, javaOptions: javaOptions)
        let other = try await ZooKeeperServer.start(servers: 1)
        try await other.kill9(server: 1)
        try await ensemble.kill9(server: 1)
        try await ensemble.kill9(server: 2)
        let readOnlyPort = ensemble.port(of: 3)
        while (try? await ZooKeeperServer.fourLetterWord("isro", host: ZooKeeperServer.host, port: readOnlyPort)) != "ro" {
            try await Task.sleep(for: .milliseconds(200))
        }
        return ReadOnlyBed(ensemble: ensemble, other: other, readOnlyPort: readOnlyPort)
    }

    /// The read-only server first, then the read-write one to come.
    public var connectString: String { "127.0.0.1:\(readOnlyPort),127.0.0.1:\(other.port(of: 1))" }

    public func stopAll() {
        other.stopAll()
        ensemble.stopAll()
    }
}
