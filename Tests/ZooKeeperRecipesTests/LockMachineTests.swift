import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// The lock machine under scripted inputs: the interleavings that break peers.
@Suite struct LockMachineTests {
    let ours = "/locks/a/\(ourPrefix)lock-0000000002"
    let other = "_c_11111111-2222-4333-8444-555555555555-lock-0000000001"

    func children(_ names: [String]) -> Result<OperationResult, ZooKeeperError> { .success(.children(names, nil)) }

    /// acquire, and the create answered: the machine then lists the contenders.
    func created() throws -> Script<LockMachine> {
        var script = Script(LockMachine(path: "/locks/a", protectedId: testId))
        let steps = script.command { $0.acquire() }
        #expect(operations(steps) == [.create(path: "/locks/a/\(ourPrefix)lock-", data: [], acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
        let next = try script.answerLast(.success(.created(path: ours, stat: nil)))
        #expect(operations(next) == [.getChildren(path: "/locks/a", watch: false, includeStat: false)])
        return script
    }

    @Test func theLowestSequenceHoldsTheLock() throws {
        var script = try created()
        let steps = try script.answerLast(children([RecipePathTestNames.name(ours), "kazoo__lock__0000000003"]))
        #expect(notices(steps) == [.acquired(path: ours)])
        #expect(script.machine.isHeld)
    }

    @Test func aWaiterWatchesItsImmediatePredecessorWithGetData() throws {
        var script = try created()
        let steps = try script.answerLast(children(["kazoo__lock__0000000000", RecipePathTestNames.name(ours), other, "z__lock__0000000009"]))
        #expect(operations(steps) == [.getData(path: "/locks/a/\(other)", watch: true)])
        #expect(notices(steps).isEmpty)
    }

