import Testing
import ZooKeeperProtocol
import ZooKeeperRecipes
import ZooKeeperSession

@Suite struct LeaderQueryMachineTests {
    @Test func theLeaderIsTheDataOfTheLowestSequenceWhateverItsPrefix() throws {
        var script = Script(LeaderQueryMachine(path: "/e"))
        #expect(operations(script.command { $0.start() }) == [.getChildren(path: "/e", watch: false, includeStat: false)])
        let names = ["\(ourPrefix)latch-0000000007", "_c_x-latch-0000000003", "stray", "other-latch-0000000005"]
        let read = try script.answerLast(.success(.children(names, nil)))
        #expect(operations(read) == [.getData(path: "/e/_c_x-latch-0000000003", watch: false)])
        let done = try script.answerLast(.success(.data(Array("worker-3".utf8), stat())))
        #expect(notices(done) == [.leader("worker-3")])
        #expect(finishes(done))
    }

    @Test func theLeaderGoneBeforeTheReadMeansListingAgain() throws {
        var script = Script(LeaderQueryMachine(path: "/e"))
        script.command { $0.start() }
        try script.answerLast(.success(.children(["a-latch-0000000001", "b-latch-0000000002"], nil)))
        let again = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(again) == [.getChildren(path: "/e", watch: false, includeStat: false)])
        try script.answerLast(.success(.children(["b-latch-0000000002"], nil)))
        #expect(notices(try script.answerLast(.success(.data(Array("b".utf8), stat())))) == [.leader("b")])
    }

    @Test func nobodyContendsWithoutNodesOrWithoutTheElectionPath() throws {
        var empty = Script(LeaderQueryMachine(path: "/e"))
        empty.command { $0.start() }
        #expect(notices(try empty.answerLast(.success(.children(["not-sequential"], nil)))) == [.leader(nil)])
        var missing = Script(LeaderQueryMachine(path: "/e"))
        missing.command { $0.start() }
        #expect(notices(try missing.answerLast(.failure(ZooKeeperError(.noNode)))) == [.leader(nil)])
    }

    @Test func aLossAsksAgainAndTheSessionsEndFails() throws {
        var script = Script(LeaderQueryMachine(path: "/e"))
        script.command { $0.start() }
        #expect(operations(try script.answerLast(.failure(loss))) == [.getChildren(path: "/e", watch: false, includeStat: false)])
        let ended = script.feed(.session(.expired))
        #expect(notices(ended).map { notice -> ErrorCode? in if case let .failed(error) = notice { error.code } else { nil } } == [.sessionExpired])
        #expect(finishes(ended))
        #expect(script.feed(.session(.closed)).isEmpty)
    }
}

@Suite struct ProtectedCreateMachineTests {
    @Test func aLostCreateIsFoundAmongTheSessionsEphemeralsNotMadeTwice() throws {
        var script = Script(ProtectedCreateMachine(path: "/jobs/job-", data: [1], mode: .ephemeralSequential, protectedId: testId))
        let create = script.command { $0.start() }
        #expect(operations(create) == [.create(path: "/jobs/\(ourPrefix)job-", data: [1], acl: Ids.openACLUnsafe, mode: .ephemeralSequential)])
        let find = try script.answerLast(.failure(loss))
        #expect(operations(find) == [.getEphemerals(prefix: "/jobs/\(ourPrefix)job-")])
        let found = try script.answerLast(.success(.paths(["/jobs/\(ourPrefix)job-0000000004"])))
        #expect(notices(found) == [.created("/jobs/\(ourPrefix)job-0000000004")])
        #expect(finishes(found))
    }

    @Test func missingParentsAreMadeAsContainersAndOtherErrorsFail() throws {
        var script = Script(ProtectedCreateMachine(path: "/a/b/n", mode: .persistent, protectedId: testId))
        script.command { $0.start() }
        let parents = try script.answerLast(.failure(ZooKeeperError(.noNode)))
        #expect(operations(parents).count == 3)
        let made = try script.answerLast(.success(.created(path: "/a/b/\(ourPrefix)n", stat: nil)))
        #expect(notices(made) == [.created("/a/b/\(ourPrefix)n")])
        var refused = Script(ProtectedCreateMachine(path: "/n", mode: .persistent, protectedId: testId))
        refused.command { $0.start() }
        let failed = try refused.answerLast(.failure(ZooKeeperError(.noAuth)))
        #expect(notices(failed).map { notice -> ErrorCode? in if case let .failed(error) = notice { error.code } else { nil } } == [.noAuth])
    }

    /// The path asked for is checked, not the protected one made from it ("job-" alone would
    /// pass as "/_c_...-job-").
    @Test func aBadPathIsRefusedBeforeAnythingIsSent() {
        for (path, mode) in [("job-", CreateMode.persistent), ("", .persistent), ("/", .persistent), ("/a/", .persistent), ("/a//b", .ephemeral)] {
            var script = Script(ProtectedCreateMachine(path: path, mode: mode, protectedId: testId))
            let steps = script.command { $0.start() }
            #expect(operations(steps).isEmpty, "\(path)")
            #expect(notices(steps).map { notice -> ErrorCode? in if case let .failed(error) = notice { error.code } else { nil } } == [.badArguments], "\(path)")
        }
    }
}
