import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// The queue's put and take under scripted inputs: Curator's layout, and the races between
/// takers that must neither lose an item nor hand one out twice.
@Suite struct QueueMachineTests {
    func children(_ names: [String]) -> Result<OperationResult, ZooKeeperError> { .success(.children(names, nil)) }
    let list = Operation.getChildren(path: "/q", watch: false, includeStat: false)
    let listWatching = Operation.getChildren(path: "/q", watch: true, includeStat: false)

    @Test func aPutCreatesAPersistentSequentialQnNodeWithTheData() throws {
        var script = Script(QueuePutMachine(path: "/q", data: [1, 2]))
        let steps = script.command { $0.start() }
        #expect(operations(steps) == [.create(path: "/q/qn-", data: [1, 2], acl: Ids.openACLUnsafe, mode: .persistentSequential)])
        let done = try script.answerLast(.success(.created(path: "/q/qn-0000000007", stat: nil)))
        #expect(notices(done) == [.put(path: "/q/qn-0000000007")])
        #expect(finishes(done))
    }

    @Test func aPutIntoAMissingQueueMakesItAndItsParentsAsContainers() throws {
        var script = Script(QueuePutMachine(path: "/app/q", data: []))
        script.command { $0.start() }
        let steps = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(steps) == [
            .create(path: "/app", data: [], acl: Ids.openACLUnsafe, mode: .container),
            .create(path: "/app/q", data: [], acl: Ids.openACLUnsafe, mode: .container),
            .create(path: "/app/q/qn-", data: [], acl: Ids.openACLUnsafe, mode: .persistentSequential),
        ])
    }

    @Test func aPutWhoseAnswerWasLostIsNotMadeAgain() throws {
        var script = Script(QueuePutMachine(path: "/q", data: [1]))
        script.command { $0.start() }
        let steps = try script.answerLast(.failure(loss))
        #expect(operations(steps).isEmpty)
        #expect(failureCodes(notices(steps)) == [.connectionLoss])
    }

    @Test func aTakeReadsAndDeletesTheLowestItemSkippingOtherNames() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        #expect(operations(script.command { $0.start() }) == [list])
        let read = try script.answerLast(children(["qn-0000000002", "other", "qn-0000000001"]))
        #expect(operations(read) == [.getData(path: "/q/qn-0000000001", watch: false)])
        let delete = try script.answerLast(.success(.data([9], stat())))
        #expect(operations(delete) == [.delete(path: "/q/qn-0000000001", version: -1)])
        let done = try script.answerLast(.success(.done))
        #expect(notices(done) == [.item([9])])
        #expect(finishes(done))
    }

    @Test func anItemTakenByAnotherTakerIsSkippedAtTheReadOrTheDelete() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        try script.answerLast(children(["qn-0000000001", "qn-0000000002", "qn-0000000003"]))
        // Gone before our read: the next one.
        let second = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(second) == [.getData(path: "/q/qn-0000000002", watch: false)])
        try script.answerLast(.success(.data([2], stat())))
        // Another taker deleted it first (its delete won): not ours, the next one.
        let third = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(third) == [.getData(path: "/q/qn-0000000003", watch: false)])
        try script.answerLast(.success(.data([3], stat())))
        #expect(notices(try script.answerLast(.success(.done))) == [.item([3])])
        #expect(notices(script.steps).count == 1)
    }

    @Test func anEmptyQueueIsListedAgainWithAWatchAndItsEventWakesTheTake() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        #expect(operations(try script.answerLast(children([]))) == [listWatching])
        let wait = try script.last()
        #expect(try script.answerLast(children(["lock-1"])).isEmpty)  // still nothing: wait
        let woke = script.feed(.watch(wait.token, WatchEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/q")))
        #expect(operations(woke) == [list])
        let read = try script.answerLast(children(["qn-0000000004"]))
        #expect(operations(read) == [.getData(path: "/q/qn-0000000004", watch: false)])
    }

    @Test func aMissingQueueIsMadeSoThatTheWatchCanBeSet() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        let steps = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(steps) == [.create(path: "/q", data: [], acl: Ids.openACLUnsafe, mode: .container), list])
    }

    @Test func aWaitingTakeListsAgainAfterAReconnect() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        try script.answerLast(children([]))
        try script.answerLast(children([]))
        #expect(operations(script.feed(.session(.reconnected))) == [list])
    }

    @Test func aLostDeleteThatSucceedsOnRetryIsOursAndOneAnsweringNoNodeIsUnknown() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        try script.answerLast(children(["qn-0000000001"]))
        try script.answerLast(.success(.data([1], stat())))
        let retry = try script.answerLast(.failure(loss))
        #expect(operations(retry) == [.delete(path: "/q/qn-0000000001", version: -1)])
        #expect(notices(try script.answerLast(.success(.done))) == [.item([1])])

        var unsure = Script(QueueTakeMachine(path: "/q"))
        unsure.command { $0.start() }
        try unsure.answerLast(children(["qn-0000000001"]))
        try unsure.answerLast(.success(.data([1], stat())))
        try unsure.answerLast(.failure(loss))
        // Our first delete may have taken it: never hand it out as the next item's taker would.
        let steps = try unsure.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(failureCodes(notices(steps)) == [.connectionLoss])
        #expect(operations(steps).isEmpty)
    }

    @Test func aTakeAbandonedWhileDeletingPutsTheItemBack() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        try script.answerLast(children(["qn-0000000001"]))
        try script.answerLast(.success(.data([5], stat())))
        #expect(script.command { $0.abandon() }.isEmpty)
        let back = try script.answerLast(.success(.done))
        #expect(operations(back) == [.create(path: "/q/qn-", data: [5], acl: Ids.openACLUnsafe, mode: .persistentSequential)])
        #expect(notices(back).isEmpty)
        #expect(finishes(try script.answerLast(.success(.created(path: "/q/qn-0000000002", stat: nil)))))
    }

    @Test func aTakeAbandonedWhileWaitingEndsAtOnceAndExpiryFailsIt() throws {
        var script = Script(QueueTakeMachine(path: "/q"))
        script.command { $0.start() }
        try script.answerLast(children([]))
        let steps = script.command { $0.abandon() }
        #expect(finishes(steps) && notices(steps).isEmpty)

        var expiring = Script(QueueTakeMachine(path: "/q"))
        expiring.command { $0.start() }
        let ended = expiring.feed(.session(.expired))
        #expect(notices(ended) == [.failed(ZooKeeperError(.sessionExpired, path: "/q"))])
    }
}

private func failureCodes(_ notices: [QueuePutMachine.Notice]) -> [ErrorCode] {
    notices.compactMap { if case let .failed(error) = $0 { error.code } else { nil } }
}

private func failureCodes(_ notices: [QueueTakeMachine.Notice]) -> [ErrorCode] {
    notices.compactMap { if case let .failed(error) = $0 { error.code } else { nil } }
}
