import NIOConcurrencyHelpers
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

    @Test func aSemaphoreOfTwoLeasesNeverGivesOutThreeAcrossOursAndCuratorsInterProcessSemaphoreV2() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-sem") + "/sem"
        let semaphore = zk.semaphore(path, leases: 2)
        func leasesOut() async throws -> Int { try await zk.getChildren(path + "/leases").count }

        // One of ours and one of Curator's: full. A third, from either side, gives up.
        let first = try await semaphore.acquire(timeout: .seconds(5))
        curator.send("semacquire \(path) 2 5000")
        try await curator.expect("lease")
        await expectCode(.operationTimeout) { try await semaphore.acquire(timeout: .milliseconds(300)) }
        curator.send("semacquire \(path) 2 300")
        try await curator.expect("timeout")
        #expect(try await leasesOut() == 2)

        // Ours gives one back: Curator takes it; ours, waiting, gets one only when Curator gives one back.
        try await first.release()
        curator.send("semacquire \(path) 2 5000")
        try await curator.expect("lease", count: 2)
        let waiter = Task { try await semaphore.acquire() }
        // Its lease node is made, and it waits on the count.
        try await waitForContenders(zk, path + "/leases", count: 3)
        curator.send("semrelease")
        try await curator.expect("released")
        let second = try await waiter.value
        #expect(second.status == .held)
        #expect(try await leasesOut() == 2)
        let names = try await zk.getChildren(path + "/leases")
        #expect(names.allSatisfy { $0.hasPrefix("_c_") && $0.contains("-lease-") }, "\(names)")

        // withLease gives back however the body ends.
        curator.send("semrelease")
        try await curator.expect("released", count: 2)
        let inside = try await semaphore.withLease(timeout: .seconds(5)) { try await leasesOut() }
        #expect(inside == 2)
        #expect(try await leasesOut() == 1)
        try await second.release()
        await curator.quit()
        await zk.close()
    }

    @Test func curatorsDistributedBarrierIsReleasedByOursAndOursByCurators() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-barrier") + "/gate"
        let barrier = zk.barrier(path)

        // Ours raises it: Curator waits until ours removes it.
        try await barrier.set()
        curator.send("barrierwait \(path) 10000")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!curator.heard.contains("passed"))
        try await barrier.remove()
        try await curator.expect("passed")

        // Curator raises it: ours gives up after its time-out, and passes once Curator removes it.
        curator.send("barrierset \(path)")
        try await curator.expect("set")
        await expectCode(.operationTimeout) { try await barrier.wait(timeout: .milliseconds(300)) }
        let waiter = Task { try await barrier.wait(timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(200))
        curator.send("barrierremove \(path)")
        try await curator.expect("removed")
        try await waiter.value
        try await barrier.wait(timeout: .milliseconds(100))  // down: at once
        await curator.quit()
        await zk.close()
    }

    /// Two of our members and one of Curator's `DistributedDoubleBarrier` (count 3): nobody
    /// enters before the third arrives, nobody is out before all have left.
    @Test func ourDoubleBarrierAndCuratorsDistributedDoubleBarrierEnterAndLeaveTogether() async throws {
        let zk = try await connectShared()
        let curator = try await peer()
        let path = uniqueRoot("curator-double") + "/round"
        let ours = [zk.doubleBarrier(path, count: 3), zk.doubleBarrier(path, count: 3)]
        let members = { try await zk.getChildren(path).filter { $0 != "ready" } }
        let passed = NIOLockedValueBox(0)

        let entering = ours.map { member in
            Task {
                try await member.enter(timeout: .seconds(10))
                passed.withLockedValue { $0 += 1 }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? await members().count) != 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try await members().count == 2)
        try await Task.sleep(for: .milliseconds(200))
        #expect(passed.withLockedValue { $0 } == 0, "entered with two of three")
        curator.send("dbenter curator \(path) 3 10000")
        try await curator.expect("entered curator")
        for task in entering { try await task.value }
        #expect(passed.withLockedValue { $0 } == 2)

        // Curator leaves first and waits for ours; then ours leave and all are out.
        curator.send("dbleave curator 10000")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!curator.heard.contains("left curator"), "Curator left before ours")
        passed.withLockedValue { $0 = 0 }
        let first = Task {
            try await ours[0].leave(timeout: .seconds(10))
            passed.withLockedValue { $0 += 1 }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(passed.withLockedValue { $0 } == 0, "one of ours left before the other")
        #expect(!curator.heard.contains("left curator"), "Curator left before ours")
        try await ours[1].leave(timeout: .seconds(10))
        try await first.value
        try await curator.expect("left curator")
        #expect(try await members().isEmpty)
        await curator.quit()
        await zk.close()
    }
}
