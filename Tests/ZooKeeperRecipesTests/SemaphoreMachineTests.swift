import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// A semaphore lease (Curator's `InterProcessSemaphoreV2` layout) under scripted inputs.
@Suite struct SemaphoreMachineTests {
    let lease = "/sem/leases/\(ourPrefix)lease-0000000003"
    let mutexNode = "/sem/locks/_c_aaaaaaaa-2222-4333-8444-555555555555-lock-0000000004"
    let other1 = "_c_11111111-2222-4333-8444-555555555555-lease-0000000001"
    let other2 = "_c_22222222-2222-4333-8444-555555555555-lease-0000000002"
    var leaseName: String { RecipePathTestNames.name(lease) }
    var leases: Operation { .getChildren(path: "/sem/leases", watch: false, includeStat: false) }

    func isCreate(under parent: String) -> (Operation) -> Bool {
        { operation in
            guard case let .create(path, _, _, _, _) = operation else { return false }
            return path.hasPrefix(parent + "/")
        }
    }

    func isDelete(_ path: String) -> (Operation) -> Bool {
        { $0 == .delete(path: path, version: -1) }
    }

    /// The mutex taken, the lease node made: the machine lists the leases.
    func leaseMade(max: Int = 2) throws -> Script<SemaphoreMachine> {
        var script = Script(SemaphoreMachine(path: "/sem", max: max, protectedId: testId))
        let start = script.command { $0.acquire() }
        #expect(operations(start).allSatisfy(isCreate(under: "/sem/locks")) && operations(start).count == 1, "\(start)")
        try script.answerLast(.success(.created(path: mutexNode, stat: nil)))
        let create = try script.answerLast(.success(.children([RecipePathTestNames.name(mutexNode)], nil)))
        #expect(operations(create) == [.create(path: "/sem/leases/\(ourPrefix)lease-", data: [], acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
        #expect(operations(try script.answerLast(.success(.created(path: lease, stat: nil)))) == [leases])
        return script
    }

    @Test func aLeaseIsHeldWhileAtMostMaxLeasesExistAndThenTheMutexGoes() throws {
        var script = try leaseMade()
        let steps = try script.answerLast(.success(.children([other1, leaseName], nil)))
        #expect(notices(steps) == [.acquired(path: lease)])
        #expect(operations(steps) == [.delete(path: mutexNode, version: -1)])
        #expect(script.machine.isHeld)
    }

    @Test func overTheCountItWatchesTheLeasesAndHoldsWhenOneIsGivenBack() throws {
        var script = try leaseMade()
        let wait = try script.answerLast(.success(.children([other1, other2, leaseName], nil)))
        #expect(operations(wait) == [.getChildren(path: "/sem/leases", watch: true, includeStat: false)])
        let watch = try script.last()
        // The answer of the watching request is still over the count: wait on its watch.
        #expect(try script.answerLast(.success(.children([other1, other2, leaseName], nil))).isEmpty)
        let woke = script.feed(.watch(watch.token, WatchEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/sem/leases")))
        #expect(operations(woke) == [leases])
        let steps = try script.answerLast(.success(.children([other2, leaseName], nil)))
        #expect(notices(steps) == [.acquired(path: lease)])
        #expect(operations(steps) == [.delete(path: mutexNode, version: -1)])
    }

    @Test func aLeaseGivenBackBeforeTheWatchWasSetIsSeenInItsAnswer() throws {
        var script = try leaseMade()
        try script.answerLast(.success(.children([other1, other2, leaseName], nil)))
        let steps = try script.answerLast(.success(.children([other1, leaseName], nil)))
        #expect(notices(steps) == [.acquired(path: lease)])
    }

    @Test func aLostLeaseCreateFindsOurNodeInsteadOfMakingASecond() throws {
        var script = Script(SemaphoreMachine(path: "/sem", max: 1, protectedId: testId))
        script.command { $0.acquire() }
        try script.answerLast(.success(.created(path: mutexNode, stat: nil)))
        try script.answerLast(.success(.children([RecipePathTestNames.name(mutexNode)], nil)))
        let find = try script.answerLast(.failure(loss))
        #expect(operations(find) == [.getEphemerals(prefix: "/sem/leases/\(ourPrefix)lease-")])
        #expect(operations(try script.answerLast(.success(.paths([lease])))) == [leases])
        #expect(operations(script.steps).filter(isCreate(under: "/sem/leases")).count == 1)
    }

    @Test func expiryWhileWaitingFailsTheAcquisitionOnceAndFinishes() throws {
        var script = try leaseMade(max: 1)
        try script.answerLast(.success(.children([other1, leaseName], nil)))
        let steps = script.feed(.session(.expired))
        #expect(notices(steps) == [.failed(ZooKeeperError(.sessionExpired, path: "/sem/leases"))])
        // Nothing is deleted (the nodes went with the session) and the machine is done.
        #expect(operations(steps).isEmpty)
        #expect(finishes(steps))
    }

    @Test func abandoningWhileWaitingDeletesTheLeaseAndTheMutex() throws {
        var script = try leaseMade(max: 1)
        try script.answerLast(.success(.children([other1, leaseName], nil)))
        script.forgetOpen()  // the watching getChildren, unanswered
        let steps = script.command { $0.abandon() }
        #expect(Set(operations(steps)) == [.delete(path: mutexNode, version: -1), .delete(path: lease, version: -1)])
        #expect(notices(steps).isEmpty)
        try script.answer(.success(.done), where: isDelete(mutexNode))
        #expect(finishes(try script.answer(.success(.done), where: isDelete(lease))))
    }

    @Test func aTimeOutWhileWaitingForTheMutexLeavesNoLease() throws {
        var script = Script(SemaphoreMachine(path: "/sem", max: 1, protectedId: testId))
        script.command { $0.acquire() }
        try script.answerLast(.success(.created(path: mutexNode, stat: nil)))
        // Another contender holds the mutex: we wait for it.
        try script.answerLast(.success(.children(["_c_99999999-2222-4333-8444-555555555555-lock-0000000001", RecipePathTestNames.name(mutexNode)], nil)))
        script.forgetOpen()
        let steps = script.command { $0.abandon() }
        #expect(operations(steps).allSatisfy(isDelete(mutexNode)))
        #expect(operations(script.steps).filter(isCreate(under: "/sem/leases")).isEmpty)
    }

    @Test func aHolderIsSuspendedAtDisconnectAndHoldsAgainWhenItsLeaseSurvived() throws {
        var script = try leaseMade()
        try script.answerLast(.success(.children([leaseName], nil)))
        script.forgetOpen()
        #expect(notices(script.feed(.session(.disconnected))) == [.suspended])
        let verify = script.feed(.session(.reconnected))
        #expect(operations(verify) == [.exists(path: lease, watch: false)])
        #expect(notices(try script.answerLast(.success(.stat(stat())))) == [.acquired(path: lease)])
        #expect(operations(script.command { $0.release() }) == [.delete(path: lease, version: -1)])
        let released = try script.answerLast(.success(.done))
        #expect(notices(released) == [.released])
    }
}
