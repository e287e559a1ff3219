import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The coordination recipes against Curator's on the same znodes (the peer of
/// CuratorInteropTests, serialized with it).
extension CuratorInteropTests {
    @Test func ourReadWriteLockAndCuratorsInterProcessReadWriteLockExcludeEachOther() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-rw") + "/rw"
        let rw = zk.readWriteLock(path)

        // Our writer holds: Curator's reader and writer both give up.
        try await rw.writeLock.acquire()
        curator.send("tryrlock \(path) 300")
        try await curator.expect("timeout")
        curator.send("trywlock \(path) 300")
        try await curator.expect("timeout", count: 2)
        try await rw.writeLock.release()

        // Curator reads: our reader shares the lock, our writer gives up.
        curator.send("rlock \(path)")
        try await curator.expect("locked")
        try await rw.readLock.acquire(timeout: .seconds(5))
        await expectCode(.operationTimeout) { try await rw.writeLock.acquire(timeout: .milliseconds(300)) }
        try await rw.readLock.release()
        // ...and, waiting in line, gets it only once Curator's reader lets go.
        let writer = Task { try await rw.writeLock.acquire() }
        try await waitForContenders(zk, path, count: 2)
        #expect(rw.writeLock.status == .acquiring)
        curator.send("unlock")
        try await curator.expect("unlocked")
        try await writer.value
        #expect(rw.writeLock.isHeld)
        let names = try await zk.getChildren(path)
        #expect(names.count == 1 && names[0].hasPrefix("_c_") && names[0].contains("-__WRIT__"), "\(names)")

        // A Curator writer queued behind our writer blocks our later reader (no writer starves).
        curator.send("wlock \(path)")
        try await waitForContenders(zk, path, count: 2)
        let reader = Task { try await rw.readLock.acquire() }
        try await waitForContenders(zk, path, count: 3)
        try await rw.writeLock.release()
        try await curator.expect("locked", count: 2)
        try await Task.sleep(for: .milliseconds(200))
        #expect(rw.readLock.status == .acquiring)
        curator.send("unlock")
        try await reader.value
        #expect(rw.readLock.isHeld)
        try await rw.readLock.release()
        await curator.quit()
        await zk.close()
    }
}
