#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Tasks that prefer the client's I/O thread (`ioExecutor`) run there between awaits, and
/// their calls, watches and concurrent children work as anywhere else.
@Suite struct IOExecutorTests {
    @Test func aLoopOnTheIOThreadRunsThereAndGetsEveryAnswer() async throws {
        let zk = try await connectShared()
        let root = uniqueRoot("io-executor")
        let watchThread = NIOLockedValueBox<pthread_t?>(nil)
        let threads = try await withTaskExecutorPreference(zk.ioExecutor) { () async throws -> [pthread_t] in
            var seen: [pthread_t] = []
            _ = try await zk.create(root, data: Array("0".utf8))
            for i in 1...200 {
                _ = try await zk.setData(root, data: Array("\(i)".utf8))
                seen.append(pthread_self())
                #expect(try await zk.getData(root).data == Array("\(i)".utf8))
                seen.append(pthread_self())
            }
            // Children of a preferring task inherit it: 100 requests in flight at once.
            let found = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<100 { group.addTask { try await zk.exists(root) != nil } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(found == 100)
            _ = try await zk.exists(root, watch: { _ in watchThread.withLockedValue { $0 = pthread_self() } })
            seen.append(pthread_self())
            return seen
        }
        try await zk.delete(root)
        for _ in 0..<100 where watchThread.withLockedValue({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        let ioThread = try #require(watchThread.withLockedValue { $0 })
        #expect(threads.count == 401)
        #expect(threads.allSatisfy { pthread_equal($0, ioThread) != 0 }, "every step after an await ran on the I/O thread")
        await zk.close()
    }
}
