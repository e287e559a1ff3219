import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

/// The barrier (Curator's `DistributedBarrier`) and the double barrier
/// (`DistributedDoubleBarrier`) under scripted inputs.
@Suite struct BarrierMachineTests {
    func created(_ path: String) -> Result<OperationResult, ZooKeeperError> { .success(.created(path: path, stat: nil)) }

    @Test func setMakesTheNodeWithParentsAsContainersAndAnExistingOneIsFine() throws {
        var script = Script(BarrierMachine(path: "/b/x", command: .set))
        #expect(operations(script.command { $0.start() }) == [.create(path: "/b/x", data: [], acl: Ids.openACLUnsafe, mode: .persistent)])
        let parents = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(parents) == [.create(path: "/b", data: [], acl: Ids.openACLUnsafe, mode: .container),
                                        .create(path: "/b/x", data: [], acl: Ids.openACLUnsafe, mode: .persistent)])
        // Lost, then already there (the lost one had made it): set.
        try script.answerLast(.failure(loss))
        #expect(notices(try script.answerLast(.failure(ZooKeeperError(.nodeExists)))) == [.done])
    }

    @Test func removeIsDoneWhenTheNodeIsGone() throws {
        var script = Script(BarrierMachine(path: "/b", command: .remove))
        #expect(operations(script.command { $0.start() }) == [.delete(path: "/b", version: -1)])
        #expect(operations(try script.answerLast(.failure(loss))) == [.delete(path: "/b", version: -1)])
        #expect(notices(try script.answerLast(.failure(ZooKeeperError(.noNode)))) == [.done])
    }

    @Test func waitWatchesTheNodeUntilItIsDeleted() throws {
        var script = Script(BarrierMachine(path: "/b", command: .wait))
        #expect(operations(script.command { $0.start() }) == [.exists(path: "/b", watch: true)])
        let watch = try script.last()
        #expect(try script.answerLast(.success(.stat(stat()))).isEmpty)
        let again = script.feed(.watch(watch.token, WatchEvent(type: .nodeDataChanged, state: .syncConnected, path: "/b")))
        #expect(operations(again) == [.exists(path: "/b", watch: true)], "any event looks again")
        let steps = try script.answerLast(.success(.stat(nil)))
        #expect(notices(steps) == [.done])
        #expect(finishes(steps))
    }

    @Test func aBarrierRemovedWhileAwayIsSeenOnReconnectAndExpiryFailsTheWait() throws {
        var script = Script(BarrierMachine(path: "/b", command: .wait))
        script.command { $0.start() }
        try script.answerLast(.success(.stat(stat())))
        #expect(operations(script.feed(.session(.reconnected))) == [.exists(path: "/b", watch: true)])
        #expect(notices(try script.answerLast(.success(.stat(nil)))) == [.done])

        var expiring = Script(BarrierMachine(path: "/b", command: .wait))
        expiring.command { $0.start() }
        try expiring.answerLast(.success(.stat(stat())))
        #expect(notices(expiring.feed(.session(.expired))) == [.failed(ZooKeeperError(.sessionExpired, path: "/b"))])
    }

    // MARK: Double barrier

    let member = "0f8fad5b-d9cb-469f-a165-70867728950e"
    var ours: String { "/db/\(member)" }
    var listing: Operation { .getChildren(path: "/db", watch: false, includeStat: false) }

    /// enter, with `ready` missing and our node made: the machine counts the members.
    func counting(count: Int = 3) throws -> Script<DoubleBarrierMachine> {
        var script = Script(DoubleBarrierMachine(path: "/db", count: count, memberId: member))
        #expect(operations(script.command { $0.enter() }) == [.exists(path: "/db/ready", watch: true)])
        let create = try script.answer(.success(.stat(nil))) { _ in true }
        #expect(operations(create) == [.create(path: ours, data: [], acl: Ids.openACLUnsafe, mode: .ephemeral)])
        #expect(operations(try script.answerLast(created(ours))) == [listing])
        return script
    }

    @Test func theMemberThatCountsEnoughMakesReady() throws {
        var script = try counting(count: 2)
        let make = try script.answerLast(.success(.children(["a", member], nil)))
        #expect(operations(make) == [.create(path: "/db/ready", data: [], acl: Ids.openACLUnsafe, mode: .persistent)])
        #expect(notices(try script.answerLast(.failure(ZooKeeperError(.nodeExists)))) == [.entered])
    }

    @Test func theOthersEnterWhenReadyIsCreated() throws {
        var script = try counting()
        let readyWatch = try #require(script.steps.compactMap { step -> RecipeRequest? in
            if case let .submit(request) = step, request.operation == .exists(path: "/db/ready", watch: true) { return request }
            return nil
        }.first)
        #expect(try script.answerLast(.success(.children([member], nil))).isEmpty)
        #expect(!script.machine.hasEntered)
        let steps = script.feed(.watch(readyWatch.token, WatchEvent(type: .nodeCreated, state: .syncConnected, path: "/db/ready")))
        #expect(notices(steps) == [.entered])
    }

    @Test func aLostMemberCreateIsMadeAgainAndNodeExistsMeansOurs() throws {
        var script = Script(DoubleBarrierMachine(path: "/db", count: 1, memberId: member))
        script.command { $0.enter() }
        try script.answerLast(.success(.stat(nil)))
        #expect(operations(try script.answerLast(.failure(loss))) == [.create(path: ours, data: [], acl: Ids.openACLUnsafe, mode: .ephemeral)])
        #expect(operations(try script.answerLast(.failure(ZooKeeperError(.nodeExists)))) == [listing])
    }

    /// Entered (ready existed) with one other member `other`.
    func entered() throws -> Script<DoubleBarrierMachine> {
        var script = Script(DoubleBarrierMachine(path: "/db", count: 2, memberId: member))
        script.command { $0.enter() }
        try script.answerLast(.success(.stat(stat())))
        #expect(notices(try script.answerLast(created(ours))) == [.entered])
        return script
    }

    @Test func leavingTheLowestWaitsForTheHighestThenDeletesItsNodeAndReady() throws {
        var script = try entered()
        #expect(operations(script.command { $0.leave() }) == [listing])
        let higher = "ffffffff-0000-4000-8000-000000000000"
        let watch = try script.answerLast(.success(.children(["ready", higher, member], nil)))
        #expect(operations(watch) == [.exists(path: "/db/\(higher)", watch: true)])
        let wait = try script.last()
        #expect(try script.answerLast(.success(.stat(stat()))).isEmpty)
        #expect(operations(script.feed(.watch(wait.token, WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/db/\(higher)")))) == [listing])
        let last = try script.answerLast(.success(.children(["ready", member], nil)))
        #expect(operations(last) == [.delete(path: ours, version: -1), .delete(path: "/db/ready", version: -1)])
        try script.answer(.success(.done)) { $0 == .delete(path: self.ours, version: -1) }
        let steps = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(notices(steps) == [.left])
        #expect(finishes(steps))
    }

    @Test func leavingAHigherMemberDeletesItsNodeAndWaitsForTheLowest() throws {
        var script = try entered()
        script.command { $0.leave() }
        let lower = "00000000-0000-4000-8000-000000000000"
        let steps = try script.answerLast(.success(.children([member, lower, "ready"], nil)))
        #expect(operations(steps) == [.exists(path: "/db/\(lower)", watch: true), .delete(path: ours, version: -1)])
        // The lowest is gone already (its answer came first): list again; nobody left.
        try script.answer(.success(.stat(nil))) { $0 == .exists(path: "/db/\(lower)", watch: true) }
        try script.answer(.success(.done)) { $0 == .delete(path: self.ours, version: -1) }
        #expect(operations(try script.answerLast(.success(.children(["ready"], nil)))) == [.delete(path: "/db/ready", version: -1)])
        #expect(notices(try script.answerLast(.success(.done))) == [.left])
    }

    @Test func expiryWhileWaitingToEnterFailsAndDeletesNothing() throws {
        var script = try counting()
        try script.answerLast(.success(.children([member], nil)))
        let steps = script.feed(.session(.expired))
        #expect(notices(steps) == [.failed(ZooKeeperError(.sessionExpired, path: "/db"))])
        #expect(operations(steps).isEmpty)
    }

    @Test func abandoningDeletesOurNode() throws {
        var script = try counting()
        try script.answerLast(.success(.children([member], nil)))
        let steps = script.command { $0.abandon() }
        #expect(operations(steps) == [.delete(path: ours, version: -1)])
        #expect(finishes(steps))
    }
}
