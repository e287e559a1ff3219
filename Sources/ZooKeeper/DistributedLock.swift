import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperRecipes

/// An exclusive lock shared with every client of the ensemble, Curator's `InterProcessMutex`
/// layout (`<path>/_c_<uuid>-lock-NNNNNNNNNN`): ours, Curator's and kazoo's (with
/// `extra_lock_patterns=["-lock-"]`) exclude each other. Not reentrant; one holder per object.
///
/// ```swift
/// let lock = zk.lock("/app/locks/billing")
/// try await lock.acquire(timeout: .seconds(10))
/// defer { Task { try? await lock.release() } }
/// // ... or, releasing on every exit:
/// try await lock.withLock { try await chargeCustomers() }
/// ```
///
/// If the connection is lost while held, `status` turns `.suspended` at once (before the
/// session could expire on the server): act as if the lock were lost until it is `.held`
/// again (the session came back with our node) or `.lost`. `statusChanges()` reports each.
public final class DistributedLock: Sendable {
    public enum Status: Sendable, Equatable {
        case released, acquiring, held
        /// Connection lost while held: the lock may be gone.
        case suspended
        /// The lock is gone (session ended or node deleted); `release` to reuse this object.
        case lost
    }

    public let path: String
    private let client: ZooKeeperClient
    /// A new acquisition (the mutex, a side of a read-write lock, a semaphore's lease).
    private let makeMachine: @Sendable (String) -> AcquisitionMachine

    private struct Attempt {
        var id: UInt64
        var runner: RecipeRunner<AcquisitionMachine>
        var acquired: OneShot<Result<Void, ZooKeeperError>>
        var released: OneShot<Result<Void, ZooKeeperError>>?
    }

    private struct Inner {
        var status = Status.released
        var attempt: Attempt?
        var attempts: UInt64 = 0
        var observers: [UInt64: AsyncStream<Status>.Continuation] = [:]
        var observerIDs: UInt64 = 0
    }

    private let inner = NIOLockedValueBox(Inner())

    init(client: ZooKeeperClient, path: String, machine: @escaping @Sendable (String) -> AcquisitionMachine = { .lock(LockMachine(path: $0)) }) {
        self.client = client
        self.path = path
        makeMachine = machine
    }

    /// Where the lock stands for this object.
    public var status: Status { inner.withLockedValue { $0.status } }
    /// Whether the lock is held (and the connection up).
    public var isHeld: Bool { status == .held }
    /// Our node in the line of contenders (`<path>/_c_<uuid>-lock-NNNNNNNNNN`), from its
    /// creation until it is released; nil otherwise. For logs and for telling holders apart.
    public var nodePath: String? {
        let runner = inner.withLockedValue { $0.attempt?.runner }
        return runner?.read { $0.ourPath }
    }

    /// Waits until the lock is ours. Throws operationTimeout after `timeout` (our place in line
    /// is given up), CancellationError if the task is cancelled, or the session's error.
    public func acquire(timeout: Duration? = nil) async throws {
        let waiter = OneShot<Result<Void, ZooKeeperError>>()
        let id: UInt64 = try inner.withLockedValue { inner in
            guard inner.attempt == nil else {
                throw ZooKeeperError(.badArguments, path: path, message: "this lock object already holds or is acquiring the lock")
            }
            inner.attempts += 1
            return inner.attempts
        }
        let runner = client.recipeRunner(makeMachine(path)) { [weak self] notice in self?.heard(notice, attempt: id) }
        inner.withLockedValue { inner in
            inner.attempt = Attempt(id: id, runner: runner, acquired: waiter)
            set(.acquiring, in: &inner)
        }
        runner.start { $0.acquire() }
        let result = await client.awaitOutcome(waiter, timeout: timeout, waitingFor: "acquired") { [weak self] reason in
            self?.giveUp(attempt: id, ZooKeeperError(.operationTimeout, path: self?.path, message: reason))
        }
        try Task.checkCancellation()
        try result.get()
    }

    /// Lets the lock go and waits until our node is deleted (others may then take it). Does
    /// nothing when the lock is not held.
    public func release() async throws(ZooKeeperError) {
        let pending: (RecipeRunner<AcquisitionMachine>, OneShot<Result<Void, ZooKeeperError>>)? = inner.withLockedValue { inner in
            guard var attempt = inner.attempt else { return nil }
            let done = attempt.released ?? OneShot()
            attempt.released = done
            inner.attempt = attempt
            return (attempt.runner, done)
        }
        guard let (runner, done) = pending else { return }
        runner.perform { $0.release() }
        try await done.value.get()
    }

    /// Runs `body` holding the lock, and releases it however `body` ends.
    public func withLock<T>(timeout: Duration? = nil, _ body: () async throws -> T) async throws -> T {
        try await acquire(timeout: timeout)
        let value: T
        do {
            value = try await body()
        } catch {
            try? await release()
            throw error
        }
        try await release()
        return value
    }

    /// Status changes as an async sequence (the current status first); it ends when the
    /// consumer stops iterating.
    public func statusChanges() -> AsyncStream<Status> {
        AsyncStream { continuation in
            let id = inner.withLockedValue { inner -> UInt64 in
                inner.observerIDs += 1
                inner.observers[inner.observerIDs] = continuation
                continuation.yield(inner.status)
                return inner.observerIDs
            }
            continuation.onTermination = { [weak self] _ in
                _ = self?.inner.withLockedValue { $0.observers.removeValue(forKey: id) }
            }
        }
    }

    // MARK: Notices

    private func heard(_ notice: AcquisitionMachine.Notice, attempt id: UInt64) {
        inner.withLockedValue { inner in
            guard let attempt = inner.attempt, attempt.id == id else { return }
            switch notice {
            case .acquired:
                set(.held, in: &inner)
                attempt.acquired.fulfil(.success(()))
            case .suspended:
                set(.suspended, in: &inner)
            case let .lost(error):
                set(.lost, in: &inner)
                attempt.acquired.fulfil(.failure(error))
                attempt.released?.fulfil(.success(()))
            case .released:
                inner.attempt = nil
                set(.released, in: &inner)
                attempt.released?.fulfil(.success(()))
            case let .failed(error):
                if attempt.released != nil {
                    attempt.released?.fulfil(.failure(error))
                } else {
                    inner.attempt = nil
                    set(.released, in: &inner)
                }
                attempt.acquired.fulfil(.failure(error))
            }
        }
    }

    /// Abandons an attempt still waiting (time-out, cancellation).
    private func giveUp(attempt id: UInt64, _ error: ZooKeeperError) {
        let runner: RecipeRunner<AcquisitionMachine>? = inner.withLockedValue { inner in
            guard let attempt = inner.attempt, attempt.id == id, inner.status == .acquiring else { return nil }
            inner.attempt = nil
            set(.released, in: &inner)
            attempt.acquired.fulfil(.failure(error))
            return attempt.runner
        }
        runner?.perform { $0.abandon() }
    }

    private func set(_ status: Status, in inner: inout Inner) {
        guard inner.status != status else { return }
        inner.status = status
        for observer in inner.observers.values { observer.yield(status) }
    }
}
