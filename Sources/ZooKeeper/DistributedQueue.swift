import ZooKeeperRecipes

/// A distributed FIFO queue, Curator's `SimpleDistributedQueue` layout: each item is a
/// persistent-sequential `<path>/qn-NNNNNNNNNN` node holding its bytes; a take reads and
/// deletes the lowest one. Ours and Curator's feed and drain one queue together; every item
/// goes to exactly one taker.
///
/// ```swift
/// let jobs = zk.queue("/app/jobs")
/// try await jobs.put(Array("resize 42".utf8))
/// let next = try await jobs.take(timeout: .seconds(5))   // throws operationTimeout when empty
/// ```
public struct DistributedQueue: Sendable {
    public let path: String
    private let client: ZooKeeperClient

    init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Adds an item at the end; returns its node's path. After a connection loss it throws
    /// connectionLoss and the item may or may not be in the queue (it is never added twice).
    @discardableResult
    public func put(_ data: [UInt8]) async throws(ZooKeeperError) -> String {
        switch await client.runOnce(QueuePutMachine(path: path, data: data), start: { $0.start() }) {
        case let .put(path): return path
        case let .failed(error): throw error
        }
    }

    /// Takes the first item, waiting for one when the queue is empty: up to `timeout` (then
    /// throws operationTimeout), or until the task is cancelled (CancellationError). An item
    /// whose take was given up just as it was taken goes back to the end of the queue.
    public func take(timeout: Duration? = nil) async throws -> [UInt8] {
        let answer = OneShot<QueueTakeMachine.Notice>()
        let put = { @Sendable [client, path] (data: [UInt8]) in
            // Taken after its taker gave up: it goes back rather than being lost.
            client.recipeRunner(QueuePutMachine(path: path, data: data)) { _ in }.start { $0.start() }
        }
        let runner = client.recipeRunner(QueueTakeMachine(path: path)) { notice in
            if !answer.fulfil(notice), case let .item(data) = notice { put(data) }
        }
        runner.start { $0.start() }
        let notice = await client.awaitOutcome(answer, timeout: timeout, waitingFor: "taken") { [path] reason in
            if answer.fulfil(.failed(ZooKeeperError(.operationTimeout, path: path, message: reason))) {
                runner.perform { $0.abandon() }
            }
        }
        switch notice {
        case let .item(data): return data  // taken: ours even if the task was cancelled meanwhile
        case let .failed(error):
            try Task.checkCancellation()
            throw error
        }
    }
}
