import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperRecipes

/// A barrier shared with every client of the ensemble, Curator's `DistributedBarrier` layout:
/// it is up while its node exists; waiters pass once it is removed.
///
/// ```swift
/// let gate = zk.barrier("/app/barriers/deploy")
/// try await gate.set()                          // the coordinator raises it
/// try await gate.wait(timeout: .seconds(30))    // workers wait for it to go
/// try await gate.remove()                       // the coordinator lets them through
/// ```
public final class DistributedBarrier: Sendable {
    public let path: String
    private let client: ZooKeeperClient

    init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Raises the barrier (makes its node, parents as containers); already up is fine.
    public func set() async throws { try await run(.set, timeout: nil) }

    /// Removes the barrier; already down is fine.
    public func remove() async throws { try await run(.remove, timeout: nil) }

    /// Returns once the barrier is down (at once if it is). Throws operationTimeout after
    /// `timeout`, CancellationError if the task is cancelled, or the session's error.
    public func wait(timeout: Duration? = nil) async throws { try await run(.wait, timeout: timeout) }

    private func run(_ command: BarrierMachine.Command, timeout: Duration?) async throws {
        let outcome = OneShot<Result<Void, ZooKeeperError>>()
        let runner = client.recipeRunner(BarrierMachine(path: path, command: command)) { notice in
            switch notice {
            case .done: outcome.fulfil(.success(()))
            case let .failed(error): outcome.fulfil(.failure(error))
            }
        }
        runner.start { $0.start() }
        try await client.awaitRecipe(outcome, timeout: timeout, path: path) { runner.perform { $0.abandon() } }
    }
}

/// One member of a double barrier, Curator's `DistributedDoubleBarrier` layout (an ephemeral
/// `<path>/<uuid>` per member, `<path>/ready` once `count` are in): `enter` returns once
/// `count` members have entered, `leave` once all of them have left.
///
/// ```swift
/// let round = zk.doubleBarrier("/app/rounds/7", count: 3)
/// try await round.enter(timeout: .seconds(30))
/// try await compute()
/// try await round.leave(timeout: .seconds(30))
/// ```
public final class DistributedDoubleBarrier: Sendable {
    public let path: String
    public let count: Int
    private let client: ZooKeeperClient

    private struct Inner {
        var runner: RecipeRunner<DoubleBarrierMachine>?
        var waiter: OneShot<Result<Void, ZooKeeperError>>?
    }

    private let inner = NIOLockedValueBox(Inner())

    init(client: ZooKeeperClient, path: String, count: Int) {
        self.client = client
        self.path = path
        self.count = count
    }

    /// A member dropped while in gives its place up (its node is deleted).
    deinit {
        inner.withLockedValue { $0.runner }?.perform { $0.abandon() }
    }

    /// Joins and waits until `count` members are in. Throws operationTimeout after `timeout`
    /// (our node is deleted), CancellationError if the task is cancelled, or the session's error.
    public func enter(timeout: Duration? = nil) async throws {
        guard count >= 1 else { throw ZooKeeperError(.badArguments, path: path, message: "a double barrier needs at least 1 member, not \(count)") }
        let outcome = OneShot<Result<Void, ZooKeeperError>>()
        let runner = client.recipeRunner(DoubleBarrierMachine(path: path, count: count)) { [weak self] notice in
            self?.heard(notice)
        }
        try inner.withLockedValue { inner in
            guard inner.runner == nil else { throw ZooKeeperError(.badArguments, path: path, message: "this member has entered already; leave first") }
            inner.runner = runner
            inner.waiter = outcome
        }
        runner.start { $0.enter() }
        try await wait(outcome, runner, timeout: timeout)
    }

    /// Leaves and waits until every member has left. Throws operationTimeout after `timeout`.
    public func leave(timeout: Duration? = nil) async throws {
        let outcome = OneShot<Result<Void, ZooKeeperError>>()
        let runner = try inner.withLockedValue { inner in
            guard let runner = inner.runner, runner.read(\.hasEntered) else {
                throw ZooKeeperError(.badArguments, path: path, message: "this member has not entered")
            }
            inner.waiter = outcome
            return runner
        }
        runner.perform { $0.leave() }
        try await wait(outcome, runner, timeout: timeout)
    }

    private func wait(_ outcome: OneShot<Result<Void, ZooKeeperError>>, _ runner: RecipeRunner<DoubleBarrierMachine>, timeout: Duration?) async throws {
        do {
            try await client.awaitRecipe(outcome, timeout: timeout, path: path) { runner.perform { $0.abandon() } }
        } catch {
            inner.withLockedValue { $0.runner = nil }
            throw error
        }
        if runner.read(\.isDone) { inner.withLockedValue { $0.runner = nil } }
    }

    private func heard(_ notice: DoubleBarrierMachine.Notice) {
        let waiter = inner.withLockedValue { inner in
            defer { inner.waiter = nil }
            return inner.waiter
        }
        switch notice {
        case .entered, .left: waiter?.fulfil(.success(()))
        case let .failed(error): waiter?.fulfil(.failure(error))
        }
    }
}
