import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// What a caller gets when it stops waiting, stops listening, or asks for a reply larger than
/// it accepts: real servers, real sockets.
@Suite(.serialized) struct CancellationAndLimitsTests {
    /// With the only server frozen, a task awaiting `exists` is cancelled: it returns at once
    /// with CancellationError (not seconds later with connectionLoss), and its watch is not set.
    @Test func aCancelledCallReturnsAtOnce() async throws {
        let server = try await ZooKeeperServer.start()
        defer { server.stopAll() }
        let zk = try await ZooKeeperClient.connect(server.connectString, sessionTimeout: .seconds(6))
        defer { Task { await zk.close() } }
        let root = uniqueRoot("cancel")
        try await zk.create(root)

        try await server.stop(server: 1)
        let fired = EventLog<WatchEvent>()
        // The call and the waiting run on the client's I/O thread (`ioExecutor`), not on the
        // cooperative pool: other suites running in parallel block pool threads with their
        // synchronous drivers and child processes, and stretched the two task hops on the pool
        // to 1.3 s in CI. Without the cancellation handler the answer comes only when the silent
        // connection is declared dead (two thirds of the 6 s session timeout): 1 s tells the two
        // apart.
        let call = Task(executorPreference: zk.ioExecutor) { try await zk.exists(root) { fired.append($0) } }
        try await Task.sleep(for: .milliseconds(200))  // the request is written, the server silent
        let (outcome, took) = await withTaskExecutorPreference(zk.ioExecutor) {
            let cancelledAt = ContinuousClock.now
            call.cancel()
            let outcome = await call.result
            return (outcome, ContinuousClock.now - cancelledAt)
        }
        #expect(took < .seconds(1), "returned \(took) after the cancel")
        #expect(throws: CancellationError.self) { try outcome.get() }

        try await server.resume(server: 1)
        try await zk.waitUntilConnected(timeout: .seconds(10))
        try await zk.setData(root, data: [1])
        // The dropped request's watch was never registered: nothing hears the change, and
        // the next call on the session answers normally.
        #expect(try await zk.exists(root)?.version == 1)
        try await Task.sleep(for: .milliseconds(200))
        #expect(fired.events.allSatisfy { $0.type == .none }, "\(fired.events)")
    }

    /// A task cancelled before its call starts does not send it.
    @Test func anAlreadyCancelledTaskSendsNothing() async throws {
        let zk = try await connectShared()
        defer { Task { await zk.close() } }
        let root = uniqueRoot("precancel")
        let call = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await zk.create(root)
        }
        await #expect(throws: CancellationError.self) { try await call.value }
        #expect(try await zk.exists(root) == nil)
    }

    /// A consumer that stops iterating a watchEvents sequence removes its persistent watch
    /// from the server too: checkWatches finds none, and later changes reach nobody.
    @Test func aConsumerThatStopsRemovesItsWatch() async throws {
        let zk = try await connectShared()
        defer { Task { await zk.close() } }
        let root = uniqueRoot("stream")
        try await zk.create(root)
        let registered = EventLog<Void>()
        let consumer = Task { () -> WatchEvent? in
            let events = try await zk.watchEvents(root, mode: .persistent)
            registered.append(())
            for await event in events { return event }
            return nil
        }
        await registered.wait()
        try await zk.checkWatches(root)
        try await zk.setData(root, data: [1])
        let first = try await consumer.value
        #expect(first?.type == .nodeDataChanged)
        // The loop returned: the sequence is dropped, its watch goes.
        var gone = false
        for _ in 0..<100 where !gone {
            do { try await zk.checkWatches(root) } catch let error as ZooKeeperError where error.code == .noWatcher { gone = true }
            if !gone { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(gone, "the server still holds the watch of a consumer that stopped")
    }

    /// Another consumer's watch on the same path survives one consumer stopping.
    @Test func oneConsumerStoppingKeepsTheOthers() async throws {
        let zk = try await connectShared()
        defer { Task { await zk.close() } }
        let root = uniqueRoot("streams")
        try await zk.create(root)
        let kept = try await zk.watchEvents(root, mode: .persistent)
        do {
            let dropped = try await zk.watchEvents(root, mode: .persistent)
            _ = dropped
        }
        try await Task.sleep(for: .milliseconds(200))
        try await zk.checkWatches(root)
        try await zk.setData(root, data: [2])
        var iterator = kept.makeAsyncIterator()
        #expect(await iterator.next()?.type == .nodeDataChanged)
    }

    /// A reply over the client's frame limit fails its call with frameTooLarge, which is not
    /// retryable (connectionLoss would be retried forever); the client goes on.
    @Test func aReplyOverTheFrameLimitIsItsOwnError() async throws {
        let server = try await ZooKeeperServer.shared()
        let writer = try await connectShared()
        defer { Task { await writer.close() } }
        let root = uniqueRoot("frame")
        try await writer.create(root, data: [UInt8](repeating: 7, count: 4_000))
        try await writer.create(root + "-small", data: [1])

        let zk = try await ZooKeeperClient.connect(configuration: .init(connectString: server.connectString, maxFrameLength: 2_048))
        defer { Task { await zk.close() } }
        do {
            _ = try await zk.getData(root)
            Issue.record("a 4000-byte reply passed a 2048-byte limit")
        } catch let error as ZooKeeperError {
            #expect(error.code == .frameTooLarge, "\(error)")
            #expect(!error.isRetryable && !error.isTerminal)
        }
        #expect(try await zk.getData(root + "-small").data == [1])
    }
}
