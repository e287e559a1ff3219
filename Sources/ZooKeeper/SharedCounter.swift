import ZooKeeperRecipes

/// A shared 32-bit counter: a node whose data is a 4-byte big-endian int, the layout of
/// Curator's `SharedCount` and kazoo's `Counter(support_curator=True)`, so all of them count
/// together. A missing node is created with 0 (its parents as containers). Changes are
/// compare-and-set: concurrent adds from any client all count.
///
/// ```swift
/// let counter = zk.counter("/app/jobs-done")
/// try await counter.set(0)
/// let value = try await counter.add(5)   // 5, or more if others added meanwhile
/// print(try await counter.get())
/// ```
public struct SharedCounter: Sendable {
    public let path: String
    private let client: ZooKeeperClient

    init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// The current value.
    public func get() async throws(ZooKeeperError) -> Int32 {
        try await run(.get)
    }

    /// Adds `delta` (wrapping at Int32's bounds, as Java's int does); returns the value written.
    /// Throws connectionLoss if the connection was lost while the change was in flight and the
    /// counter moved since, so whether the change happened is unknown.
    @discardableResult
    public func add(_ delta: Int32) async throws(ZooKeeperError) -> Int32 {
        try await run(.add(delta))
    }

    /// Sets the value, whatever it was.
    public func set(_ value: Int32) async throws(ZooKeeperError) {
        _ = try await run(.set(value))
    }

    private func run(_ change: CounterMachine.Change) async throws(ZooKeeperError) -> Int32 {
        let notice = await client.runOnce(CounterMachine(path: path, change: change)) { $0.start() }
        switch notice {
        case let .value(value): return value
        case let .failed(error): throw error
        }
    }
}
