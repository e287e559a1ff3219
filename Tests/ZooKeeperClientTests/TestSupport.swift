import Testing
import ZooKeeper
import ZooKeeperTestSupport
import NIOConcurrencyHelpers

/// Collects events from callbacks, with the moment each arrived, so tests can wait for them and
/// time them by their arrival rather than by when a polling test task got to run.
final class EventLog<Event: Sendable>: Sendable {
    private let box = NIOLockedValueBox<[(event: Event, at: ContinuousClock.Instant)]>([])

    var events: [Event] { box.withLockedValue { $0.map(\.event) } }

    func append(_ event: Event) { box.withLockedValue { $0.append((event, .now)) } }

    /// Waits until an event matching `predicate` arrived; returns when it arrived, or nil.
    func waitFor(timeout: Duration, _ predicate: @escaping (Event) -> Bool) async -> ContinuousClock.Instant? {
        await waitFor(timeout: timeout, after: nil, predicate)
    }

    /// Waits until an event matching `predicate` arrived after one matching `earlier` (when
    /// given); returns when it arrived, or nil.
    func waitFor(timeout: Duration, after earlier: ((Event) -> Bool)?, _ predicate: @escaping (Event) -> Bool) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let arrival = box.withLockedValue { log -> ContinuousClock.Instant? in
                var start = log.startIndex
                if let earlier {
                    guard let index = log.firstIndex(where: { earlier($0.event) }) else { return nil }
                    start = index + 1
                }
                return log[start...].first { predicate($0.event) }?.at
            }
            if let arrival { return arrival }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits until `count` events arrived, or fails the test after `timeout`.
    @discardableResult
    func wait(count: Int = 1, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation) async -> [Event] {
        let deadline = ContinuousClock.now + timeout
        while events.count < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let seen = events
        #expect(seen.count >= count, "waited for \(count) events, got \(seen)", sourceLocation: sourceLocation)
        return seen
    }
}

func uniqueRoot(_ name: String) -> String { "/\(name)-\(UInt32.random(in: 0...UInt32.max))" }

func connectShared(chroot: String = "", sessionTimeout: Duration = .seconds(10)) async throws -> ZooKeeperClient {
    let server = try await ZooKeeperServer.shared()
    return try await ZooKeeperClient.connect(server.connectString + chroot, sessionTimeout: sessionTimeout)
}

/// Expects `body` to fail with the ZooKeeper `code`.
func expectCode<T>(_ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async {
    do {
        _ = try await body()
        Issue.record("expected \(code.name), got success", sourceLocation: sourceLocation)
    } catch let error as ZooKeeperError {
        #expect(error.code == code, "expected \(code.name), got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.name), got \(error)", sourceLocation: sourceLocation)
    }
}

/// The ensemble's id of the server `client` is connected to.
func serverID(of client: ZooKeeperClient, in ensemble: ZooKeeperServer) throws -> Int {
    let host = try #require(client.currentHost)
    return try #require(ensemble.serverIDs.first { ensemble.port(of: $0) == host.port })
}

extension ZooKeeperClient {
    /// `path`'s children as the leader has them, none when it is missing. ZooKeeper orders a
    /// client's own operations only: a plain read on another server may not see other clients'
    /// writes yet (a lock's parent another client just made was NONODE on a lagging follower).
    func childrenAfterSync(_ path: String) async throws -> [String] {
        do {
            try await sync(path)
            return try await getChildren(path)
        } catch let error as ZooKeeperError where error.code == .noNode {
            return []
        }
    }
}