    @Test func aPredecessorDeletedBetweenGetChildrenAndTheWatchIsSeen() throws {
        var script = try created()
        try script.answerLast(children([other, RecipePathTestNames.name(ours)]))
        // The predecessor went before getData reached the server: no watch, so look again.
        let again = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(again) == [.getChildren(path: "/locks/a", watch: false, includeStat: false)])
        let steps = try script.answerLast(children([RecipePathTestNames.name(ours)]))
        #expect(notices(steps) == [.acquired(path: ours)])
    }

    @Test func theWatchOfTheCurrentWaitWakesTheWaiterAndAStaleOneDoesNot() throws {
        var script = try created()
        try script.answerLast(children([other, RecipePathTestNames.name(ours)]))
        let firstWait = try script.last()
        try script.answerLast(.success(.data([], stat())))
        // A reconnect re-checks (a deletion missed while away): a second wait, a second watch.
        #expect(!script.feed(.session(.reconnected)).isEmpty, "no re-check on reconnect")
        try script.answerLast(children([other, RecipePathTestNames.name(ours)]))
        let secondWait = try script.last()
        try script.answerLast(.success(.data([], stat())))
        #expect(script.feed(.watch(firstWait.token, WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/locks/a/\(other)"))).isEmpty)
        let woke = script.feed(.watch(secondWait.token, WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/locks/a/\(other)")))
        #expect(operations(woke) == [.getChildren(path: "/locks/a", watch: false, includeStat: false)])
    }

    @Test func aConnectionLossDuringTheCreateFindsOurNodeInsteadOfMakingASecond() throws {
        var script = Script(LockMachine(path: "/locks/a", protectedId: testId))
        script.command { $0.acquire() }
        let find = try script.answerLast(.failure(loss))
        // Our session's own ephemerals under our prefix: the owner check is the request itself.
        #expect(operations(find) == [.getEphemerals(prefix: "/locks/a/\(ourPrefix)lock-")])
        let steps = try script.answerLast(.success(.paths([ours])))
        #expect(operations(steps) == [.getChildren(path: "/locks/a", watch: false, includeStat: false)])
        let creates = operations(script.steps).filter { if case .create = $0 { true } else { false } }
        #expect(creates.count == 1)
    }

    @Test func aLostCreateThatDidNotHappenIsMadeAgainUnderTheSameName() throws {
        var script = Script(LockMachine(path: "/locks/a", protectedId: testId))
        script.command { $0.acquire() }
        try script.answerLast(.failure(loss))
        // The find itself was lost too (still away): ask again.
        let findAgain = try script.answerLast(.failure(ZooKeeperError(.operationTimeout)))
        #expect(operations(findAgain) == [.getEphemerals(prefix: "/locks/a/\(ourPrefix)lock-")])
        let create = try script.answerLast(.success(.paths(["/locks/a/_c_ffffffff-2222-4333-8444-555555555555-lock-0000000001"])))
        #expect(operations(create) == [.create(path: "/locks/a/\(ourPrefix)lock-", data: [], acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
    }

    @Test func missingParentsAreMadeAsContainers() throws {
        var script = Script(LockMachine(path: "/locks/a", protectedId: testId))
        script.command { $0.acquire() }
        let steps = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(steps) == [
            .create(path: "/locks", data: [], acl: Ids.openACLUnsafe, mode: .container),
            .create(path: "/locks/a", data: [], acl: Ids.openACLUnsafe, mode: .container),
            .create(path: "/locks/a/\(ourPrefix)lock-", data: [], acl: Ids.openACLUnsafe, mode: .ephemeralSequential),
        ])
        // The parents' answers ("exists" here) are not awaited; the create's is.
        #expect(try script.answer(.failure(ZooKeeperError(.nodeExists))) { _ in true }.isEmpty)
    }

    @Test func expiryWhileWaitingFailsTheAcquisitionAndDeletesNothing() throws {
        var script = try created()
        try script.answerLast(children([other, RecipePathTestNames.name(ours)]))
        try script.answerLast(.success(.data([], stat())))
        let steps = script.feed(.session(.expired))
        #expect(notices(steps) == [.failed(ZooKeeperError(.sessionExpired, path: "/locks/a"))])
        #expect(operations(steps).isEmpty)  // the node went with the session
        #expect(finishes(steps))
    }

    @Test func aHolderIsSuspendedAtDisconnectAndHoldsAgainIfItsNodeSurvived() throws {
        var script = try created()
        try script.answerLast(children([RecipePathTestNames.name(ours)]))
        #expect(notices(script.feed(.session(.disconnected))) == [.suspended])
        #expect(!script.machine.isHeld)
        let verify = script.feed(.session(.reconnected))
        #expect(operations(verify) == [.exists(path: ours, watch: false)])
        #expect(notices(try script.answerLast(.success(.stat(stat())))) == [.acquired(path: ours)])
        #expect(script.machine.isHeld)
    }

    @Test func aHolderWhoseNodeIsGoneAfterReconnectHasLostTheLock() throws {
        var script = try created()
        try script.answerLast(children([RecipePathTestNames.name(ours)]))
        script.feed(.session(.disconnected))
        script.feed(.session(.reconnected))
        let steps = try script.answerLast(.success(.stat(nil)))
        #expect(notices(steps).count == 1)
        guard case .lost? = notices(steps).first else {
            Issue.record("expected lost, got \(steps)")
            return
        }
    }

    @Test func releaseDeletesOurNodeAndRetriesAfterALoss() throws {
        var script = try created()
        try script.answerLast(children([RecipePathTestNames.name(ours)]))
        #expect(operations(script.command { $0.release() }) == [.delete(path: ours, version: -1)])
        #expect(operations(try script.answerLast(.failure(loss))) == [.delete(path: ours, version: -1)])
        let steps = try script.answerLast(.failure(ZooKeeperError(.noNode)))  // the first one had happened
        #expect(notices(steps) == [.released])
        #expect(finishes(steps))
    }

    @Test func abandoningDuringTheCreateDeletesTheNodeOnceMade() throws {
        var script = Script(LockMachine(path: "/locks/a", protectedId: testId))
        script.command { $0.acquire() }
        #expect(script.command { $0.abandon() }.isEmpty)
        let steps = try script.answerLast(.success(.created(path: ours, stat: nil)))
        #expect(operations(steps) == [.delete(path: ours, version: -1)])
        #expect(notices(steps).isEmpty)
        #expect(finishes(try script.answerLast(.success(.done))))
    }
}

enum RecipePathTestNames {
    static func name(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }
}
