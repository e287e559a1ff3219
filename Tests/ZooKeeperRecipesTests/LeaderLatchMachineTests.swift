import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

@Suite struct LeaderLatchMachineTests {
    let ours = "/election/\(ourPrefix)latch-0000000004"
    var name: String { RecipePathTestNames.name(ours) }
    let curator = "_c_11111111-2222-4333-8444-555555555555-latch-0000000003"

    func leading() throws -> Script<LeaderLatchMachine> {
        var script = Script(LeaderLatchMachine(path: "/election", id: "node-1", protectedId: testId))
        let start = script.command { $0.start() }
        #expect(operations(start) == [.create(path: "/election/\(ourPrefix)latch-", data: Array("node-1".utf8), acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
        try script.answerLast(.success(.created(path: ours, stat: nil)))
        let steps = try script.answerLast(.success(.children([name], nil)))
        #expect(notices(steps) == [.leader(true)])
        return script
    }

    @Test func theLowestLeadsAndOthersWaitOnTheirPredecessor() throws {
        var script = Script(LeaderLatchMachine(path: "/election", id: "node-1", protectedId: testId))
        script.command { $0.start() }
        try script.answerLast(.success(.created(path: ours, stat: nil)))
        let steps = try script.answerLast(.success(.children([name, curator], nil)))
        #expect(operations(steps) == [.getData(path: "/election/\(curator)", watch: true)])
        #expect(notices(steps).isEmpty)
        try script.answerLast(.success(.data([], stat())))
        let tokens = script.steps.compactMap { step -> RecipeToken? in
            guard case let .submit(request) = step, case .getData = request.operation else { return nil }
            return request.token
        }
        let watch = try #require(tokens.last)
        script.feed(.watch(watch, WatchEvent(type: .nodeDeleted, state: .syncConnected, path: "/election/\(curator)")))
        #expect(notices(try script.answerLast(.success(.children([name], nil)))) == [.leader(true)])
    }

    @Test func aLeaderStepsDownAtDisconnectAndLeadsAgainAfterTheReconnectCheck() throws {
        var script = try leading()
        #expect(notices(script.feed(.session(.disconnected))) == [.leader(false)])
        #expect(!script.machine.hasLeadership)
        let check = script.feed(.session(.reconnected))
        #expect(operations(check) == [.exists(path: ours, watch: false)])
        #expect(notices(try script.answerLast(.success(.stat(stat())))) == [.leader(true)])
    }

    @Test func aLeaderWhoseNodeWasDeletedContendsAgainWithANewNode() throws {
        var script = try leading()
        script.feed(.session(.disconnected))
        script.feed(.session(.reconnected))
        let steps = try script.answerLast(.success(.stat(nil)))
        #expect(notices(steps) == [])  // already stepped down at the disconnect
        let creates = operations(steps).filter {
            if case let .create(path, data, _, mode, _) = $0 { path.hasSuffix("-latch-") && data == Array("node-1".utf8) && mode == .ephemeralSequential } else { false }
        }
        #expect(creates.count == 1)
        #expect(!finishes(steps))
    }

    @Test func expiryEndsTheElection() throws {
        var script = try leading()
        let steps = script.feed(.session(.expired))
        #expect(notices(steps) == [.leader(false), .closed(ZooKeeperError(.sessionExpired, path: "/election"))])
        #expect(finishes(steps))
    }

    @Test func closeStepsDownDeletesOurNodeAndEnds() throws {
        var script = try leading()
        let steps = script.command { $0.close() }
        #expect(notices(steps) == [.leader(false)])
        #expect(operations(steps) == [.delete(path: ours, version: -1)])
        let done = try script.answerLast(.success(.done))
        #expect(notices(done) == [.closed(nil)])
        #expect(finishes(done))
    }

    @Test func closeDuringTheCreateDeletesTheNodeOnceMade() throws {
        var script = Script(LeaderLatchMachine(path: "/election", id: "node-1", protectedId: testId))
        script.command { $0.start() }
        let steps = script.command { $0.close() }
        #expect(notices(steps) == [.closed(nil)])
        #expect(!finishes(steps))  // the create's answer is still awaited
        let delete = try script.answerLast(.success(.created(path: ours, stat: nil)))
        #expect(operations(delete) == [.delete(path: ours, version: -1)])
        #expect(finishes(try script.answerLast(.success(.done))))
    }
}
